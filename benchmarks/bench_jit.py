"""Benchmark JiT's perturbation pass: per-perturbation loop vs one batched pass vs chunks.

Times one JiT loss + backward on a forget batch (B samples, N perturbations) for the QUICK small CNN
and the MLP with ``chunk=1`` (a loop over perturbations), ``chunk=N`` (all N x B rows in one
forward), a 128-row chunk, and what ``chunk='auto'`` picks (CPU: the loop for convolutional
networks, a 256-row bound otherwise; GPU: all N within a memory bound), side by side in one run. The
paths are timed round-robin and each keeps its fastest repeat, so load from other processes hits all
of them alike. Prints each path's speed relative to the loop (> 1: faster than the loop).

Usage: ``python benchmarks/bench_jit.py [--device cpu] [--batch 64] [--n 25] [--repeats 7]``
"""

from __future__ import annotations

import argparse
import time

import torch

from companion.methods.jit import auto_chunk, jit_loss
from companion.models import build


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_once(model: torch.nn.Module, x: torch.Tensor, n: int, chunk: int, seed: int) -> float:
    """Seconds of one loss + backward."""
    g = torch.Generator(device=x.device).manual_seed(seed)
    model.zero_grad(set_to_none=True)
    _sync(x.device)
    t = time.perf_counter()
    jit_loss(model, x, 0.5, n, g, chunk=chunk).backward()
    _sync(x.device)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n", type=int, default=25)
    p.add_argument("--repeats", type=int, default=7)
    a = p.parse_args()
    dev = torch.device(a.device)
    print(
        f"device={dev} threads={torch.get_num_threads()} B={a.batch} N={a.n} (best of {a.repeats}, "
        f"round-robin)"
    )
    print(f"{'arch':10s} {'input':10s} {'path':22s} {'seconds':>9s} {'speed vs loop':>14s}")
    for arch, shape in (
        ("small_cnn", (1, 28, 28)),
        ("mlp", (1, 28, 28)),
        ("small_cnn", (3, 32, 32)),
    ):
        model = build(arch, shape, 10, seed=0).to(dev).eval()
        x = torch.randn(a.batch, *shape, device=dev)
        auto = auto_chunk(a.n, x, dev, model)
        half = max(1, auto_chunk(a.n, x, dev) // 2)
        paths: dict[str, int] = {
            "loop (1)": 1,
            f"batched ({a.n})": a.n,
            f"chunk {half}": half,
            f"auto ({auto})": auto,
        }
        best = {k: float("inf") for k in paths}
        for r in range(a.repeats + 1):
            for name, chunk in paths.items():
                t = time_once(model, x, a.n, chunk, r)
                if r:  # round 0 warms up
                    best[name] = min(best[name], t)
        base = best["loop (1)"]
        for name, t in best.items():
            print(
                f"{arch:10s} {'x'.join(map(str, shape)):10s} {name:22s} {t:9.4f} {base / t:13.2f}x"
            )


if __name__ == "__main__":
    main()
