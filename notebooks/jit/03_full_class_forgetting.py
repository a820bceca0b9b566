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
# # Full-class forgetting: JiT against the baseline zoo
#
# Foster et al. {cite}`foster2025jit` compare their zero-shot method JiT with eleven baselines on
# three kinds of forgetting. This chapter runs the first kind: remove **every** training sample of
# one class.
#
# **This page reproduces**
# - the full-class forgetting tables of {cite}`foster2025jit` (CIFAR-100, CIFAR-20 and
#   PinsFaceRecognition with VGG in FULL): retained accuracy $D_r$, forgotten accuracy $D_f$, the
#   entropy membership-inference attack (MIA) and runtime, mean ± standard deviation over seeds;
# - every baseline of the paper (BSLN, RTRN, FNTN, BT {cite}`chundawat2023can`, AMN
#   {cite}`graves2021amnesiac`, UNSIR {cite}`tarun2023fast`, SSD {cite}`foster2024fast`, SCRUB
#   {cite}`kurmanji2023towards`, GKT and EMMN {cite}`chundawat2023zero`, BDSH
#   {cite}`chen2023boundary`) with the settings of the reference code, the reference code's own
#   variants where they differ (a head-only "retrain", SSD's hard-wired $(\lambda, \alpha)$, JiT as
#   coded), and three extra baselines that are not in the paper (GA, GradDiff, NPO
#   {cite}`zhang2024negative`);
# - the speed-up of every method against retraining from scratch.

# %%
import numpy as np
import pandas as pd

from companion import config, data, methods, models, report
from companion.reported import get
from companion.experiments import jit_chapters as jc
from companion.experiments import jit_settings as js
from companion.experiments import jit_tables as jt
from companion.plotting import jit as pj

pd.set_option("display.max_colwidth", 90)

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""
N_SEEDS = 2
TASK = "auto"
ARCH = "auto"
JIT_FORGET = "auto"

# %%
CHAPTER = jc.table_chapter(
    "full_class", PROFILE, SEED, DEVICE, DATA_ROOT, N_SEEDS, TASK, ARCH, JIT_FORGET
)
ctx, SETTING, SEEDS = CHAPTER.ctx, CHAPTER.setting, CHAPTER.seeds
print(CHAPTER.banner)

# %% [markdown]
# ## The setting
#
# ```{prf:definition} Full-class forgetting
# :label: jit-def-full-class
# The training set is $D = D_r \cup D_f$ where $D_f$ holds **all** training samples of one class
# $c$. An unlearned model should behave like a model trained on $D_r$ alone: it should classify the
# other classes as well as before and fail on class $c$.
# ```
#
# ```{prf:definition} The metrics of the tables
# :label: jit-def-table-metrics
# - $D_r$: accuracy on the **test** samples of the retained classes;
# - $D_f$: accuracy on the **test** samples of the forgotten class (retraining gives 0);
# - MIA: a logistic regression on the entropy of the softmax output is fitted to separate
#   retain-train samples (members) from the full test set (non-members); the MIA is the fraction of
#   forget-train samples it calls "member". Lower is better; retraining gives a few percent.
# - runtime: wall-clock seconds of the method (metrics excluded), and the speed-up
#   $T_\mathrm{RTRN} / T_\mathrm{method}$.
# ```
#
# Accuracies are sample-weighted (the reference code averages per-batch accuracies, which
# over-weights the last batch; `metrics.evaluate(..., weighting="batch")` reproduces it).
#
# **The profile.** FULL runs the paper's setting (CIFAR-100, forget "rocket", VGG11 with a linear
# head, pretrained with the paper's recipe; `TASK="pins"` for PinsFaceRecognition, which gets a
# seeded train/test split that the reference code lacks). QUICK runs a faithful smaller analogue on
# CPU: scikit-learn's 8×8 digits with the small VGG-like CNN, forgetting one digit. About eighteen
# methods over several seeds must fit in under a minute on two cores, which the 28×28 MNIST subset
# does not allow. QUICK method settings that differ from the reference scripts' are listed below
# with the reason in each method's docstring: the digits data give a few optimisation steps per
# epoch where CIFAR gives hundreds, so some learning rates or step counts are scaled up.

# %%
js.describe_rows("full_class")

# %% [markdown]
# ## A numerical check of the protocol
#
# Two statements the table relies on are checked on this run's task before the experiment:
# 1. every zero-shot method of the paper's table refuses a task that carries retain data (it may see
#    $D_f$ only; the harness hands it `task.zero_shot_view()`, which has no retain split);
# 2. the MIA of {prf:ref}`jit-def-table-metrics` computed from scratch (entropy, balanced logistic
#    regression) equals `metrics.evaluate`'s value for a random model.

# %%
task = data.load_task(SETTING["task"], forget=SETTING["forget"], seed=SEED, data_root=ctx.data_root)
rows = [r for r in js.table_rows("full_class") if not r.extra and r.method != "original"]
zero_shot = sorted({r.method for r in rows if methods.REGISTRY[r.method].zero_shot})
for name in zero_shot:
    try:
        methods.REGISTRY[name].fn(
            models.build(SETTING["arch"], task.input_shape, task.num_classes, 0),
            task,
            methods.config_of(name, ctx.profile),
            seed=0,
            device="cpu",
            profile=ctx.profile,
        )
    except ValueError:
        continue
    raise AssertionError(f"zero-shot method {name} accepted a task with retain data")
print("zero-shot methods that refuse retain data:", zero_shot)

# %%
from sklearn.linear_model import LogisticRegression  # noqa: E402

from companion import metrics  # noqa: E402

net = models.build(SETTING["arch"], task.input_shape, task.num_classes, SEED)
ent = {
    k: metrics.entropy(metrics.predict(net, getattr(task, k)).double().softmax(1))
    for k in ("retain", "test", "forget")
}
lr = LogisticRegression(class_weight="balanced", solver="lbfgs").fit(
    np.r_[ent["retain"], ent["test"]].reshape(-1, 1),
    np.r_[np.ones(len(ent["retain"])), np.zeros(len(ent["test"]))],
)
by_hand = lr.predict(ent["forget"].reshape(-1, 1)).mean()
assert abs(by_hand - metrics.evaluate(net, task)["mia_entropy"]) < 1e-12
print(f"MIA by hand {by_hand:.4f} = metrics.evaluate")

# %% [markdown]
# ## The experiment
#
# `jt.run_table` trains (or loads from the checkpoint cache) the original model of each seed, runs
# every method on a copy, and scores it. RTRN is a fresh model trained on $D_r$; its time is the one
# measured when it was trained, even when it comes from the cache.

# %%
result = jt.run_table(
    "full_class", ctx.profile, SEEDS, ctx.device, TASK, ARCH, JIT_FORGET, data_root=ctx.data_root
)
table = jt.display_table(result)
table

# %% tags=["nbval-check-output"]
table.drop(columns=["time (s)", "speed-up vs RTRN"])  # the results without the timings

# %%
s = result.summary
for label, key in [
    ("JiT", "jit"),
    ("RTRN", "rtrn"),
    ("BSLN", "bsln"),
    ("SSD", "ssd"),
    ("BDSH", "bdsh"),
    ("AMN", "amn"),
    ("GKT", "gkt"),
]:
    for col in ("Dr", "Df", "mia_entropy"):
        report.glue(f"fc_{key}_{col}", report.pct(float(s.loc[label, col])))
report.glue("fc_jit_speedup", f"{s.loc['JiT', 'speedup']:.0f}")
report.glue("fc_jit_coded_Dr", report.pct(float(s.loc["JiT (as coded)", "Dr"])))
report.glue("fc_jit_coded_Df", report.pct(float(s.loc["JiT (as coded)", "Df"])))
report.glue("fc_n_forget", result.setting["n_forget"])
gkt_steps = {
    p: (lambda c: c.n_pseudo_batches * c.student_steps)(methods.config_of("gkt", p))
    for p in ("full", "quick")
}
report.glue("fc_gkt_steps_full", f"{gkt_steps['full']:,}")
report.glue("fc_gkt_steps_quick", f"{gkt_steps['quick']:,}")
if gkt_steps[ctx.profile] < gkt_steps["full"]:  # the budget artefact the summary names
    assert s.loc["GKT", "Dr"] < s.loc["BSLN", "Dr"] - 0.1, (
        "GKT's short QUICK budget should leave the student far below the original"
    )
for key in (
    "pins_full_class/SSD/Dr",
    "pins_full_class/BSLN/MIA",
    "cifar100_full_class_rocket/JiT/Dr",
):
    report.glue("paper_" + key.replace("/", "_"), report.pct(get(f"jit:{key}").value))

# %%
fig = pj.table_figure(
    result.summary, f"Full-class forgetting ({SETTING['task']}, {SETTING['arch']})"
)
report.glue("fc_figure", fig, display=False)

# %% [markdown]
# ```{glue:figure} fc_figure
# :name: jit-fig-full-class
# Retained accuracy $D_r$, forgotten accuracy $D_f$ and the entropy MIA of every method (mean and
# standard deviation over seeds). Retraining (RTRN) is the target: high $D_r$, $D_f$ and MIA near 0.
# ```
#
# ## Reading the table
#
# The forget set holds {glue:}`fc_n_forget` training samples. The original model (BSLN) classifies
# the forgotten class at $D_f$ = {glue:text}`fc_bsln_Df` and the MIA flags
# {glue:text}`fc_bsln_mia_entropy` of its forget samples as members; retraining from scratch brings
# these to {glue:text}`fc_rtrn_Df` and {glue:text}`fc_rtrn_mia_entropy` while keeping
# $D_r$ = {glue:text}`fc_rtrn_Dr`.
#
# JiT (as the paper writes it, zero-shot) reaches $D_r$ = {glue:text}`fc_jit_Dr`,
# $D_f$ = {glue:text}`fc_jit_Df` and MIA = {glue:text}`fc_jit_mia_entropy`, about
# {glue:text}`fc_jit_speedup` times faster than retraining. The reference code's variant (summed
# loss, accumulated gradients, dropout active) with the reference hyperparameters ($\sigma$ = 0.5,
# $\eta$ = 3·10⁻⁴, batch 128) gives $D_r$ = {glue:text}`fc_jit_coded_Dr`,
# $D_f$ = {glue:text}`fc_jit_coded_Df` (chapter 2 explains the four differences; the paper variant's
# $(\sigma, \eta)$ were picked on the validation split, see the exercises).
#
# ### The reference code's "retrain"
#
# The reference code resets only the classifier head and retrains with the backbone it learned on
# $D_f$ (for a flat network the runner first regroups it as base + head, so that the reference rule
# "reset the direct children that have `reset_parameters`" resets the head alone). One seed of it
# next to the true retrain (cached), with a second attack: a loss threshold that compares the forget
# samples with unseen test samples of the same class.

# %%
head = jt.run_table(
    "full_class",
    ctx.profile,
    [SEED],
    ctx.device,
    TASK,
    ARCH,
    JIT_FORGET,
    rows=["RTRN", "RTRN (head only, as coded)"],
    data_root=ctx.data_root,
)
head_s = head.summary[["Dr", "Df", "forget_acc", "mia_entropy", "mia_loss_auc", "seconds"]]
report.glue("fc_head_auc", f"{head_s.loc['RTRN (head only, as coded)', 'mia_loss_auc']:.2f}")
report.glue("fc_fresh_auc", f"{head_s.loc['RTRN', 'mia_loss_auc']:.2f}")
report.glue(
    "fc_head_mia", report.pct(float(head_s.loc["RTRN (head only, as coded)", "mia_entropy"]))
)

# %% tags=["nbval-check-output"]
head_s.drop(columns="seconds").round(4)

# %% [markdown]
# Loss-attack AUC on the forget set against unseen samples of the same class: fresh retrain
# {glue:text}`fc_fresh_auc`, head-only {glue:text}`fc_head_auc` (0.5 = no signal). On these
# output-level metrics the head-only model is hard to tell from a true retrain, yet its backbone was
# trained on $D_f$: it is not exact unlearning, and the table's metrics are blind to what the
# features still encode. This is why the companion's RTRN is a fresh model.
#
# ## Ours against the paper
#
# The only full-class numbers available to us are the PinsFaceRecognition rows of a third-party copy
# of the paper's table and one JiT number quoted in an issue (CIFAR-100 rocket, $D_r$ =
# {glue:text}`paper_cifar100_full_class_rocket_JiT_Dr`); all live in `companion.reported.jit` with
# their source. In QUICK the comparison is an analogue (another dataset and model), so the useful
# question is whether the **ordering** of the methods agrees.

# %%
jt.compare_with_paper(result)

# %%
ranking = jt.ranking_agreement(result)
report.glue("fc_tau_Dr", f"{ranking.loc['Dr', 'Kendall tau']:.2f}")

# %% tags=["nbval-check-output"]
ranking.round(3)

# %% [markdown]
# Kendall's $\tau$ between the paper's and our $D_r$ ordering of the common methods is
# {glue:text}`fc_tau_Dr` (1 = same order).
#
# ## Summary and discrepancies
#
# - **JiT at QUICK scale.** With $(\sigma, \eta)$ chosen under a 5-point utility budget on the
#   validation split, JiT leaves $D_f$ = {glue:text}`fc_jit_Df` here, far from the paper's near-zero
#   full-class $D_f$. On the small 8×8 digit CNN no setting in the sweep forgets the class without
#   costing the other classes more than the budget: smoothing $f$ around the forget samples also
#   flattens it around nearby samples of other classes. We do not reproduce JiT's full-class result
#   at this scale; the FULL profile runs the paper's setting.
# - **RTRN.** The reference code's "retrain" resets only the classifier head and keeps a backbone
#   that was trained on $D_f$; the paper's RTRN rows inherit that. The companion's RTRN is a fresh
#   model; the head-only run above shows the reference behaviour (its entropy MIA:
#   {glue:text}`fc_head_mia`, its loss-attack AUC: {glue:text}`fc_head_auc`), which the table's
#   metrics do not separate from a true retrain. It is also slower in the paper's setting than a
#   head reset suggests: the whole network is trained again.
# - **SSD.** With the SSD paper's $(\lambda, \alpha) = (1, 10)$ our $D_r$ is {glue:text}`fc_ssd_Dr`;
#   the reference scripts pass $(1, 1)$ for full-class forgetting (a hard-coded dict overrides the
#   per-model values), which dampens even more parameters. The paper's own SSD row is low as well
#   ($D_r$ = {glue:text}`paper_pins_full_class_SSD_Dr` on Pins). In QUICK the damage is at least as
#   large: the importances are squared gradients of batch-mean losses, and a batch drawn from one
#   class has a coherent gradient, so on a ten-class problem most parameters look far more important
#   to $D_f$ than to $D$.
# - **SCRUB** receives $\alpha = 0.001, \gamma = 0.99$ in full-class forgetting because the main
#   never passes its arguments; it then behaves like fine-tuning with a short max phase and barely
#   forgets. The sub-class and random tables use $\alpha = 1, \gamma = 5$.
# - **GKT** re-initialises every convolution and relearns from generated data. FULL runs the
#   reference code's {glue:text}`fc_gkt_steps_full` student steps (pseudo-batches times student
#   steps per pseudo-batch); QUICK can afford {glue:text}`fc_gkt_steps_quick`, so the student stays
#   far below the original ($D_r$ = {glue:text}`fc_gkt_Dr`). This is a budget artefact, not a
#   finding.
# - **UNSIR / EMMN** use only 3 of their noise images in the reference code (a loop bound over the
#   channel dimension); the default here uses all of them, `noise_images="as_coded"` restores the
#   bug.
# - **BDSH** is not in the reference code; ours follows the original authors' settings (FGSM with
#   $\epsilon$ = 0.1, 10 epochs at lr $10^{-5}$ in FULL).
# - **MIA on Pins.** The reference code evaluates Pins on its training images (no split), so the
#   paper's Pins MIA (BSLN: {glue:text}`paper_pins_full_class_BSLN_MIA`) is degenerate. It is **not
#   comparable** with this run's BSLN MIA ({glue:text}`fc_bsln_mia_entropy`, another dataset in
#   QUICK); the like-for-like check is a FULL run with `TASK="pins"`, which uses a seeded split.
# - **Runtime** in the reference code includes the metric computation; ours does not.
# - **Pretraining.** The reference code keeps the checkpoint with the best *test* accuracy; the
#   companion keeps the last epoch of the paper's recipe (no selection on reported data).
# - **Models.** The paper's ViT rows need ImageNet-pretrained weights the companion does not fetch,
#   so the reference code's ViT bug (GKT's activation path applies every block to the embeddings,
#   {ref}`jit-gkt-budget`) does not arise here. The reference code has no JiT hyperparameters for
#   ResNet-18 (`-net ResNet18` raises NameError); `ARCH="resnet18"` runs it with the VGG settings.
#
# ## Exercises
#
# 1. Re-run the chapter with `JIT_FORGET="class:8"`. Does the ordering of the methods change?
# 2. Run JiT's validation sweep (`jit_validation.jit_validation_sweep("full_class")`) and check
#    which $(\sigma, \eta)$ it selects. Why must the selection use the validation split?
# 3. SSD: sweep `selection_weighting` over 10, 30, 100, 300 and plot $D_r$ and $D_f$.
#
# ```{admonition} Solutions
# :class: dropdown
# 1. `JIT_FORGET` is validated against the chapter's kind; the ordering of RTRN, FNTN and AMN (near
#    retraining) against BSLN and the zero-shot methods is stable, while SSD and GKT depend on the
#    class because their damage depends on how distinct the class's gradients are.
# 2. It returns a DataFrame sorted by the forgotten class's validation accuracy among the settings
#    whose retained-class validation accuracy stays within 5 points of the original's (the utility
#    budget); the top row is the setting the QUICK tables use. On the QUICK model JiT's trade-off is
#    sharp: settings that forget the class also cost far more than 5 points on the others. Choosing
#    on the test split would report a tuned number as a held-out one (the companion selects on
#    validation only, {ref}`jit-paper-lr`; the reference code even selects its pretraining
#    checkpoints on test).
# 3. `methods.unlearn("ssd", model, task, selection_weighting=a)`: larger $\alpha$ selects fewer
#    parameters, so $D_r$ recovers, and $D_f$ rises back once the class's own weights are no longer
#    selected.
# ```
#
# ```{bibliography}
# :filter: docname in docnames
# ```
