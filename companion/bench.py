"""``python -m companion bench``: the package's speed against its baselines, as ratios measured side
by side in one run, printed as one table and written as JSON.

Each timed row does the same work two ways on this machine, alternating them (round-robin, one
warm-up round, best of ``rounds``; :func:`~companion.bench_timing.best_of`), and reports the
baseline's time over ours (a speed-up above 1 means ours is faster) with the largest difference
between the two results and the tolerance it must stay within. The row groups:

* ``threads``, ``ensemble``, ``jit_chunk``, ``flops``, ``methods``: :mod:`companion.bench_rows`
  (the thread policy; K models at once against one by one for K in {8, 32, 128}; JiT's batched
  perturbations; achieved FLOP/s against the matmul ceiling; every method against retrain);
* ``jit_reference``: JiT against a from-scratch transcription of the reference code's update and
  against the floor of (N+1) forwards + 1 backward, N in {5, 25, 100} (:mod:`companion.bench_jit`);
* ``cost``: JiT's time against forget-set size, model width and N, with the log-log slope.

``quick=True`` runs every group at small sizes (tests, the performance appendix); the default runs
the sizes of the performance issue. ``device='cuda'`` times on a GPU (synchronising around every
clock read; the ``threads`` row is CPU-only and skipped there). Only ratios measured in the same
run mean anything on a shared machine; absolute seconds are context. Targets are reported, never
asserted.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Sequence

import torch

from . import __version__, data
from .bench_jit import bench_cost, bench_jit_reference
from .bench_rows import (
    bench_ensemble,
    bench_flops,
    bench_jit_chunk,
    bench_methods,
    bench_threads,
    method_names,
)
from .bench_timing import best_of, loglog_slope, matmul_gflops, ratio_row  # noqa: F401
from .checks import bad_value
from .config import torch_device, use_tf32
from .records import atomic_write

#: The row groups, in the order they run.
GROUPS = ("threads", "ensemble", "jit_chunk", "jit_reference", "flops", "methods", "cost")

#: Methods the quick run leaves out: DP-SGD calibrates its noise with Opacus' accountant on every
#: call (about 6 s on the 2-core machine, as long as all the other methods together).
QUICK_SKIPS = ("dpsgd",)

#: The sizes each group runs at: ``full`` = the performance issue's, ``quick`` = small analogues.
SIZES: dict[str, dict[str, object]] = {
    "full": {
        "threads_n": 5000,
        "ensemble_ks": (8, 32, 128),
        "ensemble_pool": 500,
        "ensemble_epochs": 2,
        "jit_archs": ("mlp", "tiny_cnn"),
        "jit_ns": (5, 25, 100),
        "jit_batch": 128,
        "jit_batches": 2,
        "flops_n": 5000,
        "flops_k": 32,
        "flops_pool": 500,
        "methods_pool": 400,
        "cost_forget": (128, 256, 512, 1024, 2048),
        "cost_width": (64, 128, 256, 512, 1024, 2048),
        "cost_n": (5, 10, 25, 50, 100, 200),
    },
    "quick": {
        "threads_n": 500,
        "ensemble_ks": (8,),
        "ensemble_pool": 200,
        "ensemble_epochs": 1,
        "jit_archs": ("mlp",),
        "jit_ns": (5, 25),
        "jit_batch": 64,
        "jit_batches": 2,
        "flops_n": 1000,
        "flops_k": 8,
        "flops_pool": 200,
        "methods_pool": 400,
        "cost_forget": (64, 128, 256),
        "cost_width": (32, 128, 512),
        "cost_n": (5, 25, 100),
    },
}


def _groups(groups: Sequence[str] | None) -> tuple[str, ...]:
    if groups is None:
        return GROUPS
    if isinstance(groups, str) or not groups or any(g not in GROUPS for g in groups):
        raise bad_value("groups", groups, f"a non-empty selection of {GROUPS}")
    return tuple(g for g in GROUPS if g in groups)


def run(
    rounds: int = 3,
    quick: bool = False,
    device: str | torch.device = "cpu",
    groups: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
) -> dict:
    """Every selected row group once; returns ``{'machine', 'rows'}``.

    Parameters
    ----------
    rounds : int
        Timed rounds per row (best of, after one warm-up round), >= 1.
    quick : bool
        Small sizes (:data:`SIZES` ``['quick']``) instead of the issue's.
    device : str or torch.device
        'cpu' or a CUDA device (:func:`companion.config.torch_device`); TF32 is switched off for
        the run (exact float32 on both sides of every row; the matmul ceiling is float32's).
    groups : sequence of str, optional
        A selection of :data:`GROUPS` (None: all).
    methods : sequence of str, optional
        The methods the ``methods`` group compares with retrain (None: every data-point method,
        less :data:`QUICK_SKIPS` when ``quick``).
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise bad_value("rounds", rounds, "an integer >= 1")
    if not isinstance(quick, bool):
        raise bad_value("quick", quick, "True or False")
    dev = torch_device(device)
    chosen = _groups(groups)
    if methods is not None and (
        isinstance(methods, str) or not methods or any(m not in method_names() for m in methods)
    ):
        raise bad_value("methods", methods, f"a non-empty selection of {method_names()}")
    tf32 = use_tf32()
    use_tf32(False)  # CUDA: exact float32 matmuls, so that both ways of a row give the same result
    try:
        rows = _rows(SIZES["quick" if quick else "full"], rounds, quick, dev, chosen, methods)
    finally:
        use_tf32(tf32)
    machine = {
        "torch": torch.__version__,
        "companion": __version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev)
        if dev.type == "cuda"
        else (platform.processor() or "cpu"),
        "tf32": False,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rounds": rounds,
        "quick": quick,
        "groups": list(chosen),
    }
    return {"machine": machine, "rows": rows}


def _rows(s: dict, rounds: int, quick: bool, dev, chosen, methods) -> list[dict]:
    task = data.load_task("mnist5k", forget="class:3", seed=0)
    rows: list[dict] = []
    if "threads" in chosen and dev.type == "cpu":
        rows.append(bench_threads(task, rounds, s["threads_n"]))
    if "ensemble" in chosen:
        rows += bench_ensemble(
            task,
            rounds,
            s["ensemble_ks"],
            pool_size=s["ensemble_pool"],
            epochs=s["ensemble_epochs"],
            device=dev,
        )
    if "jit_chunk" in chosen:
        rows += bench_jit_chunk(rounds, device=dev)
    if "jit_reference" in chosen:
        xf = task.forget.tensors()[0]
        rows += bench_jit_reference(
            xf, s["jit_archs"], s["jit_ns"], s["jit_batch"], s["jit_batches"], rounds, dev
        )
    if "flops" in chosen:
        rows += bench_flops(task, rounds, s["flops_n"], s["flops_k"], s["flops_pool"], dev)
    if "methods" in chosen:
        if methods is None:
            methods = [n for n in method_names() if not (quick and n in QUICK_SKIPS)]
        rows += bench_methods(task, rounds, methods, s["methods_pool"], device=dev)
    if "cost" in chosen:
        xt = task.train.tensors()[0]
        rows += bench_cost(xt, s["cost_forget"], s["cost_width"], s["cost_n"], rounds, dev)
    return rows


def table(result: dict) -> str:
    """The rows as aligned text: timed pairs, FLOP rates, then cost curves with their slopes."""
    lines = [f"{'benchmark':14s} {'ours s':>9s} {'baseline s':>11s} {'speed-up':>9s}  setting"]
    for r in result["rows"]:
        if "speedup" in r:
            target = f"; target {r['target']}" if r.get("target") else ""
            lines.append(
                f"{r['benchmark']:14s} {r['ours_s']:9.4f} {r['baseline_s']:11.4f} "
                f"{r['speedup']:8.2f}x  {r['setting']} (vs {r['baseline']}; {r['same_result']}"
                f"{target})"
            )
        elif "gflops" in r:
            share = 100 * r["share_of_ceiling"]
            lines.append(
                f"{r['benchmark']:14s} {r['gflops']:9.2f} GFLOP/s, {share:.1f} %"
                f" of the {r['matmul_ceiling_gflops']:.1f} GFLOP/s matmul ceiling  {r['setting']}"
            )
        else:
            points = ", ".join(f"{n}: {t:.4f}" for n, t in zip(r["sizes"], r["seconds"]))
            lines.append(
                f"{r['benchmark']:14s} log-log slope {r['slope']:.2f} in {r['size']} "
                f"({r['setting']}; seconds {points})"
            )
    return "\n".join(lines)


def stage_records(result: dict) -> list[dict]:
    """The result as the stage records of ``results/gpu/*.jsonl``
    (:func:`companion.paper_scale.gpu_measurements`): one per timed row (our seconds, with the
    baseline's and the speed-up), per FLOP row and per point of a cost curve."""
    m = result["machine"]
    head = {"device": m["device_name"], "torch": m["torch"]}
    out = []
    for r in result["rows"]:
        stage = f"bench {r['benchmark']}: {r['setting']}"
        if "speedup" in r:
            extra = {"baseline": r["baseline"], "baseline_seconds": r["baseline_s"]}
            out.append(
                {"stage": stage, "seconds": r["ours_s"], **head, **extra, "speedup": r["speedup"]}
            )
        elif "gflops" in r:
            share = r["share_of_ceiling"]
            out.append({"stage": stage, "seconds": r["seconds"], **head, "share_of_ceiling": share})
        else:
            for n, t in zip(r["sizes"], r["seconds"]):
                out.append({"stage": f"{stage}, {r['size']} {n}", "seconds": t, **head})
    return out


def write(result: dict, path: Path) -> Path:
    """Write ``result`` as JSON, atomically."""
    atomic_write(Path(path), (json.dumps(result, indent=2) + "\n").encode())
    return Path(path)
