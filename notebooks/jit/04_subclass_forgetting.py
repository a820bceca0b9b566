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
# # Sub-class forgetting: one fine class inside a superclass
#
# The second kind of forgetting in Foster et al. {cite}`foster2025jit` is harder to judge: the
# model predicts **superclasses**, and one fine class inside a superclass is forgotten. Its siblings
# stay, so a retrained model still labels many forgotten images with the right superclass by
# generalisation, and "forgetting" no longer means $D_f = 0$.
#
# **This page reproduces**
# - the sub-class forgetting table of {cite}`foster2025jit` (CIFAR-20 model, forget the fine class
#   "rocket" of superclass "vehicles 2", VGG in FULL): $D_r$, $D_f$, MIA, runtime over seeds;
# - every baseline the reference sub-class script runs (all but GKT and EMMN), with SSD and SCRUB at
#   the sub-class settings the script passes, plus the extra baselines GA, GradDiff and NPO.

# %%
import pandas as pd

from companion import config, data, report
from companion.reported import get
from companion.data.tasks import DIGIT_SUPERCLASS_NAMES, DIGIT_TO_SUPER
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
    "subclass", PROFILE, SEED, DEVICE, DATA_ROOT, N_SEEDS, TASK, ARCH, JIT_FORGET
)
ctx, SETTING, SEEDS = CHAPTER.ctx, CHAPTER.setting, CHAPTER.seeds
print(CHAPTER.banner)

# %% [markdown]
# ## The setting
#
# ```{prf:definition} Sub-class forgetting
# :label: jit-def-subclass
# Labels are superclasses $s(c)$ of fine classes $c$. The forget set $D_f$ holds every training
# sample of one fine class $c^\star$; the retain set keeps its siblings $\{c : s(c) = s(c^\star),
# c \ne c^\star\}$. $D_r$ is the (superclass) test accuracy on all other fine classes, siblings
# included, and $D_f$ the superclass test accuracy on the images of $c^\star$.
# ```
#
# In FULL the superclasses are CIFAR-100's twenty coarse labels and $c^\star$ is "rocket" (69), one
# of five fine classes of "vehicles 2". QUICK uses a documented shape grouping of the ten digits
# into three superclasses and forgets one digit:

# %%
groups = pd.DataFrame(
    {
        "superclass": DIGIT_SUPERCLASS_NAMES,
        "digits": [sorted(int(d) for d in (DIGIT_TO_SUPER == k).nonzero()[0]) for k in range(3)],
    }
)
groups

# %% [markdown]
# ## A numerical check of the split
#
# The statements the table relies on: $D_f$ is exactly the fine class $c^\star$ (all with one
# superclass label), the retain set never contains it but keeps its siblings, so a model retrained
# on $D_r$ has never seen a forget sample.

# %%
task = data.load_task(SETTING["task"], forget=SETTING["forget"], seed=SEED, data_root=ctx.data_root)
star = int(SETTING["forget"].split(":")[1])
assert set(task.forget.fine.tolist()) == {star} and len(set(task.forget.y.tolist())) == 1
assert star not in set(task.retain.fine.tolist())
siblings = set(task.retain.fine[task.retain.y == task.forget.y[0]].tolist())
assert siblings and star not in siblings
assert len(task.retain) + len(task.forget) == len(task.train)
print(
    f"forget fine class {star} (superclass {int(task.forget.y[0])}); siblings kept: "
    f"{sorted(siblings)}"
)
print(task.describe())

# %% [markdown]
# ## The experiment

# %%
result = jt.run_table(
    "subclass", ctx.profile, SEEDS, ctx.device, TASK, ARCH, JIT_FORGET, data_root=ctx.data_root
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
    ("BDSH", "bdsh"),
    ("SSD", "ssd"),
    ("JiT (as coded)", "jitc"),
]:
    for col in ("Dr", "Df", "mia_entropy"):
        report.glue(f"sc_{key}_{col}", report.pct(float(s.loc[label, col])))
report.glue("sc_jit_speedup", f"{s.loc['JiT', 'speedup']:.0f}")
report.glue("sc_n_forget", result.setting["n_forget"])
for key in ("RTRN/Df", "JiT/Df"):
    report.glue(
        "paper_sc_" + key.replace("/", "_"),
        report.pct(get(f"jit:cifar20_subclass_rocket/{key}").value),
    )
gap = jt.gap_to_retrain(result, "Df")
report.glue("sc_closest_Df", ", ".join(i for i in gap.index[1:4]))
fig = pj.table_figure(
    result.summary, f"Sub-class forgetting ({SETTING['task']}, {SETTING['forget']})"
)
report.glue("sc_figure", fig, display=False)
report.glue("sc_jitc_drop", report.pct(float(s.loc["BSLN", "Dr"] - s.loc["JiT (as coded)", "Dr"])))
# the summary's two readings of JiT, checked on this run
assert s.loc["JiT (as coded)", "Dr"] < s.loc["BSLN", "Dr"], (
    "JiT as coded should cost retained accuracy"
)
assert s.loc["JiT", "Df"] > s.loc["RTRN", "Df"], (
    "the paper variant should leave D_f above retraining's"
)

# %% [markdown]
# ```{glue:figure} sc_figure
# :name: jit-fig-subclass
# $D_r$, $D_f$ and the entropy MIA of every method on sub-class forgetting (mean and standard
# deviation over seeds). The target is RTRN's bar, not zero.
# ```
#
# ## Reading the table
#
# The forget set holds {glue:}`sc_n_forget` training samples. Retraining leaves $D_f$ =
# {glue:text}`sc_rtrn_Df`: the siblings teach the retrained model the superclass of many forgotten
# images, just as the paper's retrained CIFAR-20 model still puts {glue:text}`paper_sc_RTRN_Df` of
# the rockets in "vehicles 2". The original is at $D_f$ = {glue:text}`sc_bsln_Df`.
#
# JiT reaches $D_r$ = {glue:text}`sc_jit_Dr`, $D_f$ = {glue:text}`sc_jit_Df`,
# MIA = {glue:text}`sc_jit_mia_entropy`, about {glue:text}`sc_jit_speedup` times faster than
# retraining. As coded (with the reference $\sigma$ = 0.01 for sub-class VGG): $D_r$ =
# {glue:text}`sc_jitc_Dr`, $D_f$ = {glue:text}`sc_jitc_Df`. The methods whose $D_f$ is closest to
# retraining's are {glue:text}`sc_closest_Df`.
#
# ## Ours against the paper
#
# The sub-class numbers we have are a third-party copy of the paper's **ViT** CIFAR-20 "rocket" rows
# (BSLN, RTRN, BDSH, JiT). Our FULL profile runs VGG (the ViT backbone needs pretrained weights the
# companion does not download), so even FULL compares across architectures; QUICK compares
# orderings.

# %%
jt.compare_with_paper(result)

# %% tags=["nbval-check-output"]
jt.ranking_agreement(result).round(3)

# %% [markdown]
# ## Summary and discrepancies
#
# - **The target is retraining, not zero.** A $D_f$ far below RTRN's (e.g. JiT's
#   {glue:text}`paper_sc_JiT_Df` in the paper's ViT row against RTRN's
#   {glue:text}`paper_sc_RTRN_Df`) means the method damaged the superclass for the forgotten images
#   more than retraining would; it is over-forgetting, and it is visible to an attacker who compares
#   with a retrained model.
# - **JiT as coded costs retained accuracy.** With the reference sub-class setting ($\sigma$ = 0.01,
#   $\eta$ = 3·10⁻⁴, loss summed over the batch, gradients accumulated) its $D_r$ falls to
#   {glue:text}`sc_jitc_Dr`, {glue:text}`sc_jitc_drop` below the original's (asserted). The ratio
#   itself stays near the local Jacobian norm as $\sigma \to 0$, but its gradient flows only through
#   $f(x)$ ($f(x')$ is a detached target): it is the unit vector from $f(x')$ to $f(x)$, pulled back
#   through $\partial f(x)/\partial\theta$, divided by $\lVert x - x' \rVert \approx
#   \sigma\sqrt{d}$, so it is fifty times larger at $\sigma$ = 0.01 than at 0.5. The summed,
#   accumulated loss multiplies the step again: the same mechanism as the collapse reported in the
#   reference repository's issue #1. The paper variant (mean, fresh gradients, eval mode) with
#   $(\sigma, \eta)$ chosen on validation keeps $D_r$ = {glue:text}`sc_jit_Dr` but leaves $D_f$ =
#   {glue:text}`sc_jit_Df`, above retraining's.
# - **SSD** uses $(\lambda, \alpha)$ = (1, 10) by default; the reference sub-class script passes
#   (6, 5) for VGG (row "SSD (as coded)").
# - **SCRUB** runs with $\alpha = 1, \gamma = 5$ here (the scripts pass them for sub-class).
# - **BDSH** was not in the reference code; the paper's BDSH numbers come from elsewhere. Boundary
#   shrinking relabels each forget image with the superclass the original model predicts for its
#   FGSM-attacked copy (the authors' rule); where the attack fails that is the image's own
#   superclass, so $D_f$ falls only as far as the attack succeeds (the forced-wrong rule,
#   `label_rule="nearest_wrong"`, is an option and pushes $D_f$ towards 0).
# - **Seeds.** The reference sub-class script defaults to seed 42 (0 for the other tables); the
#   companion uses `SEED`, `SEED + 1`, ... for every table.
# - **MIA.** In sub-class forgetting the siblings keep the forgotten images' entropy low, so the
#   entropy MIA of a retrained model need not be near zero; compare with RTRN's row.
#
# ## Exercises
#
# 1. Forget a digit from another superclass (`JIT_FORGET="subclass:1"`, a "stroke"). Is RTRN's
#    $D_f$ higher or lower than for digit 8, and why?
# 2. Which methods over-forget (their $D_f$ is well below RTRN's)? Which of them are zero-shot?
#
# ```{admonition} Solutions
# :class: dropdown
# 1. RTRN's $D_f$ measures how well the siblings alone teach the superclass of the forgotten digit:
#    a digit that looks like its siblings (an 8 among the loops 0, 6, 9) keeps a high $D_f$ after
#    retraining; a digit unlike its siblings drops further. Run it and compare the RTRN rows.
# 2. Sort `jt.gap_to_retrain(result, "Df")` and look at the sign of `s.Df - s.loc["RTRN", "Df"]`.
#    Methods that train $D_f$ towards wrong labels or ascend its loss (AMN's random labels, GA) push
#    $D_f$ down by design; BDSH relabels with the attacked image's argmax, which for a sub-class is
#    often still a sibling in the same superclass, so it need not over-forget. GA and BDSH are
#    zero-shot; AMN uses the retain set.
# ```
#
# ```{bibliography}
# :filter: docname in docnames
# ```
