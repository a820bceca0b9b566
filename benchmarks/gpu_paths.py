"""The package's GPU paths, each against its baseline, side by side in one run.

Rows (each a pair of ways of doing the same work, timed round-robin: one warm-up round, then the
best of ``--rounds``, the device synchronised around every call):

* ``tf32``: ``fit`` (a few epochs' worth of steps of the paper's SGD recipe on random CIFAR-shaped
  images) with TF32 off against on (:func:`companion.config.use_tf32`);
* ``jit_bf16``: one JiT pass (``jit_unlearn``, N = 25 perturbations, batches of 128) in fp32
  against ``precision='bf16'`` (the bf16 safety check runs inside; a refusal is reported);
* ``channels_last``: ``fit`` and JiT in NCHW against ``channels_last=True``;
* ``compile``: ``fit`` and JiT eager against ``compile=True`` (the warm-up round holds the
  compilation; its seconds are reported as ``first_call_seconds``);
* ``jit_chunk``: JiT with ``chunk='rule'`` (the earlier fixed rule) against ``chunk='auto'`` (the
  measured choice), with the chunks each used;
* ``jit_syncs`` (CUDA only): host synchronisations during one JiT pass, counted with
  ``torch.cuda.set_sync_debug_mode('warn')``.

Every row is one JSON line on stdout (and appended to ``$OUT/gpu_paths.jsonl`` when ``OUT`` is
set) with the device's name, both times, ``speedup`` (baseline seconds / ours) and the largest
parameter difference between the two results. On a GPU (default nets vgg11 and resnet18, compile
on vgg11 only) it takes a few minutes; ``--small`` runs a CPU smoke test in seconds:

    python benchmarks/gpu_paths.py                    # cuda when visible
    python benchmarks/gpu_paths.py --small --device cpu
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Callable

import torch

from companion import config
from companion.data.splits import Split
from companion.methods.jit import jit_unlearn
from companion.methods.jit_config import JitConfig
from companion.models import build
from companion.training import TrainRecipe, fit


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def best_of(
    fns: dict[str, Callable[[], object]], rounds: int, dev: torch.device
) -> tuple[dict[str, float], dict[str, float], dict[str, object]]:
    """Best seconds of each callable over ``rounds`` round-robin rounds after a warm-up round; also
    the warm-up seconds and each callable's last result."""
    best = {k: math.inf for k in fns}
    first: dict[str, float] = {}
    last: dict[str, object] = {}
    for r in range(rounds + 1):
        for name, fn in fns.items():
            sync(dev)
            t = time.perf_counter()
            last[name] = fn()
            sync(dev)
            dt = time.perf_counter() - t
            if r == 0:
                first[name] = dt
            else:
                best[name] = min(best[name], dt)
    return best, first, last


def flat_params(m: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().float().flatten().cpu() for p in m.parameters()])


class Bench:
    def __init__(self, a: argparse.Namespace) -> None:
        self.dev = config.torch_device(a.device)
        self.rounds, self.small = a.rounds, a.small
        shape = (1, 28, 28) if a.small else (3, 32, 32)
        self.shape = shape
        n_img = a.fit_steps * a.batch
        gen = torch.Generator().manual_seed(0)
        self.split = Split(
            x=torch.randint(0, 256, (n_img, *shape), generator=gen, dtype=torch.uint8),
            y=torch.randint(0, 10, (n_img,), generator=gen),
            mean=torch.full((shape[0],), 0.5),
            std=torch.full((shape[0],), 0.25),
        )
        self.recipe = TrainRecipe("sgd", 0.01, 1, a.batch, momentum=0.9, weight_decay=5e-4)
        self.xs = [
            torch.randn(a.jit_batch, *shape, generator=gen).to(self.dev)
            for _ in range(a.jit_batches)
        ]
        self.n = a.n
        out = os.environ.get("OUT")
        self.out = Path(out) / "gpu_paths.jsonl" if out else None

    def emit(self, row: dict) -> None:
        row = {
            "device": device_name(self.dev),
            "torch": torch.__version__,
            "tf32_policy": config.use_tf32(),
            **row,
        }
        line = json.dumps(row)
        print(line, flush=True)
        if self.out is not None:
            with open(self.out, "a") as fh:
                fh.write(line + "\n")

    def fit_run(self, arch: str, tf32: bool | None = None, **kw) -> torch.nn.Module:
        if tf32 is not None:
            config.use_tf32(tf32)
        m = build(arch, self.shape, 10, seed=0)
        fit(m, self.split, self.recipe, seed=0, device=self.dev, show_progress=False, **kw)
        return m

    def jit_run(self, arch: str, **kw) -> tuple[torch.nn.Module, dict]:
        m = build(arch, self.shape, 10, seed=0)
        cfg = JitConfig(sigma=0.5, lr=0.05, n_samples=self.n, batch_size=len(self.xs[0]), **kw)
        log = jit_unlearn(m, self.xs, cfg, seed=0, device=self.dev)
        return m, log

    def pair(self, row: str, what: str, base: str, ours: str, fns: dict, **extra) -> None:
        try:
            best, first, last = best_of(fns, self.rounds, self.dev)
        except ValueError as err:  # e.g. the bf16 safety check refusing sigma
            self.emit({"row": row, "what": what, "refused": str(err)})
            return
        except Exception as err:  # one broken row must not cost the rest of a GPU lease
            self.emit({"row": row, "what": what, "error": f"{type(err).__name__}: {err}"[:2000]})
            return

        def model(v):
            return v[0] if isinstance(v, tuple) else v

        gap = float((flat_params(model(last[base])) - flat_params(model(last[ours]))).abs().max())
        logs = {k: v[1] for k, v in last.items() if isinstance(v, tuple)}
        self.emit(
            {
                "row": row,
                "what": what,
                "baseline": base,
                "ours": ours,
                "seconds_baseline": round(best[base], 4),
                "seconds_ours": round(best[ours], 4),
                "speedup": round(best[base] / best[ours], 3),
                "seconds": {k: round(v, 4) for k, v in best.items()},
                "first_call_seconds": {k: round(v, 3) for k, v in first.items()},
                "max_param_diff": gap,
                "chunks": {k: v.get("chunk") for k, v in logs.items()} or None,
                **extra,
            }
        )

    def run(self, archs: list[str], compile_archs: list[str]) -> None:
        steps = f"{len(self.split) // self.recipe.batch_size} SGD steps of batch"
        self.fit_what = f"fit, {steps} {self.recipe.batch_size}, input {self.shape}"
        self.jit_what = f"jit_unlearn, {len(self.xs)} batches of {len(self.xs[0])}, N={self.n}"
        for arch in archs:
            self.rows(arch)
        for arch in compile_archs:
            self.compile_rows(arch)

    def rows(self, arch: str) -> None:
        policy = config.use_tf32()
        fit_what, jit_what = self.fit_what, self.jit_what
        self.pair(
            "tf32",
            f"{arch}: {fit_what}",
            "fp32",
            "tf32",
            {
                "fp32": lambda: self.fit_run(arch, tf32=False),
                "tf32": lambda: self.fit_run(arch, tf32=True),
            },
        )
        config.use_tf32(policy)
        self.pair(
            "jit_bf16",
            f"{arch}: {jit_what}",
            "fp32",
            "bf16",
            {
                "fp32": lambda: self.jit_run(arch, chunk="auto"),
                "bf16": lambda: self.jit_run(arch, chunk="auto", precision="bf16"),
            },
        )
        for kind, runner in (("fit", self.fit_run), ("jit", self.jit_run)):
            self.pair(
                "channels_last",
                f"{arch}: {fit_what if kind == 'fit' else jit_what}",
                "nchw",
                "channels_last",
                {
                    "nchw": lambda r=runner: r(arch),
                    "channels_last": lambda r=runner: r(arch, channels_last=True),
                },
            )
        self.pair(
            "jit_chunk",
            f"{arch}: {jit_what}",
            "rule",
            "auto",
            {
                "rule": lambda: self.jit_run(arch, chunk="rule"),
                "auto": lambda: self.jit_run(arch, chunk="auto"),
                "loop": lambda: self.jit_run(arch, chunk=1),
            },
        )
        if self.dev.type == "cuda":
            try:
                self.syncs(arch)
            except Exception as err:  # keep the other rows
                self.emit(
                    {"row": "jit_syncs", "what": arch, "error": f"{type(err).__name__}: {err}"}
                )

    def compile_rows(self, arch: str) -> None:
        fit_what, jit_what = self.fit_what, self.jit_what
        for kind, runner in (("fit", self.fit_run), ("jit", self.jit_run)):
            self.pair(
                "compile",
                f"{arch}: {fit_what if kind == 'fit' else jit_what}",
                "eager",
                "compiled",
                {
                    "eager": lambda r=runner: r(arch),
                    "compiled": lambda r=runner: r(arch, compile=True),
                },
            )

    def syncs(self, arch: str) -> None:
        self.jit_run(arch)  # the chunk is measured (and cached) outside the count
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                self.jit_run(arch)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        msgs = sorted({str(w.message).splitlines()[0][:120] for w in seen})
        self.emit(
            {
                "row": "jit_syncs",
                "what": f"{arch}: host synchronisations in one jit_unlearn pass",
                "count": len(seen),
                "steps": len(self.xs),
                "kinds": msgs[:5],
            }
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--small", action="store_true", help="a CPU smoke test (tiny sizes)")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--archs", default=None, help="comma-separated nets (companion.models)")
    p.add_argument("--compile-archs", default=None, help="nets for the compile rows ('' none)")
    a = p.parse_args()
    if a.small:
        a.batch, a.fit_steps, a.jit_batch, a.jit_batches, a.n = 16, 3, 8, 2, 4
        a.rounds = a.rounds or 1
        archs, compiled = "small_cnn", ""
    else:
        a.batch, a.fit_steps, a.jit_batch, a.jit_batches, a.n = 128, 40, 128, 4, 25
        a.rounds = a.rounds or 3
        archs, compiled = "vgg11,resnet18", "vgg11"
    archs = a.archs if a.archs is not None else archs
    compiled = a.compile_archs if a.compile_archs is not None else compiled
    torch.set_num_threads(min(torch.get_num_threads(), 4) if a.small else torch.get_num_threads())
    Bench(a).run([s for s in archs.split(",") if s], [s for s in compiled.split(",") if s])


if __name__ == "__main__":
    main()
