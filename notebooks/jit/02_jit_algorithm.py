# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["remove-cell"]
# Colab or Binder: install the companion before anything else (a no-op wherever it is importable).
# The published copy of this notebook names the repository and commit the book was built from.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("companion") is None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "companion @ @COMPANION_SOURCE@"],
        check=True,
    )
    importlib.invalidate_caches()

# %% [markdown]
# # The JiT algorithm
#
# JiT ("Just in Time") unlearning {cite}`foster2025jit` smooths the model around each forget sample:
# it penalises how much the output moves when the input is jittered with Gaussian noise, and takes
# one SGD step per forget batch, once. This chapter states the update, shows why it is a local
# Lipschitz penalty, rebuilds it from scratch next to the package's version, and runs the two
# behaviours the companion offers: the algorithm **as the paper writes it** and **as the authors'
# code runs it**.
#
# **This page reproduces**
# - the JiT loss and Algorithm 1 (paper, Sec. 4 and App. 10.1);
# - the local-Lipschitz reading of the loss (paper, Sec. 4);
# - the difference between the paper's algorithm and the reference implementation
#   (`jwf40/Information-Theoretic-Unlearning`): accumulated gradients, train-mode dropout, a
#   batch-summed loss and a batch-wide clamp, and what each does on the same task;
# - the sensitivity of JiT to $\sigma$, $\eta$ and $N$;
# - the full-class result on CIFAR-100 (FULL profile), compared with the paper and with what users
#   of the reference code report.

# %%
import copy

import matplotlib.pyplot as plt
import pandas as pd
import torch

from companion import config, data, methods, models, report, training
from companion.reported import get
from companion.plotting import house_style
from companion.methods.jit import jit_unlearn, lipschitz_ratios
from companion.experiments import jit_chapters
from companion.methods.jit_config import JitConfig, settings_for

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""
TASK = "auto"
ARCH = "auto"
FORGET_CLASS = 3

# %%
ctx = config.resolve(
    PROFILE, SEED, DEVICE, DATA_ROOT, TASK=TASK, ARCH=ARCH, FORGET_CLASS=FORGET_CLASS
)
print(report.banner(ctx))
SETTING = jit_chapters.AlgorithmSetting.for_profile(ctx.profile, task=TASK, arch=ARCH)
TASK_NAME, ARCH_NAME = SETTING.task, SETTING.arch
task = data.load_task(
    TASK_NAME, forget=f"class:{FORGET_CLASS}", seed=ctx.seed, data_root=ctx.data_root
)
# ViT: 224 x 224 in the data pipeline, as the code
task = task.with_input_size(models.input_size(ARCH_NAME))
original = models.train_or_load(
    task, ARCH_NAME, ctx.profile, ctx.seed, device=ctx.device, show_progress=False
)
SETTINGS = settings_for("class", ARCH_NAME, ctx.profile)  # FULL: the code's setting for this family
cfg = JitConfig.resolve(ctx.profile, **SETTINGS)
reference_cfg = JitConfig.resolve(ctx.profile, variant="reference", **SETTINGS)
print(task.describe())
print(
    f"JiT settings ({ctx.profile}): sigma={cfg.sigma}, N={cfg.n_samples}, batch={cfg.batch_size}, "
    f"eta(paper)={cfg.effective_lr():.4g}, "
    f"eta(reference)={reference_cfg.effective_lr():.4g}"
)

# %% [markdown]
# ## The loss and the algorithm
#
# ```{prf:definition} JiT loss
# :label: jit-def-loss
# For a forget sample $x$, a network $f$ and $\sigma > 0$,
#
# $$\ell(x) = \E_{\xi \sim \mathcal N(0, \sigma^2 I)} \left[\frac{\lVert f(x) - f(x +
# \xi)\rVert_2}{\lVert \xi \rVert_2}\right], \qquad \hat\ell(x) = \frac1N \sum_{j=1}^N \frac{\lVert
# f(x) - f(x + \xi_j)\rVert_2}{\lVert \xi_j\rVert_2}.$$
# ```
#
# ```{prf:algorithm} JiT (as written)
# :label: jit-alg-jit
# **Inputs** trained $f_\theta$, forget set $D_f$, rate $\eta$, scale $\sigma$, draws $N$
#
# 1. For each forget batch $\{x_i\}_{i=1}^B$ of $D_f$, in order, once:
#    1. draw $\xi_{ij} \sim \mathcal N(0, \sigma^2 I)$ for $j = 1..N$;
#    2. $L = \frac1B \sum_i \hat\ell(x_i)$ with $f(x_i + \xi_{ij})$ treated as fixed targets;
#    3. $\theta \leftarrow \theta - \eta \nabla_\theta L$ (plain SGD, fresh gradient).
# 2. Return $f_\theta$.
# ```
#
# The cost is $N + 1$ forward passes per forget sample and one backward pass per batch. In the
# package all $N$ perturbations of a batch go through the network as one stacked batch (in chunks
# chosen per device, see `benchmarks/bench_jit.py`), and `output="logits"` as in the code.
#
# The reference implementation differs in four places ({ref}`jit-variants`). Each is a switch of
# `JitConfig`, and `variant="reference"` turns on all four:
#
# ```{list-table}
# :header-rows: 1
#
# * - aspect
#   - paper (`variant="paper"`, default)
#   - reference code (`variant="reference"`)
# * - gradients
#   - zeroed before every step
#   - zeroed once: step $k$ applies $\sum_{b\le k}\nabla L_b$ (`accumulate_grads`)
# * - network mode
#   - eval: $f$ is deterministic
#   - train: dropout draws a new mask for $f(x)$ and for every $f(x+\xi_j)$ (`eval_mode`)
# * - batch reduction
#   - mean of $\hat\ell(x_i)$
#   - sum (`reduction`)
# * - perturbation
#   - $x + \xi$
#   - clamped to the batch tensor's min/max; the denominator is the clamped difference (`clamp`)
# ```
#
# Because the summed, accumulated loss takes much larger steps, the rate tuned for the code does not
# carry over: the paper variant has its own $\eta$ (`paper_lr`; by default $\eta_{\text{code}}\cdot
# B$).

# %% [markdown]
# ## Why it is a local Lipschitz penalty
#
# The local Lipschitz constant of $f$ at $x$ is $L(x) = \limsup_{z\to x}\lVert f(z) - f(x)\rVert /
# \lVert z - x\rVert = \lVert J_f(x)\rVert_2$ for differentiable $f$. Every ratio inside $\hat\ell$
# is a finite-difference estimate of a *directional* slope, so:
#
# - each ratio is at most the Lipschitz constant of $f$ on the segment $[x, x+\xi]$;
# - as $\sigma \to 0$, $\ell(x) \to \E_u \lVert J_f(x)\,u\rVert$ with $u$ uniform on the unit
#   sphere, and for the squared variant $\E_u \lVert J u\rVert^2 = \lVert J\rVert_F^2 / d$: JiT then
#   penalises the Jacobian's Frobenius norm, the classic smoothness regulariser, at the forget
#   samples only.
#
# **Check.** For random linear maps $f(x) = Wx$ every ratio lies in $[s_{\min}(W), s_{\max}(W)]$
# and the mean squared ratio tends to $\lVert W\rVert_F^2 / d$.

# %%
gen = torch.Generator().manual_seed(ctx.seed)
for _trial in range(5):
    d, c = 20, 5
    lin = torch.nn.Linear(d, c, bias=False).double()
    torch.nn.init.normal_(lin.weight, generator=gen)
    x = torch.randn(1, d, generator=gen, dtype=torch.float64)
    r = lipschitz_ratios(lin, x, 0.3, 20_000, gen, chunk=20_000)
    s = torch.linalg.svdvals(lin.weight)
    if r.max() > s.max() + 1e-9 or r.min() < 0:
        raise AssertionError("a ratio exceeds the Lipschitz constant")
    if abs((r**2).mean() / (lin.weight.norm() ** 2 / d) - 1) > 0.03:
        raise AssertionError("mean squared ratio differs from ||W||_F^2 / d")
print("ratios bounded by ||W||_2 and mean squared ratio = ||W||_F^2/d on 5 random linear maps")

# %% [markdown]
# ## A from-scratch update next to the package's
#
# One JiT step written out with nothing but autograd: $f(x)$ once, the $N$ perturbed outputs one by
# one without gradient, the batch-mean loss, and $\theta - \eta\nabla_\theta L$. It must give
# exactly the package's parameters (which batch the perturbations and draw the noise from the same
# seeded generator).

# %%
xb, _ = next(task.forget.batches(16, device=ctx.device))
ours, ref = copy.deepcopy(original).eval(), copy.deepcopy(original).eval()
g = torch.Generator(device=ctx.device).manual_seed(ctx.seed)
fx = ref(xb)
ratios = []
for _ in range(cfg.n_samples):
    xp = xb + cfg.sigma * torch.randn(xb.shape, generator=g, device=xb.device)
    with torch.no_grad():
        target = ref(xp)
    ratios.append((fx - target).norm(dim=1) / (xp - xb).flatten(1).norm(dim=1))
grads = torch.autograd.grad(torch.stack(ratios).mean(), list(ref.parameters()))
with torch.no_grad():
    for p, gr in zip(ref.parameters(), grads):
        p -= cfg.effective_lr() * gr
jit_unlearn(ours, [xb], cfg, seed=ctx.seed, device=ctx.device)
gap = max((a - b).abs().max().item() for a, b in zip(ours.parameters(), ref.parameters()))
moved = max((a - b).abs().max().item() for a, b in zip(ours.parameters(), original.parameters()))
# float32; batched and one-by-one convolutions round differently on GPUs
if gap > 1e-6 + 1e-4 * moved:
    raise AssertionError(f"package and from-scratch JiT differ by {gap} (step size {moved})")
print(
    f"largest parameter difference, package vs from scratch: {gap:.2e} (largest parameter change "
    f"{moved:.2e})"
)

# %% [markdown]
# ## The two variants on the same task
#
# We run the paper's algorithm, the reference code's, and the paper's with one of the code's
# switches at a time, each at the rate its variant uses, and score the result on the test samples of
# the retained classes ($D_r$) and of the forgotten class ($D_f$). A retrained model never sees the
# forgotten class, so its $D_f$ is 0 by construction; the original's is the starting point.

# %%
runs = {
    "paper": {},
    "paper + accumulated gradients": {"accumulate_grads": True},
    "paper + train-mode dropout": {"eval_mode": False},
    "reference (as coded)": {"variant": "reference"},
}
results = {
    name: methods.unlearn(
        "jit", original, task, ctx.profile, ctx.seed, ctx.device, **SETTINGS, **kw
    )
    for name, kw in runs.items()
}


def score(model, seconds=0.0, log=None) -> dict:
    flat = lambda m: torch.cat([p.detach().flatten() for p in m.parameters()])  # noqa: E731
    return {
        "Dr": training.accuracy(model, task.retain_test, ctx.device),
        "Df": training.accuracy(model, task.forget_test, ctx.device),
        "||dtheta||": (flat(model) - flat(original)).norm().item(),
        "eta": (log or {}).get("lr", 0.0),
        "seconds": seconds,
    }


table = pd.DataFrame(
    {
        "original": score(original),
        **{k: score(r.model, r.seconds, r.log) for k, r in results.items()},
    }
).T

# %% tags=["nbval-check-output"]
table.drop(columns="seconds").round(4)

# %%
for key, name in (("paper", "paper"), ("reference", "reference (as coded)")):
    for col in ("Dr", "Df"):
        report.glue(f"jit02_{key}_{col}", float(table.loc[name, col]))
report.glue("jit02_orig_Dr", float(table.loc["original", "Dr"]))
report.glue("jit02_orig_Df", float(table.loc["original", "Df"]))
report.glue("jit02_acc_Df", float(table.loc["paper + accumulated gradients", "Df"]))
report.glue("jit02_acc_Dr", float(table.loc["paper + accumulated gradients", "Dr"]))
report.glue("jit02_drop_Dr", float(table.loc["paper + train-mode dropout", "Dr"]))
report.glue("jit02_drop_Df", float(table.loc["paper + train-mode dropout", "Df"]))
steps = pd.DataFrame({k: r.log["step_norms"] for k, r in results.items()})
steps.index.name = "step"
growth = {k: steps[k].iloc[-1] / steps[k].iloc[0] for k in steps}
report.glue("jit02_growth_paper", growth["paper"])
report.glue("jit02_growth_acc", growth["paper + accumulated gradients"])
assert growth["paper + accumulated gradients"] > growth["paper"], (
    "accumulated steps should grow faster than fresh ones"
)
assert table.loc["paper + accumulated gradients", "Dr"] < table.loc["paper", "Dr"], (
    "accumulation should cost retained accuracy"
)

# %% tags=["nbval-check-output"]
steps.round(4)

# %% [markdown]
# The original scores $D_r$ = {glue:text}`jit02_orig_Dr:.3f` and $D_f$ =
# {glue:text}`jit02_orig_Df:.3f`. The paper's algorithm ends at $D_r$ =
# {glue:text}`jit02_paper_Dr:.3f`, $D_f$ = {glue:text}`jit02_paper_Df:.3f`; the reference code at
# $D_r$ = {glue:text}`jit02_reference_Dr:.3f`, $D_f$ = {glue:text}`jit02_reference_Df:.3f`.
#
# **What the accumulated gradients do.** The step table lists the length of every SGD step. With
# fresh gradients the steps grow only as the loss's gradient grows along the way; with accumulation
# step $k$ applies the sum of the first $k$ batch gradients, so the steps grow roughly linearly and
# the total displacement over $K$ batches is about $(K+1)/2$ times larger (2.5x for CIFAR-100's 4
# batches, 10.5x for CIFAR-20's 20; {ref}`jit-accumulated-grads`). Here the last step is
# {glue:text}`jit02_growth_acc:.1f` times the first with accumulation and
# {glue:text}`jit02_growth_paper:.1f` times without. Switching on accumulation alone, at the paper
# variant's rate, takes $D_f$ to {glue:text}`jit02_acc_Df:.3f` but also $D_r$ to
# {glue:text}`jit02_acc_Dr:.3f`, below the paper variant's: the retained classes pay for the longer
# steps, the kind of failure issue #1 reports for ViT.
#
# **What train-mode dropout does.** In train mode $f(x)$ and each $f(x + \xi_j)$ see different
# dropout masks, so the numerator no longer vanishes as $\xi \to 0$: the "Lipschitz ratio" becomes
# mask noise divided by $\lVert\xi\rVert$. The cell below evaluates the loss on one forget batch at
# shrinking $\sigma$: in eval mode it settles at the Jacobian term; in train mode it grows like
# $1/\sigma$ (both asserted). Dropout alone leaves $D_f$ at {glue:text}`jit02_drop_Df:.3f` ($D_r$
# {glue:text}`jit02_drop_Dr:.3f`): the mask noise dominates the gradient, pointing in directions
# that have little to do with the forget samples, and the useful part of each step shrinks. The
# reference code needs its accumulation (and its summed loss) to forget at all.

# %%
xb, _ = next(task.forget.batches(cfg.batch_size, device=ctx.device))
rows = {}
for sigma in (1.0, 0.1, 0.01, 0.001):
    row = {}
    for mode in ("eval", "train"):
        net = copy.deepcopy(original).train(mode == "train")
        g = torch.Generator(device=ctx.device).manual_seed(ctx.seed)
        with torch.no_grad():
            row[f"loss ({mode} mode)"] = lipschitz_ratios(net, xb, sigma, 5, g).mean().item()
    rows[sigma] = row
small = pd.DataFrame(rows).T.rename_axis("sigma")
ev, tr = small["loss (eval mode)"], small["loss (train mode)"]
assert abs(ev[0.001] / ev[0.01] - 1) < 0.1, "eval-mode loss should settle as sigma -> 0"
assert 5 < tr[0.001] / tr[0.01] < 20, "train-mode loss should grow like 1/sigma"

# %% tags=["nbval-check-output"]
small.round(3)

# %% [markdown]
# ## Sensitivity to $\sigma$, $\eta$ and $N$
#
# The paper variant around its settings: $\sigma$ halved and doubled, $\eta$ at 0.8x and 1.2x, and
# $N = 5$ draws instead of the default (25 in FULL as in the paper; 10 in QUICK, see
# `JitConfig.QUICK`).

# %%
sweep = {
    "default": {},
    "sigma x 0.5": {"sigma": cfg.sigma / 2},
    "sigma x 2": {"sigma": cfg.sigma * 2},
    "eta x 0.8": {"lr": 0.8 * cfg.effective_lr()},
    "eta x 1.2": {"lr": 1.2 * cfg.effective_lr()},
    "N = 5": {"n_samples": 5},
}
sens = {}
for name, kw in sweep.items():
    r = (
        results["paper"]
        if not kw
        else methods.unlearn(
            "jit", original, task, ctx.profile, ctx.seed, ctx.device, **{**SETTINGS, **kw}
        )
    )
    sens[name] = score(r.model, r.seconds, r.log)
sens = pd.DataFrame(sens).T
report.glue("jit02_sens_eta_lo_Df", float(sens.loc["eta x 0.8", "Df"]))
report.glue("jit02_sens_eta_hi_Df", float(sens.loc["eta x 1.2", "Df"]))
report.glue("jit02_sens_sig_lo_Dr", float(sens.loc["sigma x 0.5", "Dr"]))
report.glue("jit02_sens_sig_hi_Df", float(sens.loc["sigma x 2", "Df"]))
report.glue("jit02_sens_n5_Df", float(sens.loc["N = 5", "Df"]))
report.glue("jit02_sens_n_Df", float(sens.loc["default", "Df"]))
d0 = sens.loc["default"]
moves = {k: abs(sens.loc[k, "Df"] - d0.Df) for k in sens.index if k != "default"}
report.glue("jit02_sens_n_move", moves["N = 5"])
report.glue("jit02_sens_max_move", max(moves.values()))
lo, hi = sens.loc["sigma x 0.5"], sens.loc["sigma x 2"]
assert lo.Df <= d0.Df and lo.Dr <= d0.Dr, "a smaller sigma should forget more and damage more"
assert hi.Df >= d0.Df, "a larger sigma should forget less"
assert moves["N = 5"] == min(moves.values()), f"N should be the knob that moves D_f least: {moves}"

# %% tags=["nbval-check-output"]
sens[["Dr", "Df", "eta"]].round(4)

# %%
with house_style():
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.0), sharey=True)
    for ax, (knob, names, scale) in zip(
        axes,
        (
            ("sigma", ["sigma x 0.5", "default", "sigma x 2"], [0.5, 1, 2]),
            ("eta", ["eta x 0.8", "default", "eta x 1.2"], [0.8, 1, 1.2]),
        ),
    ):
        for col, marker in (("Dr", "o"), ("Df", "s")):
            ax.plot(scale, sens.loc[names, col], marker=marker, label=f"${col[0]}_{col[1]}$")
        ax.set_xlabel(f"{knob} / default")
    axes[0].set_ylabel("accuracy")
    axes[1].legend()
    fig.tight_layout()
report.glue("jit02_sensitivity", fig, display=False)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} jit02_sensitivity
# :name: jit02-fig-sensitivity
# $D_r$ and $D_f$ after the paper variant of JiT as $\sigma$ (left) and $\eta$ (right) move around
# the profile's setting.
# ```
#
# Moving $\eta$ by 20 % either way takes $D_f$ from {glue:text}`jit02_sens_eta_lo_Df:.3f` to
# {glue:text}`jit02_sens_eta_hi_Df:.3f`. A smaller $\sigma$ forgets more and damages more ($D_r$ =
# {glue:text}`jit02_sens_sig_lo_Dr:.3f` at half the default): the ratio divides by
# $\lVert\xi\rVert$, so small perturbations make large gradients at a fixed rate. A larger $\sigma$
# forgets less ($D_f$ = {glue:text}`jit02_sens_sig_hi_Df:.3f`). The number of draws matters least:
# $D_f$ is {glue:text}`jit02_sens_n_Df:.3f` with the default and {glue:text}`jit02_sens_n5_Df:.3f`
# with 5 (a move of {glue:text}`jit02_sens_n_move:.3f`, against up to
# {glue:text}`jit02_sens_max_move:.3f` for the other knobs), since each step also averages over the
# batch. $\sigma$ and $\eta$ are the knobs to tune, per variant.

# %% [markdown]
# ## Ours versus reported
#
# The paper reports $D_r$ = {glue:text}`jit02_rep_paper_Dr:.1%` for JiT on VGG / CIFAR-100 / rocket
# (quoted in the reference repository's issue #3), close to the original model's level; users who
# ran the reference code with the authors' weights report {glue:text}`jit02_rep_issue3_Dr:.1%` on
# the same task. In the QUICK profile the rows below are
# our MNIST analogue and are not comparable in level; in the FULL profile (`-p PROFILE full -p
# FORGET_CLASS 69`, CIFAR-100 rocket, VGG11 trained with the code's recipe, JiT with the code's
# setting for VGG) they are the real comparison. The paper's tables come from its code, so its
# number is judged against our reference-code run; the paper-variant row is shown beside it as not
# comparable. `-p ARCH vit_b16` runs the ViT rows instead
# (torchvision's ImageNet ViT-B/16 in place of the HF checkpoint the paper uses; see
# `companion.models.nets.ViTB16`).

# %%
report.glue("jit02_rep_paper_Dr", get("jit:cifar100_full_class_rocket/JiT/Dr").value)
report.glue("jit02_rep_issue3_Dr", get("jit:issue3/rocket/reference/retain_test_acc").value)
report.compare(
    [
        (
            "Dr after JiT, paper variant",
            table.loc["paper", "Dr"],
            "jit:cifar100_full_class_rocket/JiT/Dr",
            {"variant": "paper"},
        ),
        (
            "Dr after JiT, reference code (the paper's number)",
            table.loc["reference (as coded)", "Dr"],
            "jit:cifar100_full_class_rocket/JiT/Dr",
            {"variant": "as_coded"},
        ),
        (
            "Dr after JiT, reference code",
            table.loc["reference (as coded)", "Dr"],
            "jit:issue3/rocket/reference/retain_test_acc",
            {"variant": "as_coded"},
        ),
        (
            "Dr before unlearning",
            table.loc["original", "Dr"],
            "jit:issue1/vgg_cifar100/original/retain_test_acc",
        ),
    ],
    quick=ctx.quick,
    setting=report.Setting.of(task, ARCH_NAME, profile=ctx.profile),
)

# %% [markdown]
# ## Summary
#
# - The package's JiT step equals a from-scratch implementation to float precision, and its loss
#   behaves as a local Lipschitz penalty (bounded by the operator norm, tending to the Jacobian
#   Frobenius norm for the squared variant).
# - The two behaviours differ in four switches. The accumulated gradients make later steps longer
#   and the train-mode dropout turns the loss into mask noise over $\lVert\xi\rVert$; together with
#   the batch sum they explain why the code's $\eta$ is meaningless for the paper's loss and why
#   users of the code (issue #1: a collapse with ViT; issue #3: {glue:text}`jit02_rep_issue3_Dr:.0%`
#   instead of {glue:text}`jit02_rep_paper_Dr:.0%`) could not reproduce the tables.
# - In QUICK each variant's $\eta$ was tuned on the validation split (see `JitConfig.QUICK`); the
#   sensitivity table shows how narrow the working range is. Our QUICK numbers are an MNIST
#   analogue: the level of $D_r$ cannot be compared with CIFAR-100's. On MNIST, JiT trades retained
#   accuracy for forgetting more visibly than the paper reports on CIFAR-100, for both variants.
#
# ## Exercises
#
# 1. Re-run with `-p FORGET_CLASS 8`. Is the best $\eta$ the same?
# 2. Show that with `reduction="sum"`, `accumulate_grads=False` and $\eta/B$, a single-batch run
#    equals the paper variant at $\eta$. Why does this identity fail for more than one batch once
#    accumulation is on?
# 3. The gradient flows only through $f(x)$ (the perturbed outputs are fixed targets). Set
#    `grad_through_perturbed=True` and compare. Which version reduces the local Lipschitz constant,
#    and which only moves $f(x)$?
#
# ```{admonition} Solutions
# :class: dropdown
# 1. Usually not: the rate at which the forgotten class collapses depends on how far its samples sit
#    from the other classes; JiT's $\eta$ has to be re-tuned per request (on validation data, which
#    a zero-shot unlearner does not have: a practical weakness of the method).
# 2. With one batch, sum $= B \times$ mean, so $\nabla L_{\text{sum}} = B\,\nabla L_{\text{mean}}$
#    and $(\eta/B)\cdot B = \eta$. With accumulation, step $k$ applies $\sum_{b \le k} \nabla L_b$:
#    the displacement is no longer the sum of per-batch steps, and no constant rescaling of $\eta$
#    can make it so, because the weights $(K - b + 1)$ differ per batch.
# 3. With targets fixed, the step only pulls $f(x)$ towards its neighbours' outputs (target
#    matching); the function around $x$ is not flattened directly. With gradients through both terms
#    the step lowers $\lVert f(x) - f(x+\xi)\rVert$ from both ends, i.e. the local slope itself.
# ```
#
# ```{bibliography}
# :filter: docname in docnames
# ```
