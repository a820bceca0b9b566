"""Benchmark: K tiny 784-5-10 networks through the certified-unlearning engine, vectorised
(``torch.func.vmap``, one call with K plans) against one call per model (K = 1, in a loop).

Usage: ``python benchmarks/bench_cert.py [--k 32 64] [--epochs 2] [--repeats 2] [--device cpu]``.
Prints the wall-clock time of both and their ratio, measured side by side (interleaved, best of
``repeats``). Not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import time

import torch

from companion import data, models
from companion import stacked as S


def plans(k: int) -> list[S.Plan]:
    """K gradient-clipping runs with the paper's MNIST setting (C0 0.01, C1 100, gamma 1e-4, lambda
    10)."""
    return [
        S.Plan("gradient_clipping", c0=0.01, c1=100.0, gamma=1e-4, lam=10.0, steps=1, sigma=0.0283)
        for _ in range(k)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    task = data.load_task("mnist5k", forget="random:360", seed=0)
    base = models.build("tiny_mlp", task.input_shape, task.num_classes, seed=0)
    kw = dict(
        epochs=args.epochs, eval_splits={"val": task.val}, device=args.device, show_progress=False
    )
    # warm-up (functorch imports, allocator)
    S.run_stacked(base, plans(2), task.retain, **{**kw, "epochs": 1})
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; "
        f"{len(task.retain)} retain images, {args.epochs} epochs, batch 128"
    )
    for k in args.k:
        t_vmap, t_loop = float("inf"), float("inf")
        for r in range(args.repeats):
            t0 = time.perf_counter()
            S.run_stacked(base, plans(k), task.retain, seed=r, **kw)
            t_vmap = min(t_vmap, time.perf_counter() - t0)
            t0 = time.perf_counter()
            for i in range(k):
                S.run_stacked(base, plans(1), task.retain, seed=1000 * r + i, **kw)
            t_loop = min(t_loop, time.perf_counter() - t0)
        print(
            f"K={k:4d}: vmap {t_vmap:7.2f} s | loop {t_loop:7.2f} s | loop / vmap = "
            f"{t_loop / t_vmap:5.1f}x"
        )


if __name__ == "__main__":
    main()
