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
# # Performance: the package against its baselines
#
# The papers make claims about speed, and so does this companion: that it trains many models at
# once rather than one by one, that its JiT is at least as fast as the authors' code and close to
# the least work the algorithm needs, that its defaults do not lose an order of magnitude on a
# small machine. This page measures those claims on the machine that built it, with
# `python -m companion bench` (`companion.bench`): each row times two ways of doing the same work,
# alternating them (one warm-up round, then the best of the timed rounds), and reports the
# baseline's time over ours, with the largest difference between the two results and the tolerance
# it must stay within. On a shared machine only such ratios mean anything; the seconds are context.
#
# This page answers:
#
# 1. Is JiT as fast as a from-scratch transcription of the reference code's update, and how close
#    is it to the floor of (N+1) forward passes and one backward pass, for several N?
# 2. How much faster is training K models at once than one by one, for a tiny and an MLP network?
# 3. What share of the machine's matmul rate does training reach, one model and an ensemble?
# 4. How long does each unlearning method take against retraining on the same task?
# 5. How does JiT's cost grow with the forget set, the width of the network and N (log-log slope)?
#
# QUICK runs every row at small sizes (one forget batch size, K = 8, N up to 25, one timed round:
# the command's `--quick`); FULL runs the performance issue's sizes (K in {8, 32, 128}, N in
# {5, 25, 100}, three timed rounds). A run of the full table on a lent H200 GPU is committed and
# shown at the end.

# %%
import json

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
import numpy as np
import pandas as pd

from companion import bench, config, paper_scale, report
from companion.plotting import house_style

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""

# %%
ctx = config.resolve(PROFILE, SEED, DEVICE, DATA_ROOT)
print(report.banner(ctx))
ROUNDS = 1 if ctx.quick else 3
result = bench.run(ROUNDS, quick=ctx.quick, device=ctx.device)


def case(r: dict) -> str:
    """What a row compares, without the machine-dependent parts of its setting."""
    if r["benchmark"] == "ensemble":
        return f"K={r['K']} {r['arch']}"
    if r["benchmark"] in ("jit_reference", "jit_floor"):
        return f"{r['arch']}, N={r['N']}"
    if r["benchmark"] == "methods":
        return r["method"]
    if r["benchmark"] == "jit_chunk":
        return r["arch"]
    return "1 thread vs every core"


timed = pd.DataFrame([r | {"case": case(r)} for r in result["rows"] if "speedup" in r])
flops = {r["benchmark"]: r for r in result["rows"] if "gflops" in r}
cost = {r["benchmark"]: r for r in result["rows"] if "slope" in r}
exact = timed[timed.benchmark != "ensemble"]
if not exact["same"].all():
    raise AssertionError("JiT, the methods and the thread rows must do the same work each way")
ens_same = timed[timed.benchmark == "ensemble"]["same"]
report.glue("perf_n_exact", len(exact))
report.glue("perf_n_ens", len(ens_same))
report.glue("perf_n_ens_same", int(ens_same.sum()))
report.glue("perf_rounds", ROUNDS)
report.glue("perf_cores", result["machine"]["cpu_count"])
report.glue("perf_n_methods", int((timed.benchmark == "methods").sum()))

# %% [markdown]
# What each row compares, and that both sides did the same work (re-execution checks this table):
# JiT's rows compare parameters after the update (JiT against the transcription) and the number of
# rows pushed through the network (JiT against the floor); the ensemble rows the logits of the K
# trained models; the method rows the model of the first and the last round (same seed, so every
# round did the same work).

# %% tags=["nbval-check-output"]
same = timed.assign(**{"same work": timed["same"].map({True: "yes", False: "no"})})
same.set_index(["benchmark", "case"])[["same work"]]

# %% [markdown]
# The timings of this build, best of {glue:}`perf_rounds` round(s) on {glue:}`perf_cores`
# core(s):

# %%
timed.set_index(["benchmark", "case"])[["ours_s", "baseline_s", "speedup", "same_result"]].round(4)

# %%
jit_ref = timed[timed.benchmark == "jit_reference"]
jit_floor = timed[timed.benchmark == "jit_floor"]
ens = timed[timed.benchmark == "ensemble"]
meth = timed[timed.benchmark == "methods"].sort_values("speedup")
report.glue("perf_jit_vs_ref_min", float(jit_ref.speedup.min()))
report.glue("perf_jit_vs_ref_max", float(jit_ref.speedup.max()))
report.glue("perf_jit_over_floor_max", float((1 / jit_floor.speedup).max()))
report.glue("perf_jit_max_param_gap", float(jit_ref.difference.max()))
report.glue("perf_ens_best", float(ens.speedup.max()))
report.glue("perf_ens_best_case", ens.loc[ens.speedup.idxmax(), "case"])
report.glue("perf_ens_max_gap", float(ens.difference.max()))
report.glue("perf_jit_vs_retrain", float(meth.set_index("case").loc["jit", "speedup"]))
report.glue("perf_n_faster_than_retrain", int((meth.speedup > 1).sum()))


def log_ticks(axis) -> None:
    """Plain tick labels at 1, 2 and 5 times the powers of ten on a log axis."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


with house_style():
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1, 1.2]})
    for ax, part, title in (
        (axes[0], pd.concat([jit_ref, jit_floor]), "JiT against the reference and the floor"),
        (axes[1], ens, "K models at once against one by one"),
        (axes[2], meth[meth.case != "original"], "each method against retrain"),
    ):
        labels = [
            f"{b.replace('jit_', '')}: {c}" if ax is axes[0] else c
            for b, c in zip(part.benchmark, part.case)
        ]
        ax.barh(labels, part.speedup, color=["C2" if v >= 1 else "C3" for v in part.speedup])
        ax.axvline(1.0, color="k", lw=0.8, ls=":")
        ax.set_xscale("log")
        log_ticks(ax.xaxis)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    axes[1].set_xlabel(
        "baseline time / our time (log scale; right of the dotted line: ours faster)"
    )
    fig.tight_layout()
report.glue("perf_fig", fig, display=False)

# %% [markdown]
# ```{glue:figure} perf_fig
# :name: perf-fig
# Speed-up of each timed row in this build (green: ours faster than the baseline; red: slower).
# Left: JiT against the transcription of the reference update ("reference") and against the floor
# of (N+1) forwards and one backward ("floor"), where a bar at 1 would mean JiT does nothing but the
# floor's work. Middle: the ensemble trainer. Right: each method's time against retraining
# (`original`, which does nothing, left out).
# ```
#
# All {glue:}`perf_n_exact` timed pairs of JiT, the methods and the thread policy did the same
# work each way, and {glue:}`perf_n_ens_same` of the {glue:}`perf_n_ens` ensemble rows trained
# the same models to within the row's tolerance (1e-4 in the logits). JiT's update equals the
# transcription of the reference code's (largest parameter difference
# {glue:text}`perf_jit_max_param_gap:.1e`) and ran {glue:text}`perf_jit_vs_ref_min:.2f` to
# {glue:text}`perf_jit_vs_ref_max:.2f` times as fast as it here. Against the floor JiT took up to
# {glue:text}`perf_jit_over_floor_max:.2f` times as long: the floor's perturbed inputs are drawn
# beforehand, while JiT draws N Gaussian images per forget image, clamps them and takes the norms,
# work the floor does not count and that is not small next to the forward pass of a network this
# small. The target (JiT within 1.1 times the floor) is reported here, not asserted.
# Training K models at once ran up to
# {glue:text}`perf_ens_best:.2f` times as fast as one by one ({glue:text}`perf_ens_best_case`),
# (largest logit difference {glue:text}`perf_ens_max_gap:.1e`). The two ways sum in different
# orders, and Adam divides each gradient by its own running size, so where a gradient is all but
# zero a rounding difference can flip the sign of a whole step of size lr; a row over its
# tolerance is therefore reported with its difference, not hidden. On this small
# task JiT ran {glue:text}`perf_jit_vs_retrain:.1f` times as fast as retraining, and
# {glue:text}`perf_n_faster_than_retrain` of the {glue:text}`perf_n_methods` methods timed were
# faster than retraining.
#
# ## How close training comes to the machine's matmul rate

# %%
fl = pd.DataFrame(flops.values()).set_index("benchmark")
report.glue("perf_share_fit", fl.loc["fit_flops", "share_of_ceiling"])
report.glue("perf_share_ens", fl.loc["ensemble_flops", "share_of_ceiling"])
report.glue("perf_ceiling", fl.loc["fit_flops", "matmul_ceiling_gflops"])
if not (fl["share_of_ceiling"] < 0.5).all():
    raise AssertionError("small networks reach well under half the matmul rate")
fl[["setting", "gflops", "matmul_ceiling_gflops", "share_of_ceiling"]].round(3)

# %% [markdown]
# Counting six multiply-adds' worth of useful work per example and weight (forward, and backward
# through activations and weights), `fit` of one MLP reached {glue:text}`perf_share_fit:.1%` of
# the float32 matmul rate measured in the same run ({glue:text}`perf_ceiling:.0f` GFLOP/s) and the
# ensemble trainer {glue:text}`perf_share_ens:.1%`. A network this small is bound by overhead per
# step, not by arithmetic, which is why the thread policy and training many models at once are
# where the speed comes from.
#
# ## Cost as the work grows

# %%
slopes = {k: r["slope"] for k, r in cost.items()}
for k, v in slopes.items():
    report.glue(f"perf_slope_{k.removeprefix('cost_')}", v)
if not all(np.isfinite(v) for v in slopes.values()):
    raise AssertionError("every cost curve must give a finite slope")
if not slopes["cost_forget"] > 0:
    raise AssertionError("JiT's time grows with the forget set")
with house_style():
    fig2, axes = plt.subplots(1, 3, figsize=(10, 3.0))
    for ax, r in zip(axes, cost.values()):
        n, t = np.array(r["sizes"], float), np.array(r["seconds"])
        ax.loglog(n, t, "o-", color="C0", label="measured")
        fit_t = np.exp(np.log(t).mean() + r["slope"] * (np.log(n) - np.log(n).mean()))
        ax.loglog(n, fit_t, "--", color="C1", label=f"slope {r['slope']:.2f}")
        ax.loglog(n, t[0] * n / n[0], ":", color="0.5", lw=0.8, label="slope 1")
        ax.set_xlabel(r["size"])
        log_ticks(ax.xaxis)
        log_ticks(ax.yaxis)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("seconds per JiT pass")
    fig2.tight_layout()
report.glue("perf_cost_fig", fig2, display=False)

# %% [markdown]
# ```{glue:figure} perf_cost_fig
# :name: perf-cost-fig
# Time of one JiT pass as the forget set, the hidden width of a 784-w-10 MLP and the number of
# perturbations N grow (log-log), with the least-squares line through the points and a slope-1
# guide. A slope of 1 means cost in proportion to the work; below 1, a fixed overhead per step
# still dominates.
# ```
#
# In this build the fitted exponents were {glue:text}`perf_slope_forget:.2f` in the forget-set size,
# {glue:text}`perf_slope_width:.2f` in the width and {glue:text}`perf_slope_n:.2f` in N. JiT takes
# one step per forget batch, so its cost grows with the forget set; width and N enter through the
# size of each forward pass, against a fixed cost per step that weighs more the smaller the pass
# (a slope below 1). The slopes rest on a handful of points timed once on a shared machine; the
# FULL run times more points, three times each.
#
# ## The same table on a GPU
#
# `benchmarks/gpu_bench.sh` runs `python -m companion bench --device cuda` at the sizes
# (TF32 off, so that both sides of each row compute in float32); a run on a lent H200 is committed
# under `results/gpu/`:

# %% tags=["nbval-check-output"]
committed = sorted((paper_scale.results_dir() / "gpu").glob("bench_*.json"))
gpu_rows = []
for f in committed:
    res = json.loads(f.read_text())
    for r in res["rows"]:
        if "speedup" in r and r["benchmark"] in ("ensemble", "jit_reference", "jit_floor"):
            gpu_rows.append(
                {
                    "device": res["machine"]["device_name"],
                    "benchmark": r["benchmark"],
                    "case": case(r),
                    "speed-up": round(r["speedup"], 1),
                    "same work": "yes" if r["same"] else "no",
                }
            )
gpu_bench = pd.DataFrame(gpu_rows)
report.glue("perf_n_gpu_bench", len(committed))
if len(gpu_bench):
    k128 = gpu_bench[(gpu_bench.benchmark == "ensemble") & (gpu_bench.case == "K=128 tiny_mlp")]
    ref = gpu_bench[gpu_bench.benchmark == "jit_reference"]
    if not ((gpu_bench["same work"] == "yes").all() and (k128["speed-up"] >= 10).all()):
        raise AssertionError("the committed GPU run did the same work and met the K=128 target")
    if not (ref["speed-up"] >= 1).all():
        raise AssertionError("on the GPU JiT is at least as fast as the reference update")
    for dev_arch, part in gpu_bench[gpu_bench.benchmark == "ensemble"].groupby(["device"]):
        for arch in ("tiny_mlp", "mlp"):
            by_k = part[part.case.str.endswith(f" {arch}")]
            by_k = by_k.assign(K=by_k.case.str.extract(r"K=(\d+)")[0].astype(int)).sort_values("K")
            if not by_k["speed-up"].is_monotonic_increasing:
                raise AssertionError(f"{dev_arch} {arch}: the gain of the ensemble grows with K")
    report.glue("perf_gpu_k128", float(k128["speed-up"].min()))
    report.glue("perf_gpu_ref_max", float(ref["speed-up"].max()))
gpu_bench.set_index(["device", "benchmark", "case"]) if len(gpu_bench) else gpu_bench

# %% [markdown]
# {glue:}`perf_n_gpu_bench` committed GPU bench run(s). There, with the N perturbations of a batch
# in one forward pass, JiT ran up to {glue:text}`perf_gpu_ref_max:.1f` times as fast as the
# reference update (which loops over N), and K = 128 tiny networks trained at once
# {glue:text}`perf_gpu_k128:.1f` times as fast as one by one, past the target of 10.
#
# ## Recorded runs and GPU measurements
#
# Wall time of every committed FULL record, with the device it ran on (read from the records), and
# the timings measured on lent GPUs (`results/gpu/`):

# %% tags=["nbval-check-output"]
recorded = pd.DataFrame(
    [
        {
            "chapter": rec["notebook"],
            "device": rec["provenance"].get("device_name", rec["provenance"].get("device")),
            "minutes": round(rec["provenance"]["wall_seconds"] / 60, 1),
        }
        for _, rec in paper_scale.full_records()
    ]
).set_index("chapter")
recorded

# %% tags=["nbval-check-output"]
gpu = paper_scale.gpu_measurements()
report.glue("perf_n_gpu", len(gpu))
gpu.set_index(["device", "stage"])[["seconds"]] if len(gpu) else gpu

# %% [markdown]
# {glue:}`perf_n_gpu` GPU timings are committed. On the GPU the stacked engines pay off (the
# certified curves and the ensemble trainer), while a one-model training loop of a small network
# waits on the host and runs no faster than one CPU core; the status page says what ran where.
#
# ## GPU paths
#
# `benchmarks/gpu_paths.py` times each GPU option of the package against its baseline on the
# paper's CIFAR-sized networks (random images, the same seeds both ways): TF32 matmuls against
# float32 in `fit`, bf16 autocast of JiT's perturbed forwards against float32 (after the safety
# check that refuses bf16 where its rounding is a large share of the output change), channels-last
# against NCHW, the measured chunk against the earlier fixed rule, and the number of host
# synchronisations in one JiT pass. A run on a lent H200 is committed under `results/gpu/`; its
# `torch.compile` rows did not finish within the run's time limit, so compilation is still
# unmeasured on a GPU.

# %% tags=["nbval-check-output"]
paths, syncs = paper_scale.gpu_paths()
report.glue("perf_n_gpu_paths", len(paths))
if len(paths):
    best = paths.groupby("row")["speed-up"].max()
    report.glue("perf_tf32_best", float(best["tf32"]))
    report.glue("perf_cl_best", float(best["channels_last"]))
    report.glue("perf_bf16_best", float(best["jit_bf16"]))
    report.glue("perf_syncs_max", max(r["count"] / r["steps"] for r in syncs))
    reduced = paths[paths.row.isin(["tf32", "jit_bf16"])]
    if not (reduced["largest parameter difference"] > 0).all():
        raise AssertionError("TF32 and bf16 change the trained parameters")
paths.set_index(["device", "row", "work"]) if len(paths) else paths

# %% [markdown]
# On the H200, TF32 trained up to {glue:text}`perf_tf32_best:.2f` times as fast as float32 and
# channels-last up to {glue:text}`perf_cl_best:.2f` times as fast as NCHW; bf16 made a JiT pass at
# most {glue:text}`perf_bf16_best:.2f` times as fast. Reduced precision changes the result: the
# parameter differences above are float32 against TF32 or bf16 after a few steps, so both are
# options with a recorded setting, and bf16 is off by default. One JiT pass still synchronised
# with the host up to {glue:text}`perf_syncs_max:.0f` times per step, as counted by torch's
# synchronisation debug mode.
#
# ## Summary
#
# - **JiT against the reference code and the floor.** Settled: JiT's update is the reference
#   code's (same parameters to float rounding) and, batching its perturbations, faster on the GPU
#   run committed here; on a loaded CPU the ratio varies from run to run. Not settled: the
#   1.1x-of-the-floor target, which the noise JiT draws stands between for networks this small;
#   larger networks (VGG, ViT) were not timed here.
# - **Ensembles.** Settled: K models at once give the same models as K `fit` runs to float
#   rounding, which Adam can amplify to a step's size for a parameter whose gradient is all but
#   zero; the gain grows with K on the committed GPU run, where the K = 128 target is met. Not
#   settled: how often that amplification happens (each row reports its largest difference). On
#   a shared CPU the gain varies with the load.
# - **FLOP rate.** Small networks reach a small share of the matmul rate; they are overhead-bound.
# - **Methods against retrain.** Measured on one small QUICK task; the ratios depend on each
#   method's QUICK schedule and say nothing about the full-size settings of the papers.
# - **Cost as the work grows.** JiT's cost grows with the forget set; the slopes in width and N
#   come from few points on a loaded machine and are indicative only.
# - **GPU paths.** Measured once on a lent H200: TF32, channels-last and bf16 each against their
#   baseline, with the parameter differences they cause. Not settled: `torch.compile` on a GPU
#   (its rows did not finish within the run's limit) and the gains on networks larger than VGG-11
#   and ResNet-18.
# - Every timed row is checked to do the same work as its baseline, in the same run, and the
#   differences are reported with the speed-ups.
