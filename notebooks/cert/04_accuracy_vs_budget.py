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
# # Accuracy against budget
#
# The paper's main experiment {cite}`koloskova2025certified` asks what a certificate costs in
# accuracy: for a compute budget of $e$ epochs over the retain set (noisy and noiseless steps
# counted together), what validation accuracy does each certified method reach, and how does that
# compare with retraining from scratch for the same budget?
#
# **This page reproduces**
# - Figure 1 (validation accuracy against budget at $\varepsilon = 1$, $\delta = 10^{-5}$) for
#   gradient clipping, model clipping, output perturbation and retrain, with the paper's MNIST
#   hyperparameter settings. QUICK: the embedded 5,000-image MNIST subset and the 784-5-10 network;
#   FULL (`PROFILE="full"`, `TASK="mnist"` or `"cifar10"`): the paper's datasets and networks;
# - the paper's per-budget selection of the best setting (chosen and reported on the same validation
#   set) and a selection on a held-out half;
# - gradient clipping both as the paper ran it ($\varepsilon_R = \varepsilon$, which at `EPSILON`
#   certifies only $\varepsilon \approx$ {glue:text}`cert4_coded_true_eps:.2f`, chapter 2) and with
#   a true $\varepsilon$ = `EPSILON` certificate.

# %%
import math

import numpy as np
import pandas as pd

from companion import config, models, paper_scale, report
from companion.experiments import cert_curves, cert_setup
from companion.plotting import cert as pc
from companion.theory import certified as acc
from companion.theory import privacy as priv

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""
TASK = "auto"
EPSILON = 1.0
DELTA = 1e-5
EPOCHS = 0
N_SEEDS = 3

# %%
ctx = config.resolve(
    PROFILE,
    SEED,
    DEVICE,
    DATA_ROOT,
    TASK=TASK,
    EPSILON=EPSILON,
    DELTA=DELTA,
    EPOCHS=EPOCHS,
    N_SEEDS=N_SEEDS,
)
print(report.banner(ctx))
SETTING = cert_setup.CertSetting.for_profile(ctx.profile, task=TASK)
TASK_NAME = SETTING.task
setup = cert_setup.setup(
    PROFILE,
    seed=SEED,
    data_root=DATA_ROOT or None,
    device=ctx.device,
    seeds=tuple(range(SEED, SEED + N_SEEDS)),
    task_name=TASK_NAME,
)
print(setup.task.describe())
report.glue("cert4_coded_true_eps", priv.rdp_to_dp(EPSILON, DELTA)[0])
report.glue("cert4_coded_reported_eps", priv.rdp_to_dp(EPSILON, DELTA, "as_coded")[0])
report.glue("cert4_pretrain_full", cert_setup.PRETRAIN["epochs"])
report.glue("cert4_pretrain_quick", cert_setup.QUICK_PRETRAIN_EPOCHS)

# %% [markdown]
# ## Protocol
#
# - **Split.** The paper draws validation (10 % of the training set), then a random forget set of 10
#   % of the rest. `load_task(..., forget="random:N")` draws validation first and then $N$ random
#   forget points; with $N$ = 10 % of the non-validation set this gives the paper's sizes.
# - **Originals.** One $A(D)$ per seed, trained with SGD and Optax's linear one-cycle schedule (peak
#   0.06, weight decay $5\cdot10^{-4}$; $0.05$ for the model given to output perturbation, as in the
#   paper), {glue:}`cert4_pretrain_full` epochs in FULL (MNIST) and {glue:}`cert4_pretrain_quick` in
#   QUICK; the seeds vary the initialisation, the batches and the unlearning noise.
# - **Unlearning.** Each setting runs once for the whole budget: the noisy phase (fresh noise every
#   step), then fine-tuning with SGD, Optax's linear one-cycle (peak 0.1) and L2 $5\cdot10^{-4}$.
#   Retrain starts from a fresh initialisation with the same fine-tuning optimizer, as upstream. The
#   accuracy "at budget $e$" is read after epoch $e$ of that run (as coded). All settings and seeds
#   of all methods train together as one vectorised batch (`torch.func.vmap`), each with its own
#   noise and batches. A setting is a candidate at budget $e$ only if its whole noisy phase has run
#   by then (before that it certifies less than its target).
# - **Settings.** The paper's MNIST grid: gradient clipping $(C_0, C_1, \gamma, \lambda) \in$
#   {(0.01, 10, 1e-4, 750), (0.01, 100, 1e-4, 10)}; model clipping $C_0 = 7$, $\sigma = 0.01$,
#   $C_2 = 0.001$ with three $(\gamma, \lambda)$ and $C_2 = 0.01$ with one; output perturbation
#   $C_0 = 0.01$.
#
# The certificates of the settings run here:

# %%
df = cert_curves.run_curves(setup, epochs=EPOCHS or None, epsilon=EPSILON, delta=DELTA)

# %% tags=["nbval-check-output"]
last = int(df.epoch.max())
certs = (
    df[df.epoch == last]
    .groupby(["method", "group"])[["T", "noisy_steps_run", "sigma", "epsilon", "epsilon_as_coded"]]
    .first()
    .rename(
        columns={
            "noisy_steps_run": "noisy steps run",
            "epsilon": f"certified eps at delta={DELTA:g}",
            "epsilon_as_coded": "eps the reference code reports",
        }
    )
)
if not df[df.epoch == last]["complete"].all():
    raise AssertionError("every setting must finish its noisy phase within the budget")
report.glue("cert4_certs", certs, display=False)
with pd.option_context("display.max_colwidth", 40, "display.width", 200):
    print(certs.round(4).to_string())

# %% [markdown]
# ```{glue:} cert4_certs
# ```
#
# Gradient clipping "as coded" uses the paper's noise ($\varepsilon_R = $ `EPSILON`): the code
# reports $\varepsilon \approx$ {glue:text}`cert4_coded_reported_eps:.4f`, the bound certifies the
# value in the "certified eps" column. Gradient clipping "theorem" is calibrated to a true
# `EPSILON`. Model clipping and output perturbation certify $(\varepsilon, \delta)$ directly: the
# column gives the smallest $\varepsilon$ their noise certifies at `DELTA` (model clipping: the
# recursion after the steps run, solved for $\varepsilon$; output perturbation: the exact Gaussian
# mechanism, which for the classic calibration is below the requested value). Every certificate is
# computed for the noisy steps the run actually took.
#
# ## The curves

# %%
paper = cert_curves.select(df, "paper")
heldout = cert_curves.select(df, "heldout")
fig = pc.budget_figure(
    {"paper's selection (same validation set)": paper, "held-out selection": heldout}
)
report.glue("cert4_fig_budget", fig, display=False)
last = int(df.epoch.max())
table = pd.concat(
    {
        "paper's selection": paper[paper.epoch == last].set_index("method")[["mean", "ci"]],
        "held-out selection": heldout[heldout.epoch == last].set_index("method")[["mean", "ci"]],
    },
    axis=1,
)
report.glue("cert4_table_last", table.round(3), display=False)
report.glue("cert4_last", last)
optimism = (table["paper's selection"]["mean"] - table["held-out selection"]["mean"]).drop(
    "retrain", errors="ignore"
)
report.glue("cert4_optimism_mean", float(optimism.mean()))
report.glue("cert4_optimism_max", float(optimism.abs().max()))
n_settings = df[df.method != "retrain"].groupby("method")["group"].nunique()
report.glue("cert4_n_settings_max", int(n_settings.max()))

# %% tags=["nbval-check-output"]
print(table.round(3).to_string())

# %% [markdown]
# ```{glue:figure} cert4_fig_budget
# :name: cert4-fig-budget
# Validation accuracy against the unlearning budget (mean $\pm$ 1.96 s.e. over seeds), the best
# setting per budget and method. Left: chosen and reported on the same validation set (the paper's
# protocol); right: chosen on one half of the validation set and reported on the other.
# ```
#
# At the largest budget ({glue:}`cert4_last` epochs):
#
# ```{glue:} cert4_table_last
# ```

# %%
gap = {
    m: float(paper[(paper.method == m) & (paper.epoch == last)]["mean"].iloc[0])
    - float(paper[(paper.method == "retrain") & (paper.epoch == last)]["mean"].iloc[0])
    for m in paper.method.unique()
    if m != "retrain"
}
for m, v in gap.items():
    report.glue(f"cert4_gap_{m.split(' ')[0]}{'_' + m.split('(')[1][:-1] if '(' in m else ''}", v)
wins = int(sum(v > 0 for v in gap.values()))
report.glue("cert4_wins", wins)
report.glue("cert4_n_cert", len(gap))
cost = float(
    paper[(paper.method == "gradient_clipping (as_coded)") & (paper.epoch == last)]["mean"].iloc[0]
    - paper[(paper.method == "gradient_clipping (theorem)") & (paper.epoch == last)]["mean"].iloc[0]
)
report.glue("cert4_true_eps_cost", cost)
first_gap = {
    m: float(paper[(paper.method == m) & (paper.epoch == 1)]["mean"].iloc[0])
    - float(paper[(paper.method == "retrain") & (paper.epoch == 1)]["mean"].iloc[0])
    for m in paper.method.unique()
    if m != "retrain" and ((paper.method == m) & (paper.epoch == 1)).any()
}
report.glue("cert4_wins_first", int(sum(v > 0 for v in first_gap.values())))
report.glue("cert4_n_first", len(first_gap))

# %% tags=["nbval-check-output"]
print(
    pd.DataFrame({"after 1 epoch": pd.Series(first_gap), f"after {last} epochs": pd.Series(gap)})
    .round(3)
    .to_string()
)

# %% [markdown]
# At equal compute, {glue:}`cert4_wins` of the {glue:}`cert4_n_cert` certified variants end above
# retrain (gradient clipping as the paper ran it:
# {glue:text}`cert4_gap_gradient_clipping_as_coded:+.3f`; with a true certificate:
# {glue:text}`cert4_gap_gradient_clipping_theorem:+.3f`; model clipping:
# {glue:text}`cert4_gap_model_clipping:+.3f`; output perturbation:
# {glue:text}`cert4_gap_output_perturbation:+.3f`); after one epoch {glue:}`cert4_wins_first` of
# {glue:}`cert4_n_first` are above it. Our reading of why a certified method can end ahead: all of
# them shrink the trained model into a tiny ball and add noise, but what is left can still be a
# better start than a fresh initialisation, so they behave like a warm-started retrain; these runs
# measure whether, and at which budget, that happens here. The accuracy of the paper's noise minus
# that of an honest `EPSILON` certificate (instead of $\approx$
# {glue:text}`cert4_coded_true_eps:.2f`) at the largest budget is
# {glue:text}`cert4_true_eps_cost:+.3f` here.
#
# ## Ours against the paper
#
# Figure 1 prints no numbers, only curves, so the comparison is of the settings (the accountant's
# $T$ and $\sigma$ for the MNIST configurations this page runs) and of the qualitative claims.

# %% tags=["nbval-check-output"]
gc = df[df.method == "gradient_clipping (as_coded)"].groupby("group")[["T", "sigma"]].first()
rows = []
for key, c1 in (("fig1/gc_mnist_c1_10", 10.0), ("fig1/gc_mnist_c1_100", 100.0)):
    g = gc[[f'"c1": {c1}' in k for k in gc.index]].iloc[0]
    rows += [
        (f"GC MNIST C1={c1:g}: T", float(g["T"]), f"cert:{key}/T"),
        (f"GC MNIST C1={c1:g}: sigma", float(g["sigma"]), f"cert:{key}/sigma"),
    ]
mct = df[df.method == "model_clipping"].groupby("group")["T"].first()
rows += [
    (
        "MC MNIST C2=0.01: T",
        float(mct[['"c2": 0.01' in k for k in mct.index]].iloc[0]),
        "cert:fig1/mc_mnist_c2_0.01/T",
    ),
    (
        "OP C0=0.01: sigma",
        float(df[df.method == "output_perturbation"]["sigma"].iloc[0]),
        "cert:fig1/op/sigma_c0_0.01",
    ),
]
comparison = report.compare(
    rows,
    fmt=lambda v: f"{v:.4g}",
    quick=False,
    setting=report.Setting(variant="as_coded", scale="exact"),
)
report.glue("cert4_compare", comparison, display=False)
comparison

# %%
spe = -(-len(setup.task.retain) // 128)
# MNIST: validation 10 %, then forget 10 % of the rest (the authors' split)
paper_retain = round(60_000 * 0.9 * 0.9)
report.glue("cert4_n_retain", len(setup.task.retain))
report.glue("cert4_spe", spe)
report.glue("cert4_paper_retain", paper_retain)
report.glue("cert4_paper_spe", -(-paper_retain // 128))
report.glue("cert4_eps_r1_true", priv.rdp_to_dp(1.0, 1e-5)[0])
report.glue(
    "cert4_d_cifar",
    sum(p.numel() for p in models.build("tiny_cnn", (3, 32, 32), 10, SEED).parameters()),
)
for m, key in (
    ("gradient_clipping", "gc"),
    ("model_clipping", "mc"),
    ("output_perturbation", "op"),
):
    report.glue(f"cert4_n_{key}_cifar", len(cert_curves.GRIDS["cifar10"][m]))
report.glue("cert4_cifar_epochs", cert_setup.FULL_SETTINGS["cifar10"][1])
max_T = int(df["T"].max())
report.glue("cert4_max_T", max_T)
report.glue("cert4_noisy_epochs", max(1, math.ceil(max_T / spe)))
mc_T = (
    {
        e: max(
            acc.mc_steps(e, DELTA, acc.mc_radius(hp["c2"], hp["sigma"]))
            for hp in cert_curves.GRIDS[setup.grid]["model_clipping"]
        )
        for e in (1.0, 10.0)
    }
    if "model_clipping" in cert_curves.GRIDS[setup.grid]
    else {1.0: 0, 10.0: 0}
)
report.glue("cert4_ex1_mc_T1", mc_T[1.0])
report.glue("cert4_ex1_mc_T10", mc_T[10.0])
gc_hp = cert_curves.GRIDS["mnist"]["gradient_clipping"][1]
gc_sig = {
    e: acc.gc_sigma(
        priv.required_eps_r(e, DELTA),
        acc.gc_steps(gc_hp["c0"], gc_hp["c1"], gc_hp["gamma"], gc_hp["lam"]),
        gc_hp["gamma"],
        gc_hp["lam"],
        gc_hp["c0"],
        gc_hp["c1"],
    )
    for e in (1.0, 10.0)
}
report.glue("cert4_ex1_gc_ratio", gc_sig[1.0] / gc_sig[10.0])
if not mc_T[10.0] <= mc_T[1.0]:
    raise AssertionError("a larger eps cannot need more model-clipping steps")

# %% [markdown]
# ```{glue:} cert4_compare
# ```
#
# ## At the paper's scale
#
# Figure 1 on full MNIST (the 784-5-10 network, 10 epochs, the paper's grids). The paper prints
# curves, so the quoted numbers are the settings its certificates rest on, here as the FULL run
# computed them. The table is read from the chapter's committed FULL record
# (`results/full/cert/04_accuracy_vs_budget.json`): each row is judged again against the number
# quoted now, like with like, beside this run's value. {glue:}`cert4_paper_scale_judged` rows are
# judged, {glue:}`cert4_paper_scale_within` within tolerance.
#
# {glue:text}`cert4_paper_scale_line`.

# %%
scale = paper_scale.paper_scale_section("cert/04_accuracy_vs_budget", "cert4", quick=comparison)

# %% tags=["nbval-check-output"]
scale

# %% [markdown]
# ```{glue:} cert4_paper_scale
# ```
#
# Without a record the table says so. The record is written by `make reproduce PART=cert DEVICE=cpu`
# (MNIST's chapters; CIFAR-10's need its data, see the status page).
#
# ## Summary
#
# - The settings (and therefore the certificates) are exactly the paper's; the accuracies here come
#   from {glue:}`cert4_n_retain` retain images and {glue:}`cert4_spe` steps per epoch (the paper's
#   MNIST: {glue:}`cert4_paper_retain` images, {glue:}`cert4_paper_spe` steps), so in QUICK the
#   budget axis is not comparable in steps, and QUICK trains without augmentation. The paper's MNIST
#   panel shows the certified methods above retrain at small budgets; whether that holds here is
#   read from the figure and the table above, and in FULL on the real MNIST.
# - **Discrepancies, explained.** (1) The paper labels its gradient-clipping curves $\varepsilon =
#   1$; with the bound's dependence on $\alpha$ its $\varepsilon_R = 1$ certifies about
#   {glue:text}`cert4_eps_r1_true:.2f` (chapter 2). The "theorem" curve is the honest version. (2)
#   The paper selects the best setting per budget on the same validation set it reports. With at
#   most {glue:}`cert4_n_settings_max` settings per method there is little to choose from; at the
#   largest budget the paper's selection minus the held-out one is
#   {glue:text}`cert4_optimism_mean:+.3f` on average over the certified methods (largest difference
#   in size {glue:text}`cert4_optimism_max:.3f`), a difference that also contains the noise of
#   reporting on half the validation set, so these runs cannot separate the optimism of the paper's
#   protocol from that noise. (3) We validate without augmentation (upstream validates augmented
#   images). (4) The reference code reuses one noise draw at every step; we draw fresh noise.
# - FULL: `PROFILE="full"` with `TASK="mnist"` (784-5-10 network, 10 epochs) or `TASK="cifar10"`
#   (the {glue:}`cert4_d_cifar`-parameter CNN and the paper's {glue:}`cert4_n_gc_cifar` +
#   {glue:}`cert4_n_mc_cifar` + {glue:}`cert4_n_op_cifar` CIFAR settings,
#   {glue:}`cert4_cifar_epochs` epochs; set `EPOCHS`), with augmentation as in the paper.
#   `TASK="cifar10_features"` or `"cifar100_features"` runs Figure 3's gradient-clipping grid and
#   retrain on 512-d ImageNet ResNet-18 features with the three-layer network (the torchvision
#   weights must be in torch's hub cache; pass `-p EPOCHS 50`, and note the grid has no model
#   clipping or output perturbation, as in the paper; DP-SGD is the `dpsgd` method, chapter 5).
#
# ## Exercises
#
# 1. Re-run with `EPSILON = 10`. Which method gains most, and why does model clipping hardly change?
# 2. Re-run with `N_SEEDS = 8`. Do the two selection protocols move closer?
# 3. Where in the curves do the noisy steps show? (Hint: $T \le$ {glue:}`cert4_max_T` steps out of
#    {glue:}`cert4_spe` per epoch.)
#
# ```{admonition} Solutions
# :class: dropdown
# 1. Gradient clipping (theorem) and output perturbation scale their noise with $1/\varepsilon$
#    (roughly: gradient clipping's $\sigma$ falls by {glue:text}`cert4_ex1_gc_ratio:.1f`$\times$
#    from $\varepsilon = 1$ to 10 in its second MNIST setting); model clipping's $\sigma$ is fixed
#    by the setting and only its number of noisy steps falls, from at most {glue:}`cert4_ex1_mc_T1`
#    to at most {glue:}`cert4_ex1_mc_T10`, a small part of the budget.
# 2. With more seeds the mean of the chosen setting is estimated better, and the optimism of
#    choosing and reporting on the same data should shrink; the re-run measures it.
# 3. Only within the first {glue:}`cert4_noisy_epochs` epoch(s) of the budget: by then every run is
#    in its noiseless phase, so the curves differ through where the noisy phase left the model, not
#    through the noise itself.
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
