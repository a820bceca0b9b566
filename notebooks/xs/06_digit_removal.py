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
# # Removing a digit
#
# The paper's main data-point experiment {cite}`xu2025machine`: an MLP trained on MNIST
# {cite}`lecun1998gradient` must forget 75 % of its training 3s while keeping everything else. The
# algorithm adds $\gamma\,\hat I(\hat Y; Z)$ (chapter 4) to the cross-entropy on the retain set and
# runs a few epochs of Adam. This chapter reruns the protocol exactly as coded, compares it with
# retraining and fine-tuning, shows the over-unlearning that a fixed epoch count produces, and adds
# the stopping rules that our analysis makes part of the method ({ref}`xs-stopping-rule`).
#
# **This page reproduces**
# - the accuracy table on $D_r$, $D_u$ and the test set for the original model, retraining,
#   fine-tuning and MI unlearning with $\gamma = 4$ for 5 epochs (authors' notebook
#   `Data_Unlearning_MNIST_1.ipynb`);
# - the per-epoch curves of $\hat I$ and of the accuracies for the grid $(\gamma, \text{epochs}) \in
#   \{(1.5, 20), (3.5, 5), (3.5, 20), (5, 2)\}$ over several trials (README figures);
# - the README's claims: MI and forget accuracy move together; $\gamma$ sets the speed; retraining
#   "often coincides" with the regularised model where test accuracy starts to drop;
# - additions that the paper does not have: a held-out retain test split ({ref}`xs-retain-test`),
#   the stopping rules, and an entropy membership-inference attack (the authors list MIAs as "help
#   wanted").
#
# ```{admonition} Scale of this page
# :class: note
# In the QUICK profile the data are the embedded MNIST subset ({glue:}`xs6_n_train` training images,
# {glue:}`xs6_n_test` test images) and the models follow the QUICK recipe (Adam $10^{-3}$,
# {glue:}`xs6_recipe_epochs` epochs instead of the paper's {glue:text}`xs6_paper_epochs`). The
# forget set then has {glue:}`xs6_n_forget` images instead of {glue:text}`xs6_paper_n_forget`, so
# one "epoch" of unlearning (one pass over $D_u$ in batches of 16) is {glue:}`xs6_steps_per_epoch`
# steps instead of {glue:text}`xs6_paper_spe`. All numbers are QUICK analogues. The FULL profile
# runs the paper's setting on MNIST (`DATA_ROOT` must hold torchvision's MNIST files).
# ```

# %%
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from companion import config, metrics, paper_scale, plotting, report
from companion.experiments import digit_removal as dr
from companion.methods import mi_unlearning as mu
from companion.theory import information as inf
from companion.reported import get
from companion.training import predict, recipe_for

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""
FORGET_CLASS = 3
FORGET_SHARE = 0.75
N_TRIALS = 0
GAMMA = 4.0
EPOCHS = 5

# %%
ctx = config.resolve(
    PROFILE,
    SEED,
    DEVICE,
    DATA_ROOT,
    FORGET_CLASS=FORGET_CLASS,
    FORGET_SHARE=FORGET_SHARE,
    N_TRIALS=N_TRIALS,
    GAMMA=GAMMA,
    EPOCHS=EPOCHS,
)
print(report.banner(ctx))
cfg = dr.digit_removal_config(
    ctx.profile,
    N_TRIALS,
    forget_class=FORGET_CLASS,
    share=FORGET_SHARE,
    table_gamma=GAMMA,
    table_epochs=EPOCHS,
)
refs = dr.digit_removal_references(cfg, ctx.profile, ctx.seed, ctx.device, ctx.data_root)
task = refs["task"]
print(task.describe())

# %% [markdown]
# ## The protocol
#
# The unlearn set $D_u$ is a seeded random share `FORGET_SHARE` (the paper: 0.75) of the training
# images of the forgotten digit (upstream: an unseeded `random.sample`); the rest stay in the retain
# set $D_r$, where they make up a small share of the data.

# %%
k = cfg.forget_class
n_k_retain = int((task.retain.y == k).sum())
facts = {
    "D_u (forgotten images)": len(task.forget),
    "D_r (retain images)": len(task.retain),
    f"{k}s kept in D_r": n_k_retain,
    f"share of {k}s in D_r": n_k_retain / len(task.retain),
    "unlearning steps per epoch": task.forget.n_batches(16),
    "test images": len(task.test),
}
if (
    len(task.forget) != int(FORGET_SHARE * (len(task.forget) + n_k_retain))
    or not 0 <= n_k_retain / len(task.retain) < 1
):
    raise AssertionError(
        f"D_u must be int(FORGET_SHARE * n) of the {k}s' training images, the others kept in D_r"
    )
for name, key in zip(
    facts, ("n_forget", "n_retain", "n_kept", "share_kept", "steps_per_epoch", "n_test")
):
    report.glue(f"xs6_{key}", facts[name])
report.glue("xs6_n_train", len(task.train))
report.glue("xs6_recipe_epochs", recipe_for(task.name, cfg.arch, ctx.profile).epochs)
paper = {
    key: get(f"xs:mnist3/{key}").value
    for key in (
        "protocol/n_forget",
        "protocol/n_kept",
        "protocol/share_kept",
        "protocol/steps_per_epoch",
        "protocol/train_epochs",
        "original/test_acc",
        "retrain/forget_acc",
        "mi_gamma4_5ep/forget_acc",
    )
}
for key, name in (
    ("protocol/n_forget", "n_forget"),
    ("protocol/n_kept", "n_kept"),
    ("protocol/steps_per_epoch", "spe"),
    ("protocol/train_epochs", "epochs"),
):
    report.glue(f"xs6_paper_{name}", f"{int(paper[key]):,}")
report.glue("xs6_paper_share_kept", paper["protocol/share_kept"])
report.glue("xs6_paper_test", paper["original/test_acc"])
report.glue("xs6_paper_retrain_forget", paper["retrain/forget_acc"])
report.glue("xs6_paper_mi_forget", paper["mi_gamma4_5ep/forget_acc"])
report.glue(
    "xs6_epoch_ratio", paper["protocol/steps_per_epoch"] / facts["unlearning steps per epoch"]
)
pd.Series(facts, name="value").to_frame()

# %% [markdown]
# $D_u$ has {glue:}`xs6_n_forget` images, $D_r$ {glue:}`xs6_n_retain`, of which {glue:}`xs6_n_kept`
# are the kept images of the forgotten digit (a share of {glue:text}`xs6_share_kept:.4f`;
# {glue:text}`xs6_paper_share_kept:.4f` in the paper).
#
# ```{prf:algorithm} MI unlearning, one trial (as coded upstream)
# :label: xs-alg-mi-unlearning
# **Input** the original model $f$, $D_r$, $D_u$, weight $\gamma$, number of epochs $E$.
# 1. Copy $f$; create a fresh Adam with learning rate $10^{-3}$.
# 2. For each epoch, zip a shuffled $D_r$ loader (batch 64) with a shuffled $D_u$ loader (batch 16);
#    the epoch ends when $D_u$ is exhausted ($\lceil |D_u|/16\rceil$ steps).
# 3. At each step with batches $(x_r, y_r)$ and $x_u$: $\ell \leftarrow \mathrm{CE}(f(x_r), y_r)$;
#    form the MI batch $Z = 0$: $[x_r; x_u]$, $Z = 1$: $x_r$; $\hat I \leftarrow$
#    {prf:ref}`xs-alg-plugin` on the outputs; take an Adam step on $\ell + \gamma\hat I$.
# 4. **Stopping rule** (the companion's addition, {ref}`xs-stopping-rule`): after every check, stop
#    if the forget accuracy has reached the retrained model's (`forget_acc`, the default), if the
#    monitored $\hat I$ has reached the retrained model's level (`target_mi`), if test accuracy has
#    fallen by a set amount (`test_drop`), or never (`none`, the upstream behaviour).
# ```
#
# **Check: the key update from scratch.** One step's loss written out with plain tensor operations
# (softmax averages, joint, marginal, the clamped logarithm of the authors' code) equals the
# package's.

# %%
g = torch.Generator().manual_seed(ctx.seed)
xr, yr = next(task.retain.batches(64, shuffle=True, generator=g, device=ctx.device))
xu, _ = next(task.forget.batches(16, shuffle=True, generator=g, device=ctx.device))
model = refs["original"]
out = model(torch.cat([xr, xr, xu]))
P = torch.softmax(out, 1).clamp(1e-10, 1 - 1e-10)
z = torch.cat([torch.ones(64), torch.zeros(64 + 16)]).to(out.device)
pi1 = z.mean()
J1, J0 = (P * z[:, None]).mean(0), (P * (1 - z)[:, None]).mean(0)
q = J0 + J1
scratch = (
    J0 * torch.log(J0 / (q * (1 - pi1) + 1e-10) + 1e-10)
    + J1 * torch.log(J1 / (q * pi1 + 1e-10) + 1e-10)
).sum()
package = inf.marginal_mi(model(xr), model(xu))
if not torch.allclose(scratch, package, atol=1e-6):
    raise AssertionError(f"from-scratch MI {scratch.item()} != package {package.item()}")
print(f"I_hat on one batch: from scratch {scratch.item():.6f}, package {package.item():.6f}")

# %% [markdown]
# ## The reference models
#
# Original (trained on $D_r \cup D_u$), retrained from scratch on $D_r$, and the original fine-tuned
# on $D_r$ with a fresh Adam, each with the profile's recipe. Besides the paper's three accuracies
# we report accuracy on held-out test images of the other digits ($D_r$ test, missing upstream) and
# of the forgotten digit, the entropy MIA of the JiT line of work (share of $D_u$ classified
# "member"; an addition), and the mean $\hat I$ of each model over random batches of the paper's
# construction.


# %%
def scores(m) -> dict:
    s = metrics.evaluate(m, task, ctx.device, seed=ctx.seed)
    pr, pu = (
        torch.softmax(predict(m, sp, ctx.device).double(), 1) for sp in (task.retain, task.forget)
    )
    boot = inf.bootstrap_marginal_mi(pr, pu, 64, 16, n_boot=300, seed=ctx.seed)
    s["mi_hat"], s["mi_hat_std"] = float(boot.mean()), float(boot.std())
    return s


cols = {
    "retain_acc": "D_r",
    "forget_acc": "D_u",
    "test_acc": "test",
    "retain_test_acc": "test, other digits",
    "forget_test_acc": f"test, digit {k}",
    "mia_entropy": "entropy MIA on D_u",
    "mi_hat": "mean I_hat",
    "mi_hat_std": "I_hat std over batches",
}
ref_scores = {name: scores(refs[name]) for name in ("original", "retrain", "finetune")}

# %% tags=["nbval-check-output"]
pd.DataFrame(ref_scores).T[list(cols)].rename(columns=cols).round(4)

# %% [markdown]
# The retrained model still classifies {glue:text}`xs6_retrain_forget:.3f` of $D_u$ correctly: the
# kept images of the digit teach it what the digit looks like. And its mean $\hat I$ is
# {glue:text}`xs6_retrain_mi:.4f` nats, not 0 (the original: {glue:text}`xs6_original_mi:.4f`): as
# chapter 4 predicted, under the paper's construction the retrained model is far from $\hat I = 0$,
# at more than a quarter of the original's level. The last column is the spread of the estimate over
# random batches of 64 + 16 for a *fixed* model ({ref}`xs-estimator-bias`): the two models' means
# differ by less than the sum of their spreads, so one batch's $\hat I$ cannot tell the original
# from the retrained model; only averages over many batches (an epoch) can.

# %%
o, r_ = ref_scores["original"], ref_scores["retrain"]
if not r_["mi_hat"] > 0.25 * o["mi_hat"]:
    raise AssertionError(
        "the retrained model's mean I_hat should stay far from 0 under the paper's construction"
    )
if not abs(o["mi_hat"] - r_["mi_hat"]) < o["mi_hat_std"] + r_["mi_hat_std"]:
    raise AssertionError(
        "one batch's I_hat was claimed unable to tell the original from the retrained model"
    )
for name in ref_scores:
    report.glue(f"xs6_{name}_forget", ref_scores[name]["forget_acc"])
    report.glue(f"xs6_{name}_mi", ref_scores[name]["mi_hat"])
    report.glue(f"xs6_{name}_mia", ref_scores[name]["mia_entropy"])
    report.glue(f"xs6_{name}_test", ref_scores[name]["test_acc"])

# %% [markdown]
# ## The grid: curves over epochs
#
# `n_trials` trials per setting, all from the same original model, differing only in batch order and
# hence Adam's path. A run of $e$ epochs is the first $e$ epochs of a longer run with the same seed
# (constant learning rate, fresh Adam, same batch order), so each $\gamma$ runs once per trial for
# its largest epoch count and the shorter settings are read off the curves.

# %%
grid = dr.run_grid(refs["original"], task, cfg, ctx.profile, ctx.seed, ctx.device)
curves = grid.groupby(["gamma", "epoch"])[["mi", "forget_acc", "retain_acc", "test_acc"]].agg(
    ["mean", "std"]
)
with plotting.house_style():
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
    for gamma, c in curves.groupby(level=0):
        ep = c.index.get_level_values(1)
        for ax, col in zip(axes, ("mi", "forget_acc", "test_acc")):
            ax.plot(ep, c[(col, "mean")], "o-", ms=3, label=f"gamma {gamma}")
            ax.fill_between(
                ep,
                c[(col, "mean")] - c[(col, "std")].fillna(0),
                c[(col, "mean")] + c[(col, "std")].fillna(0),
                alpha=0.2,
            )
    axes[0].axhline(ref_scores["retrain"]["mi_hat"], color="k", ls=":", label="retrained model")
    axes[1].axhline(ref_scores["retrain"]["forget_acc"], color="k", ls=":")
    axes[2].axhline(ref_scores["retrain"]["test_acc"], color="k", ls=":")
    for ax, t in zip(axes, ("I_hat (epoch mean, nats)", "accuracy on D_u", "test accuracy")):
        ax.set(xlabel="epoch", title=t)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
report.glue("xs6_curves_fig", fig, display=False)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} xs6_curves_fig
# :name: xs6-curves-fig
# MI unlearning without a stopping rule: mean over trials, band = one standard deviation. Epoch 0 is
# the original model ($\hat I$ averaged over one pass of batches without updates). Dotted: the
# retrained model.
# ```
#
# Against the README's qualitative claims: $\hat I$ and the forget accuracy fall together
# (correlation over all logged points {glue:text}`xs6_corr:.2f`). {glue:text}`xs6_speed_text` Run
# long enough, {glue:text}`xs6_over_text` With $\gamma$ = 3.5 the forget accuracy is
# {glue:text}`xs6_end35:.3f` after 20 epochs, against {glue:text}`xs6_retrain_forget:.3f` for
# retraining. The objective's minimum sits where the predictions on $D_u$ match the class marginal
# of $D_r$, not where a retrained model sits.

# %%
corr = float(np.corrcoef(grid["mi"], grid["forget_acc"])[0, 1])
if not corr > 0.5:
    raise AssertionError(
        f"I_hat and the forget accuracy should move together (correlation {corr:.2f})"
    )
report.glue("xs6_corr", corr)
early = {
    gm: float(dr.at_epoch(grid, gm, 2)["forget_acc"].mean())
    for gm in sorted({g for g, _ in cfg.grid})
}
ordered = all(early[a] >= early[b] for a, b in zip(list(early), list(early)[1:]))
early_txt = ", ".join(f"{v:.3f} at gamma {g}" for g, v in early.items())
report.glue(
    "xs6_speed_text",
    f"A larger gamma falls faster: after 2 epochs the mean forget accuracy is {early_txt}."
    if ordered
    else (
        f"A larger gamma does not fall faster at every step of this run: after 2 epochs the mean "
        f"forget accuracy is {early_txt}."
    ),
)
end35 = float(dr.at_epoch(grid, 3.5, 20)["forget_acc"].mean())
report.glue("xs6_end35", end35)
report.glue(
    "xs6_over_text",
    "it falls far below the retrained model's level: this is over-unlearning."
    if end35 < ref_scores["retrain"]["forget_acc"] - 0.05
    else "it does not fall clearly below the retrained model's level in this run.",
)
setting = pd.DataFrame(
    [
        {
            "gamma": gm,
            "epochs": e,
            **{
                c: dr.at_epoch(grid, gm, e)[c].mean()
                for c in ("mi", "forget_acc", "retain_acc", "test_acc")
            },
            "forget_acc std": dr.at_epoch(grid, gm, e)["forget_acc"].std(),
        }
        for gm, e in cfg.grid
    ]
).set_index(["gamma", "epochs"])

# %% tags=["nbval-check-output"]
setting.round(4)

# %% [markdown]
# ## Stopping rules
#
# The over-unlearning makes the stopping rule part of the method. We run MI unlearning with
# $\gamma$ = `GAMMA` and a budget of twice `EPOCHS` under each rule. The targets are the retrained
# model's forget accuracy (`forget_acc`) and its mean $\hat I$ over random batches (`target_mi`,
# compared with a moving average of the per-step $\hat I$), both from the checkpoint cache, and a
# one-point drop of test accuracy (`test_drop`). Rules are checked every {glue:}`xs6_check_every`
# steps (QUICK: after every step, because unlearning here moves within a few steps; FULL: eight
# times per epoch). `test_drop` watches the test set, as the README's claim does; a real deployment
# would watch a separate validation split (`monitor="val"`), because the test set is also what is
# reported.

# %%
report.glue("xs6_check_every", cfg.rule_check_every)
runs = dr.run_stopping_rules(
    refs["original"],
    task,
    cfg,
    ctx.profile,
    cfg.table_gamma,
    2 * cfg.table_epochs,
    ctx.seed,
    ctx.device,
)
rule_rows, rule_scores = {}, {}
for rule, r in runs.items():
    s = rule_scores[rule] = metrics.evaluate(r, task, ctx.device, seed=ctx.seed)
    rule_rows[rule] = {
        "stop value": r.log["stop_value"],
        "stopped": r.log["stopped"],
        "steps": r.log["steps"],
        "epochs": r.log["steps"] / r.log["steps_per_epoch"],
        "I_hat (moving avg.)": r.log["history"][-1]["mi_avg"],
        **{cols[c]: s[c] for c in list(cols)[:6]},
    }
    report.glue(f"xs6_rule_{rule}_forget", s["forget_acc"])
    report.glue(f"xs6_rule_{rule}_test", s["test_acc"])
    report.glue(f"xs6_rule_{rule}_steps", r.log["steps"])
rules = pd.DataFrame(rule_rows).T.infer_objects()

# %% tags=["nbval-check-output"]
rules.round(4)

# %%
# each rule stops at the first check where its condition holds (target_mi: only once its moving
# window is full)
for rule in ("forget_acc", "target_mi", "test_drop"):
    h, log = runs[rule].log["history"], runs[rule].log
    holds = [mu.rule_holds(rule, r, log["stop_value"], h[0]["monitor_acc"]) for r in h]
    if log["stopped"] and not holds[-1]:
        raise AssertionError(f"rule {rule} stopped although its condition does not hold")
    if any(holds[1:-1]):
        raise AssertionError(f"rule {rule} missed an earlier check where its condition held")
    if not log["stopped"] and log["steps"] != 2 * cfg.table_epochs * log["steps_per_epoch"]:
        raise AssertionError(f"rule {rule} neither fired nor ran its budget")

# %% [markdown]
# Stopping at the retrained model's forget accuracy (`forget_acc`, the default) ends after
# {glue:}`xs6_rule_forget_acc_steps` steps with forget accuracy
# {glue:text}`xs6_rule_forget_acc_forget:.3f` (target {glue:text}`xs6_retrain_forget:.3f`) and test
# accuracy {glue:text}`xs6_rule_forget_acc_test:.3f`; without a rule, the same run ends at forget
# accuracy {glue:text}`xs6_rule_none_forget:.3f` and test accuracy
# {glue:text}`xs6_rule_none_test:.3f`. The `target_mi` rule stops after
# {glue:}`xs6_rule_target_mi_steps` steps at forget accuracy
# {glue:text}`xs6_rule_target_mi_forget:.3f`: $\hat I$ is a noisy and biased proxy of the forget
# accuracy, so it can stop well past (or short of) the retrained model's forget accuracy even though
# its target is the retrained model's own $\hat I$. The `test_drop` rule stops after
# {glue:}`xs6_rule_test_drop_steps` steps at forget accuracy
# {glue:text}`xs6_rule_test_drop_forget:.3f`. The README's claim that retraining "often coincides"
# with the point where test accuracy starts to drop can be judged by comparing this with the
# retrained model's {glue:text}`xs6_retrain_forget:.3f`: the first steps of a fresh Adam cost test
# accuracy by themselves (chapter 5 found the same shock on the toy), so a test-accuracy budget can
# fire before the forgetting starts. The test suite checks that every stopped run follows the
# unstopped run's trajectory up to its stop.
#
# ## Membership inference (an addition)
#
# The paper has no MIA. The entropy attack (JiT's, {cite}`foster2025jit`) fits a logistic regression
# on the prediction entropy of retain-train (members) against test images (non-members) and reports
# the share of $D_u$ it calls "member"; the retrained model's value is the target, since $D_u$ is
# then truly unseen.

# %%
everyone = {**ref_scores, **{f"MI unlearning, stop={r}": rule_scores[r] for r in runs}}
mia = pd.DataFrame(
    {
        n: {
            "entropy MIA on D_u": v["mia_entropy"],
            "entropy MIA on held-out test": v["mia_entropy_heldout"],
            "loss-threshold AUC": v.get("mia_loss_auc", np.nan),
        }
        for n, v in everyone.items()
    }
).T
report.glue("xs6_mia_table", mia.round(3), display=False)
if not ref_scores["original"]["mia_entropy"] > ref_scores["retrain"]["mia_entropy"]:
    raise AssertionError(
        "the attack should call more of D_u 'member' for the original model than for the retrained "
        "one"
    )

# %% tags=["nbval-check-output"]
mia.round(3)

# %% [markdown]
# The original model's forgotten images look like members to the attack
# ({glue:text}`xs6_original_mia:.2f`), the retrained model's less so
# ({glue:text}`xs6_retrain_mia:.2f`). The loss-threshold AUC compares the losses on $D_u$ with those
# on held-out test images of the same digit (0.5: indistinguishable).
#
# ## Ours against the paper
#
# The table row of the paper's MI unlearning is $\gamma = 4$ for 5 epochs with no stopping rule (one
# run); ours is the mean over the trials of the same setting.

# %%
ours = {
    "original": ref_scores["original"],
    "retrain": ref_scores["retrain"],
    "finetune": ref_scores["finetune"],
}
label = {"original": "original", "retrain": "retrain", "finetune": "fine-tune"}
rows = [
    (f"{label[m]}: accuracy on {cols[c]}", float(ours[m][c]), f"xs:mnist3/{m}/{c}")
    for m in ours
    for c in ("retain_acc", "forget_acc", "test_acc")
]
per_trial = {
    key: (name, dr.at_epoch(grid, gm, e)[col].to_numpy())
    for name, key, gm, e, col in dr.paper_grid_rows(cfg)
}
rows += [(name, float(v.mean()), key) for key, (name, v) in per_trial.items()]
cmp = report.compare(
    rows,
    fmt=lambda v: f"{v:.4f}",
    quick=ctx.quick,
    setting=report.Setting.of(task, cfg.arch, profile=ctx.profile),
)
report.glue("xs6_compare", cmp, display=False)
table_forget, retrain_forget = (
    float(per_trial["xs:mnist3/mi_gamma4_5ep/forget_acc"][1].mean()),
    ref_scores["retrain"]["forget_acc"],
)
report.glue("xs6_table_forget", table_forget)
report.glue(
    "xs6_table_text",
    "it over-unlearns."
    if table_forget < retrain_forget - 0.05
    else (
        "it stops short of the retrained level."
        if table_forget > retrain_forget + 0.05
        else "it lands within 5 points of it too."
    ),
)

# %% tags=["nbval-check-output"]
cmp

# %% [markdown]
# ```{glue:} xs6_compare
# ```
#
# The table uses the parameters `GAMMA` and `EPOCHS` for the paper's MI-unlearning row (the paper: 4
# and 5). In the QUICK profile, differences in level are expected and are not failures of the
# reproduction:
#
# - **Smaller data and shorter training.** The original model is trained for
#   {glue:}`xs6_recipe_epochs` epochs on {glue:}`xs6_n_train` images; its test accuracy is
#   {glue:text}`xs6_original_test:.3f` against the paper's {glue:text}`xs6_paper_test:.4f`, and its
#   $D_u$ accuracy is that of a model that has memorised a few hundred images.
# - **The retrained reference sees fewer kept images of the digit.** {glue:}`xs6_n_kept` kept images
#   against the paper's {glue:text}`xs6_paper_n_kept`; its $D_u$ accuracy is
#   {glue:text}`xs6_retrain_forget:.3f` against the paper's
#   {glue:text}`xs6_paper_retrain_forget:.4f`, and the `forget_acc` target moves with it.
# - **An epoch is {glue:text}`xs6_epoch_ratio:.0f` times shorter.** With {glue:}`xs6_n_forget`
#   forgotten images an epoch is {glue:}`xs6_steps_per_epoch` steps, not {glue:text}`xs6_paper_spe`,
#   so the curves above are compared with the paper's per epoch, not per step.
# - **The paper's MI row lands on the retrained level** ($D_u$ accuracy
#   {glue:text}`xs6_paper_mi_forget:.4f` against {glue:text}`xs6_paper_retrain_forget:.4f`); the
#   same setting here reaches {glue:text}`xs6_table_forget:.3f` against
#   {glue:text}`xs6_retrain_forget:.3f`: {glue:text}`xs6_table_text` A fixed (gamma, epochs) pair
#   need not transfer between scales, which is one more reason to stop by a rule rather than by an
#   epoch count.
# - **Test accuracy** here includes the test images of the forgotten digit, as in the paper; the
#   held-out columns above show how much of a change in test accuracy comes from them.
#
# ## At the paper's scale
#
# The same comparison at the paper's scale: full MNIST, the 784-128-64-10 MLP trained for the
# paper's epochs, the whole (gamma, epochs) grid with its trials.
#
# The table is read from the chapter's committed FULL record
# (`results/full/xs/06_digit_removal.json`): each row is judged again against the number quoted now,
# like with like (dataset, architecture, variant, forget set), beside this run's value of the same
# quantity. {glue:}`xs6_paper_scale_judged` rows are judged, {glue:}`xs6_paper_scale_within` within
# tolerance.
#
# {glue:text}`xs6_paper_scale_line`.

# %%
scale = paper_scale.paper_scale_section("xs/06_digit_removal", "xs6", quick=cmp)

# %% tags=["nbval-check-output"]
scale

# %% [markdown]
# ```{glue:} xs6_paper_scale
# ```
#
# Without a record the table says so. The record is written by `make reproduce PART=xs DEVICE=cpu`
# (see the status page: it resumes, and skips a chapter whose record is up to date).
#
# ### How far one run moves
#
# The paper's table is one run and its curves are read off a plot; ours are means over
# {glue:}`xs6_n_trials` trials. Before a difference is called a failure, the chapter measures how
# far its own runs spread: each grid quantity over its trials, and the original's accuracies over
# the last {glue:}`xs6_traj_last` epochs (a fifth) of its training (trained again with the same
# recipe and seed and scored after every epoch; its last epoch is the original above, which the
# notebook asserts). This run's spread:

# %%
traj_rows, _ = dr.original_trajectory(task, cfg, ctx.profile, ctx.seed, ctx.device)
traj = pd.DataFrame(traj_rows).set_index("epoch")
if abs(traj.forget_acc.iloc[-1] - ref_scores["original"]["forget_acc"]) > 0.5 / len(task.forget):
    raise AssertionError("the original trained again must be the cached original")
LAST = max(1, len(traj) // 5)  # FULL: epochs 81-100
report.glue("xs6_traj_last", LAST)
report.glue("xs6_n_trials", cfg.n_trials)
runs_of = {
    f"xs:mnist3/original/{c}": (f"the original's last {LAST} epochs", traj[c].tail(LAST).to_numpy())
    for c in ("retain_acc", "forget_acc", "test_acc")
}
runs_of |= {key: (f"{len(v)} trials", v) for key, (_, v) in per_trial.items()}
spread = []
for name, value, key in rows:
    if key in runs_of:
        over, v = runs_of[key]
        slug = re.sub(r"\W+", "_", key.split(":", 1)[1])
        report.glue(f"xs6_lo_{slug}", float(v.min()))
        report.glue(f"xs6_hi_{slug}", float(v.max()))
        report.glue(f"xs6_over_{slug}", over)
        spread.append(
            {
                "quantity": name,
                "ours": value,
                "lowest": float(v.min()),
                "highest": float(v.max()),
                "over": over,
            }
        )
spread = pd.DataFrame(spread).set_index("quantity")
if not ((spread.lowest <= spread.ours + 1e-12) & (spread.ours <= spread.highest + 1e-12)).all():
    raise AssertionError("a mean over runs must lie within the runs' range")

# %% tags=["nbval-check-output"]
spread.round(4)

# %% [markdown]
# At the paper's scale, each row outside tolerance beside the range the FULL run's own trials (or
# the original's last epochs) span. A paper value inside that range is explained by where one run
# happens to stop; one outside it is not. {glue:text}`xs6_why_text`

# %%
full_rec, _ = paper_scale.load_full_record("xs/06_digit_removal")
key_of = {name: key for name, _, key in rows}
why = []
for q in scale.index[scale["within tolerance"] == "no"] if "within tolerance" in scale else []:
    slug = re.sub(r"\W+", "_", key_of[q].split(":", 1)[1])
    got = {
        k: full_rec["values"].get(f"xs6_{k}_{slug}", {}).get("value") for k in ("lo", "hi", "over")
    }
    quoted = get(key_of[q])
    paper_value = quoted.value
    inside = (
        "not in the record"
        if got["lo"] is None
        else ("yes" if got["lo"] <= paper_value <= got["hi"] else "no")
    )
    why.append(
        {
            "quantity": q,
            "ours (FULL)": scale.loc[q, "ours (FULL)"],
            "paper": scale.loc[q, "paper"],
            "FULL range": "—" if got["lo"] is None else f"[{got['lo']:.4f}, {got['hi']:.4f}]",
            "over": got["over"] or "—",
            "paper inside": inside,
            "paper's number": "read off a plot"
            if "read off" in quoted.source
            else "one printed run",
        }
    )
columns = [
    "quantity",
    "ours (FULL)",
    "paper",
    "FULL range",
    "over",
    "paper inside",
    "paper's number",
]
why = pd.DataFrame(why, columns=columns).set_index("quantity")
n_in, n_out = int((why["paper inside"] == "yes").sum()), int((why["paper inside"] == "no").sum())
report.glue("xs6_why_inside", n_in)
report.glue("xs6_why_outside", n_out)
if not len(why):
    why_text = (
        "No FULL row is outside tolerance."
        if full_rec
        else "Without a FULL record there is nothing to explain yet."
    )
elif n_in + n_out == 0:
    why_text = (
        "The FULL record predates these measurements: re-record the chapter to fill the ranges."
    )
else:
    unexplained = why[why["paper inside"] == "no"]
    plot_read = int((unexplained["paper's number"] == "read off a plot").sum())
    why_text = (
        f"{n_in} of the {len(why)} rows outside tolerance have the paper's value inside the range "
        f"of our own runs, so where one run happens to stop explains them; "
        + (
            f"{n_out} {'has' if n_out == 1 else 'have'} it outside that range "
            f"({plot_read} of {n_out} read off the paper's plot, so approximate): run-to-run "
            "variation does not explain " + ("it" if n_out == 1 else "them") + "."
            if n_out
            else "none is outside it."
        )
        + ("" if n_in + n_out == len(why) else " The others predate these measurements.")
    )
report.glue("xs6_why_text", why_text)
report.glue("xs6_why", why, display=False)

# %% tags=["nbval-check-output"]
why

# %% [markdown]
# ## Summary
#
# - The protocol runs as coded (batch construction, zipped loaders, fresh Adam), with our fixes:
#   seeded splits and trials ({ref}`xs-seeds`), a held-out retain test split
#   ({ref}`xs-retain-test`), reference models trained on cross-entropy only, and a from-scratch
#   check of the MI term.
# - **MI and forget accuracy move together**, as the README says (correlation
#   {glue:text}`xs6_corr:.2f`). {glue:text}`xs6_speed_text`
# - **Without a stopping rule** driving $\hat I$ down pushes the predictions on $D_u$ towards the
#   retain set's class marginal, not towards what retraining gives; run long enough ($\gamma$ = 3.5,
#   20 epochs), {glue:text}`xs6_over_text` The population analysis of chapter 4 predicts this, and
#   the retrained model's own $\hat I$ is far from zero.
# - **The stopping rules** make the method usable. `forget_acc` (the default) stops at the retrained
#   model's forget accuracy; it needs a retrained reference (or an externally given target), which
#   is what the method was meant to avoid, so `target_mi` (a calibrated $\hat I$ level) and
#   `test_drop` (a validation-accuracy budget) are offered as cheaper proxies; their results are in
#   the table above.
# - **Additions, not in the paper**: the held-out splits, the stopping rules, the entropy MIA and
#   the loss-threshold AUC.
# - **Reconstructed, not quoted**: the population analysis of the construction and the stopping
#   rules are our analysis ({ref}`xs-mi-population`, {ref}`xs-stopping-rule`); the reported curve
#   values are read off the README's figures and are approximate.
#
# ## Exercises
#
# 1. Re-run with `FORGET_SHARE = 1.0` (all of the digit's training images forgotten). What happens
#    to the retrained model's $D_u$ accuracy, and to the point where `forget_acc` stops?
# 2. Why does the `target_mi` rule compare the *mean per-step* $\hat I$ since the last check with
#    the retrained model's *mean over random batches*, rather than with the retrained model's
#    population value?
# 3. Using the population formula of chapter 4, compute the $D_u$ accuracy at which $\hat I$ would
#    reach zero in this profile. Compare it with the end of the $\gamma$ = 3.5 curve.
#
# ```{admonition} Solutions
# :class: dropdown
# 1. The retrained model has never seen the digit: its $D_u$ accuracy is near 0, so `forget_acc`
#    stops only when the unlearned model has also (almost) stopped predicting the digit; this is
#    then the right target. The population value of $\hat I$ is zero only when the digit's
#    predictions on $D_u$ vanish, so over-unlearning and unlearning coincide in the full-class case.
# 2. Both sides must carry the same estimator bias (chapter 4): a batch estimate on 16 unlearn
#    samples reads higher than the population value, so a population target would never be reached,
#    or be reached too late.
# 3. $\hat I_{\text{pop}} = 0$ iff the mean prediction on $D_u$ equals the class marginal of $D_r$,
#    i.e. the digit is predicted on about the share of kept images in $D_r$
#    ({glue:text}`xs6_share_kept:.3f`). The curves flatten above it because the batch estimate has a
#    positive floor and the cross-entropy on the kept images resists.
# ```
#
# ```{bibliography}
# :filter: docname in docnames
# ```
