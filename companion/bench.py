"""``python -m companion bench``: the package's speed against its baselines, as ratios measured side
by side in one run.

Each row times two ways of doing the same work on this machine, alternating them (round-robin, one
warm-up round, best of ``rounds``), and reports the baseline's time over ours (a speed-up above 1
means ours is faster) and whether both gave the same result:

* ``threads``: :func:`companion.training.fit` of the 784-128-64-10 MLP (one epoch of MNIST-5k) under
  the thread policy (one intra-op thread) against every core (:mod:`companion.threads`);
* ``ensemble``: K models trained at once (:func:`companion.ensemble.train_ensemble`) against K
  sequential :func:`~companion.training.fit` runs, same models (largest logit difference);
* ``jit_chunk``: JiT's loss with the perturbations batched as ``chunk='auto'`` picks against one
  forward per perturbation (same loss value);
* ``matmul`` and ``fit_flops``: the float32 matmul rate (the ceiling) and the rate ``fit`` achieves.

Only ratios measured in the same run mean anything on a shared machine; absolute seconds are given
for context.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import __version__, data, ensemble, threads
from .methods.jit_loss import auto_chunk, jit_loss
from .models import build
from .records import atomic_write
from .training import TrainRecipe, fit


def best_of(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Best wall-clock seconds of each callable over ``rounds`` round-robin rounds (after one
    warm-up round)."""
    best = {k: float("inf") for k in fns}
    for r in range(rounds + 1):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            if r:
                best[name] = min(best[name], time.perf_counter() - t)
    return best


def _row(
    name: str, setting: str, ours: float, base: float, baseline: str, what: str, diff: float
) -> dict:
    """One row; ``diff`` is the largest difference between the two results (``what`` names it)."""
    return {
        "benchmark": name,
        "setting": setting,
        "ours_s": ours,
        "baseline": baseline,
        "baseline_s": base,
        "speedup": base / ours,
        "difference": diff,
        "same_result": f"{what} {diff:.1e}",
    }


def bench_threads(task: data.Task, rounds: int) -> dict:
    recipe = TrainRecipe("adam", 1e-3, 1, 64)
    cores = os.cpu_count() or 1
    out = {}

    def run(n: int) -> Callable[[], object]:
        def go():
            os.environ[threads.ENV] = str(n)
            try:
                model = build("mlp", task.input_shape, task.num_classes, 0)
                fit(model, task.train, recipe, seed=0, show_progress=False)
                out[n] = model
            finally:
                os.environ.pop(threads.ENV, None)

        return go

    best = best_of({"one": run(1), "all": run(cores)}, rounds)
    x = task.test.tensors()[0]
    with torch.no_grad():
        gap = float((out[1](x) - out[cores](x)).abs().max())
    return _row(
        "threads",
        f"fit, MLP 784-128-64-10, 1 epoch of {task.name}, 1 vs {cores} intra-op threads",
        best["one"],
        best["all"],
        f"{cores} threads",
        "max |logit difference|",
        gap,
    )


def bench_ensemble(task: data.Task, rounds: int, k: int = 8, pool_size: int = 500) -> dict:
    pool = task.train.subset(np.arange(pool_size))
    masks = ensemble.balanced_masks(k, pool_size, seed=0)
    recipe = TrainRecipe("adam", 1e-3, 2, 64)
    out = {}
    best = best_of(
        {
            "stacked": lambda: out.__setitem__(
                "a", ensemble.train_ensemble(pool, masks, range(k), "tiny_mlp", 10, recipe)
            ),
            "sequential": lambda: out.__setitem__(
                "b", ensemble.train_sequential(pool, masks, range(k), "tiny_mlp", 10, recipe)
            ),
        },
        rounds,
    )
    x = pool.tensors()[0]
    gap = float((out["a"].logits(x) - out["b"].logits(x)).abs().max())
    return _row(
        "ensemble",
        f"{k} tiny_mlp models, {pool_size} examples, 2 epochs",
        best["stacked"],
        best["sequential"],
        "one by one (fit)",
        "max |logit difference|",
        gap,
    )


def _jit_runner(model, x, n: int, chunk: int, losses: dict) -> Callable[[], object]:
    def go():
        model.zero_grad(set_to_none=True)
        loss = jit_loss(model, x, 0.5, n, torch.Generator().manual_seed(0), chunk=chunk)
        loss.backward()
        losses[chunk] = float(loss.detach())

    return go


def bench_jit(rounds: int, n: int = 25, batch: int = 64) -> list[dict]:
    rows = []
    for arch in ("small_cnn", "mlp"):
        model = build(arch, (1, 28, 28), 10, seed=0).eval()
        x = torch.randn(batch, 1, 28, 28)
        chunk = auto_chunk(n, x, torch.device("cpu"), model)
        losses: dict[int, float] = {}
        runs = {"auto": _jit_runner(model, x, n, chunk, losses)}
        runs["loop"] = _jit_runner(model, x, n, 1, losses)
        best = best_of(runs, rounds)
        rows.append(
            _row(
                "jit_chunk",
                f"{arch}, B={batch}, N={n}, chunk='auto' = {chunk}",
                best["auto"],
                best["loop"],
                "one forward per perturbation" + (" (the same path)" if chunk == 1 else ""),
                "|loss difference|",
                abs(losses[chunk] - losses[1]),
            )
        )
    return rows


def matmul_gflops(n: int = 1024, reps: int = 10) -> float:
    """The float32 matmul rate of this process (GFLOP/s), best of ``reps``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(reps + 1):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def bench_fit_flops(task: data.Task) -> dict:
    recipe = TrainRecipe("adam", 1e-3, 1, 64)
    model = build("mlp", task.input_shape, task.num_classes, 0)
    t = time.perf_counter()
    fit(model, task.train, recipe, seed=0, show_progress=False)
    seconds = time.perf_counter() - t
    flops = 3 * 2 * (784 * 128 + 128 * 64 + 64 * 10) * len(task.train)
    ceiling = matmul_gflops()
    rate = flops / seconds / 1e9
    return {
        "benchmark": "fit_flops",
        "setting": "fit, MLP 784-128-64-10, batch 64, 1 epoch (policy threads)",
        "gflops": rate,
        "matmul_ceiling_gflops": ceiling,
        "share_of_ceiling": rate / ceiling,
    }


def run(rounds: int = 3) -> dict:
    """Every benchmark once; returns ``{'machine', 'rows'}``."""
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds={rounds!r} is not allowed: expected an integer >= 1.")
    task = data.load_task("mnist5k", forget="class:3", seed=0)
    rows = [bench_threads(task, rounds), bench_ensemble(task, rounds), *bench_jit(rounds)]
    rows.append(bench_fit_flops(task))
    machine = {
        "torch": torch.__version__,
        "companion": __version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rounds": rounds,
    }
    return {"machine": machine, "rows": rows}


def table(result: dict) -> str:
    """The rows as aligned text."""
    lines = [f"{'benchmark':10s} {'ours s':>9s} {'baseline s':>11s} {'speed-up':>9s}  setting"]
    for r in result["rows"]:
        if "speedup" in r:
            lines.append(
                f"{r['benchmark']:10s} {r['ours_s']:9.4f} {r['baseline_s']:11.4f} "
                f"{r['speedup']:8.2f}x  {r['setting']} (vs {r['baseline']}; {r['same_result']})"
            )
        else:
            share = 100 * r["share_of_ceiling"]
            lines.append(
                f"{r['benchmark']:10s} {r['gflops']:9.2f} GFLOP/s, {share:.1f} % of the "
                f"{r['matmul_ceiling_gflops']:.1f} GFLOP/s matmul ceiling  {r['setting']}"
            )
    return "\n".join(lines)


def write(result: dict, path: Path) -> Path:
    """Write ``result`` as JSON, atomically."""
    atomic_write(Path(path), (json.dumps(result, indent=2) + "\n").encode())
    return Path(path)
