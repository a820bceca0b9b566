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
# # Random forgetting: 100 samples, where the target is retraining
#
# The third kind of forgetting in Foster et al. {cite}`foster2025jit` removes a random handful of
# training samples. A retrained model still classifies them about as well as any unseen sample, and
# an attacker still calls many of them "members" (their entropy looks like training data's). So the
# goal is to **match the retrained model**, not to drive accuracy or the MIA to zero.
#
# **This page reproduces**
# - the random-forgetting table of {cite}`foster2025jit` (CIFAR-10, 100 random training samples,
#   VGG in FULL): $D_r$ (full test accuracy), $D_f$ (accuracy on the forgotten samples), the entropy
#   MIA and runtime over seeds;
# - every baseline the reference random script would run (no UNSIR, GKT or EMMN: they need a forget
#   class), plus GA, GradDiff and NPO;
# - the gap of each method to retraining, the right reading of this table.

# %%
import pandas as pd

from companion import config, data, report
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
    "random", PROFILE, SEED, DEVICE, DATA_ROOT, N_SEEDS, TASK, ARCH, JIT_FORGET
)
ctx, SETTING, SEEDS = CHAPTER.ctx, CHAPTER.setting, CHAPTER.seeds
print(CHAPTER.banner)

# %% [markdown]
# ## The setting
#
# ```{prf:definition} Random forgetting
# :label: jit-def-random
# $D_f$ is a uniformly random subset of $N$ training samples (drawn with the seed), $D_r$ the rest.
# $D_r$ in the table is the full test accuracy and $D_f$ the accuracy **on the forgotten training
# samples themselves**. A method is good when $D_f$ and the MIA are close to a retrained model's.
# ```
#
# The paper says 100 samples; the reference code takes `random_split(trainset, [0.00165, ...])`,
# which is 83 images of CIFAR-10. The companion forgets exactly $N$ (100 by default). On the QUICK
# digits, the forget set is {glue:text}`rf_share` of the training set instead of 0.2 %, so each
# sample matters more than in the paper.
#
# ## A numerical check of the split

# %%
task = data.load_task(SETTING["task"], forget=SETTING["forget"], seed=SEED, data_root=ctx.data_root)
n = int(SETTING["forget"].split(":")[1])
fi, ri = set(task.forget.index.tolist()), set(task.retain.index.tolist())
assert len(fi) == n and not fi & ri and fi | ri == set(task.train.index.tolist())
other = data.load_task(
    SETTING["task"], forget=SETTING["forget"], seed=SEED + 1, data_root=ctx.data_root
)
assert set(other.forget.index.tolist()) != fi  # the seed draws the forget set
report.glue("rf_share", report.pct(n / len(task.train)))
print(task.describe())

# %% [markdown]
# ## The experiment

# %%
result = jt.run_table(
    "random", ctx.profile, SEEDS, ctx.device, TASK, ARCH, JIT_FORGET, data_root=ctx.data_root
)
table = jt.display_table(result)
table

# %% tags=["nbval-check-output"]
table.drop(columns=["time (s)", "speed-up vs RTRN"])  # the results without the timings

# %%
s = result.summary
gaps = pd.DataFrame({m: jt.gap_to_retrain(result, m) for m in ("Df", "MIA")})
gaps["mean gap"] = gaps.mean(axis=1)
gaps = gaps.sort_values("mean gap")
for label, key in [
    ("JiT", "jit"),
    ("RTRN", "rtrn"),
    ("BSLN", "bsln"),
    ("BDSH", "bdsh"),
    ("JiT (as coded)", "jitc"),
]:
    for col in ("Dr", "Df", "mia_entropy"):
        report.glue(f"rf_{key}_{col}", report.pct(float(s.loc[label, col])))
report.glue("rf_jit_speedup", f"{s.loc['JiT', 'speedup']:.0f}")
report.glue("rf_heldout", report.pct(float(s.loc["RTRN", "mia_entropy_heldout"])))
report.glue("rf_closest", ", ".join(gaps.index.drop("RTRN")[:3]))
# the summary's reading of the two JiT rows, checked on this run
assert s.loc["JiT (as coded)", "Dr"] < s.loc["BSLN", "Dr"] - 0.1, (
    "JiT as coded should collapse the QUICK model"
)
assert abs(s.loc["JiT", "Dr"] - s.loc["BSLN", "Dr"]) < 0.05, (
    "the paper variant should stay close to the original"
)
for key in ("RTRN/MIA", "JiT/MIA"):
    report.glue(
        "paper_rf_" + key.replace("/", "_"), report.pct(get(f"jit:cifar10_random100/{key}").value)
    )

# %% tags=["nbval-check-output"]
gaps.map(lambda v: f"{100 * v:.1f}")

# %%
fig = pj.table_figure(result.summary, f"Random forgetting ({SETTING['task']}, {SETTING['forget']})")
report.glue("rf_figure", fig, display=False)

# %% [markdown]
# ```{glue:figure} rf_figure
# :name: jit-fig-random
# $D_r$, $D_f$ and the entropy MIA on random forgetting (mean and standard deviation over seeds).
# Read every bar against RTRN's.
# ```
#
# ## Reading the table
#
# The retrained model classifies the forgotten samples at $D_f$ = {glue:text}`rf_rtrn_Df` and the
# MIA still calls {glue:text}`rf_rtrn_mia_entropy` of them members (for comparison, it calls
# {glue:text}`rf_heldout` of the held-out test samples members). The original is at
# $D_f$ = {glue:text}`rf_bsln_Df`, MIA = {glue:text}`rf_bsln_mia_entropy`: random forgetting is a
# small signal, and the methods closest to retraining on $D_f$ and MIA together are
# {glue:text}`rf_closest`.
#
# JiT gives $D_r$ = {glue:text}`rf_jit_Dr`, $D_f$ = {glue:text}`rf_jit_Df`,
# MIA = {glue:text}`rf_jit_mia_entropy`, about {glue:text}`rf_jit_speedup` times faster than
# retraining; as coded (reference $\sigma$ = 0.01) it gives $D_f$ = {glue:text}`rf_jitc_Df`.
#
# ## Ours against the paper
#
# The random-forgetting numbers we have are a third-party copy of the paper's CIFAR-10 rows (BSLN,
# RTRN, BDSH, JiT; the review suggests the model is a ViT; {ref}`jit-review-numbers`). In QUICK the
# comparison is an analogue.

# %%
jt.compare_with_paper(result)

# %% tags=["nbval-check-output"]
jt.ranking_agreement(result).round(3)

# %% [markdown]
# ## Summary and discrepancies
#
# - **Target.** The paper's JiT MIA ({glue:text}`paper_rf_JiT_MIA`) is *below* RTRN's
#   ({glue:text}`paper_rf_RTRN_MIA`); read as a gap, that is over-forgetting of the same size as
#   BDSH's, not a win. The companion's tables report the gap to RTRN explicitly.
# - **JiT as coded** with the reference random-forgetting setting ($\sigma$ = 0.01) collapses the
#   QUICK model ($D_r$ = {glue:text}`rf_jitc_Dr` against the original's {glue:text}`rf_bsln_Dr`): at
#   $\sigma$ = 0.01 the gradient of the ratio (through $f(x)$ only) scales like $1/\sigma$, and the
#   summed batch loss multiplies the step (chapter 4 gives the arithmetic). The paper variant stays
#   close to the original ($D_r$ = {glue:text}`rf_jit_Dr`; both asserted), which for 100 random
#   samples is already close to RTRN.
# - **The reference random script cannot run as shipped**: it imports `label_guided_ssd` and
#   `label_free_ssd`, which are not in the repository. The paper's random-forgetting numbers were
#   produced by code that is not public; ours run SSD with the random-forgetting $(\lambda, \alpha)$
#   the script would pass (row "SSD (as coded)") and the SSD paper's.
# - **83 vs 100 samples**: the code forgets 0.165 % of CIFAR-10 (83 images); the paper and the
#   companion forget 100.
# - **Accumulated gradients** in the reference JiT make no difference here when the forget set fits
#   in one batch (CIFAR-10: 83 or 100 samples, batch 128), unlike the class tables.
# - **MIA baseline.** With only $N$ forget samples the MIA's spread over seeds is large; the
#   standard deviations in the table are part of the result.
#
# ## Exercises
#
# 1. Re-run with `JIT_FORGET="random:20"` (the ratio-matched size is about 2 samples on digits).
#    Which gaps to RTRN shrink?
# 2. Why can a method beat RTRN's MIA and still be a worse unlearner?
#
# ```{admonition} Solutions
# :class: dropdown
# 1. With fewer forgotten samples the original and the retrained model differ less, so every
#    method's gap to RTRN shrinks, and the spread over seeds grows relative to it.
# 2. An unlearned model should be indistinguishable from a retrained one. A forget set whose
#    member rate is far *below* the retrained model's is itself a signal (the Streisand effect):
#    an attacker comparing with retrained shadow models would detect it.
# ```
#
# ```{bibliography}
# :filter: docname in docnames
# ```
