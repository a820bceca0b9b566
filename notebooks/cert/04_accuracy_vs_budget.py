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
# - the paper's per-budget selection of the best setting (chosen and reported on the same
#   validation set) and a selection on a held-out half;
# - gradient clipping both as the paper ran it ($\varepsilon_R = 1$, which certifies
#   $\varepsilon \approx 7.08$, chapter 2) and with a true $\varepsilon = 1$ certificate.

# %%
import numpy as np
import pandas as pd

from companion import config, report
from companion.experiments import cert_curves

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
ctx = config.resolve(PROFILE, SEED, DEVICE, DATA_ROOT, TASK=TASK, EPSILON=EPSILON, DELTA=DELTA, EPOCHS=EPOCHS, N_SEEDS=N_SEEDS)
print(report.banner(ctx))
TASK_NAME = config.pick(TASK, ctx, quick="mnist5k", full="mnist")
setup = cert_curves.setup(PROFILE, seed=SEED, data_root=DATA_ROOT or None, device=ctx.device,
                          seeds=tuple(range(SEED, SEED + N_SEEDS)), task_name=TASK_NAME)
print(setup.task.describe())

# %% [markdown]
# ## Protocol
#
# - **Split.** The paper draws validation (10 % of the training set), then a random forget set of
#   10 % of the rest. `load_task(..., forget="random:N")` draws validation first and then $N$ random
#   forget points; with $N$ = 10 % of the non-validation set this gives the paper's sizes.
# - **Originals.** One $A(D)$ per seed, trained with SGD and Optax's linear one-cycle schedule (peak
#   0.06, weight decay $5\cdot10^{-4}$; $0.05$ for the model given to output perturbation, as in the
#   paper), 30 epochs in FULL and 15 in QUICK; the seeds vary the initialisation, the batches and the
#   unlearning noise.
# - **Unlearning.** Each setting runs once for the whole budget: the noisy phase (fresh noise every
#   step), then fine-tuning with SGD, Optax's linear one-cycle (peak 0.1) and L2 $5\cdot10^{-4}$.
#   Retrain starts from a fresh initialisation with the same fine-tuning optimizer, as upstream.
#   The accuracy "at budget $e$" is read after epoch $e$ of that run (as coded). All settings and
#   seeds of all methods train together as one vectorised batch (`torch.func.vmap`), each with its
#   own noise and batches.
# - **Settings.** The paper's MNIST grid: gradient clipping $(C_0, C_1, \gamma, \lambda) \in$
#   {(0.01, 10, 1e-4, 750), (0.01, 100, 1e-4, 10)}; model clipping $C_0 = 7$, $\sigma = 0.01$,
#   $C_2 = 0.001$ with three $(\gamma, \lambda)$ and $C_2 = 0.01$ with one; output perturbation
#   $C_0 = 0.01$.
#
# The certificates of the settings run here:

# %%
df = cert_curves.run_curves(setup, epochs=EPOCHS or None, epsilon=EPSILON, delta=DELTA)
certs = (df[df.epoch == 1].groupby(["method", "group"])[["T", "sigma", "epsilon", "epsilon_as_coded"]].first()
         .rename(columns={"epsilon": "certified eps (corrected)", "epsilon_as_coded": "eps the reference code reports"}))
report.glue("cert4_certs", certs, display=False)
certs

# %% [markdown]
# ```{glue:} cert4_certs
# ```
#
# Gradient clipping "as coded" uses the paper's noise ($\varepsilon_R = 1$): the code reports
# $\varepsilon \approx 1.004$, the bound certifies the value in the "corrected" column. Gradient
# clipping "theorem" is calibrated to a true `EPSILON`. Model clipping and output perturbation
# certify $(\varepsilon, \delta)$ directly.
#
# ## The curves

# %%
paper = cert_curves.select(df, "paper")
heldout = cert_curves.select(df, "heldout")
fig = cert_curves.budget_figure({"paper's selection (same validation set)": paper, "held-out selection": heldout})
report.glue("cert4_fig_budget", fig, display=False)
last = int(df.epoch.max())
table = pd.concat({"paper's selection": paper[paper.epoch == last].set_index("method")[["mean", "ci"]],
                   "held-out selection": heldout[heldout.epoch == last].set_index("method")[["mean", "ci"]]}, axis=1)
report.glue("cert4_table_last", table.round(3), display=False)
report.glue("cert4_last", last)

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
gap = {m: float(paper[(paper.method == m) & (paper.epoch == last)]["mean"].iloc[0]) - float(paper[(paper.method == "retrain") & (paper.epoch == last)]["mean"].iloc[0])
       for m in paper.method.unique() if m != "retrain"}
for m, v in gap.items():
    report.glue(f"cert4_gap_{m.split(' ')[0]}{'_' + m.split('(')[1][:-1] if '(' in m else ''}", v)
wins = int(sum(v > 0 for v in gap.values()))
report.glue("cert4_wins", wins)
report.glue("cert4_n_cert", len(gap))
cost = float(paper[(paper.method == "gradient_clipping (as_coded)") & (paper.epoch == last)]["mean"].iloc[0]
             - paper[(paper.method == "gradient_clipping (theorem)") & (paper.epoch == last)]["mean"].iloc[0])
report.glue("cert4_true_eps_cost", cost)
pd.Series(gap, name=f"accuracy minus retrain at {last} epochs")

# %% [markdown]
# At equal compute, {glue:}`cert4_wins` of the {glue:}`cert4_n_cert` certified variants end above
# retrain (gradient clipping as the paper ran it: {glue:text}`cert4_gap_gradient_clipping_as_coded:+.3f`;
# with a true certificate: {glue:text}`cert4_gap_gradient_clipping_theorem:+.3f`; model clipping:
# {glue:text}`cert4_gap_model_clipping:+.3f`; output perturbation:
# {glue:text}`cert4_gap_output_perturbation:+.3f`). Where a certified method ends ahead, the reason
# is the one the spec's analysis gives: all of them shrink the trained model into a tiny ball and add
# noise, but what is left can still be a better start than a fresh initialisation, so they behave
# like a warm-started retrain. At small budgets the curves show the opposite can hold.
# Making the gradient-clipping certificate honest ($\varepsilon = 1$ instead of $\approx 7$) costs
# {glue:text}`cert4_true_eps_cost:.3f` of accuracy at the largest budget here.
#
# ## Ours against the paper
#
# Figure 1 prints no numbers, only curves, so the comparison is of the settings (the accountant's
# $T$ and $\sigma$ for the MNIST configurations this page runs) and of the qualitative claims.

# %%
gc = df[df.method == "gradient_clipping (as_coded)"].groupby("group")[["T", "sigma"]].first()
rows = []
for key, c1 in (("fig1/gc_mnist_c1_10", 10.0), ("fig1/gc_mnist_c1_100", 100.0)):
    g = gc[[f'"c1": {c1}' in k for k in gc.index]].iloc[0]
    rows += [(f"GC MNIST C1={c1:g}: T", float(g["T"]), f"cert:{key}/T"), (f"GC MNIST C1={c1:g}: sigma", float(g["sigma"]), f"cert:{key}/sigma")]
mct = df[df.method == "model_clipping"].groupby("group")["T"].first()
rows += [("MC MNIST C2=0.01: T", float(mct[['"c2": 0.01' in k for k in mct.index]].iloc[0]), "cert:fig1/mc_mnist_c2_0.01/T"),
         ("OP C0=0.01: sigma", float(df[df.method == "output_perturbation"]["sigma"].iloc[0]), "cert:fig1/op/sigma_c0_0.01")]
comparison = report.compare(rows, fmt=lambda v: f"{v:.4g}", quick=False, setting=report.Setting(variant="as_coded", scale="exact"))
report.glue("cert4_compare", comparison, display=False)
comparison

# %% [markdown]
# ```{glue:} cert4_compare
# ```
#
# ## Summary
#
# - The settings (and therefore the certificates) are exactly the paper's; the accuracies are a
#   QUICK-scale analogue: 3,240 retain images instead of 48,600, so an epoch is 26 steps instead of
#   380 and the budget axis is not comparable in steps, and no training augmentation. The
#   paper's MNIST panel shows the certified methods above retrain at small budgets; whether that
#   holds here is read from the figure above, and in FULL on the real MNIST.
# - **Discrepancies, explained.** (1) The paper labels its gradient-clipping curves $\varepsilon = 1$;
#   with the bound's dependence on $\alpha$ they certify about 7.08 (chapter 2). The "theorem" curve
#   is the honest $\varepsilon = 1$ version. (2) The paper selects the best setting per budget on the
#   same validation set it reports; with few settings the optimism is small here, which the held-out
#   panel shows. (3) We validate without augmentation (upstream validates augmented images). (4) The
#   reference code reuses one noise draw at every step; we draw fresh noise.
# - FULL: `PROFILE="full"` with `TASK="mnist"` (784-5-10 network, 10 epochs) or `TASK="cifar10"`
#   (the 20k-parameter CNN and the paper's 11 + 13 + 3 CIFAR settings, 50 epochs; set `EPOCHS`),
#   with augmentation as in the paper. `TASK="cifar10_features"` or `"cifar100_features"` runs Figure 3's
#   gradient-clipping grid and retrain on 512-d ImageNet ResNet-18 features with the three-layer network
#   (the torchvision weights must be in torch's hub cache; pass `-p EPOCHS 50`, and note the grid has no
#   model clipping or output perturbation, as in the paper; DP-SGD is the `dpsgd` method, chapter 5).
#
# ## Exercises
#
# 1. Re-run with `EPSILON = 10`. Which method gains most, and why does model clipping hardly change?
# 2. Re-run with `N_SEEDS = 8`. Do the two selection protocols move closer?
# 3. Where in the curves do the noisy steps show? (Hint: $T \le 6$ steps out of 26 per epoch.)
#
# ```{admonition} Solutions
# :class: dropdown
# 1. Gradient clipping (theorem) and output perturbation scale their noise with $1/\varepsilon$
#    (roughly); model clipping's $\sigma$ is fixed by the setting and only its number of noisy steps
#    falls, from at most six, which is a small part of the budget.
# 2. With more seeds the mean of the chosen setting is estimated better and the optimism of
#    choosing and reporting on the same data shrinks.
# 3. Only in the first epoch: by the end of it every run is in its noiseless phase, so the curves
#    differ through where the noisy phase left the model, not through the noise itself.
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
