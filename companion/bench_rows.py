"""The training and harness rows of ``python -m companion bench`` (:mod:`companion.bench`).

* ``threads``: :func:`companion.training.fit` of the 784-128-64-10 MLP under the thread policy (one
  intra-op thread) against every core (:mod:`companion.threads`);
* ``ensemble``: K models trained at once (:func:`companion.ensemble.train_ensemble`) against K
  one-by-one :func:`~companion.training.fit` runs with the same seeds and members, per
  architecture and K (largest logit difference);
* ``jit_chunk``: JiT's loss with the perturbations batched as ``chunk='auto'`` (measured) and
  ``chunk='rule'`` (the earlier fixed rule) pick, each against one
  forward per perturbation (same loss value);
* ``fit_flops`` / ``ensemble_flops``: the useful FLOP rate of training against the measured matmul
  ceiling (:func:`~companion.bench_timing.matmul_gflops`);
* ``methods``: every registered method's time through the unlearn harness
  (:func:`companion.methods.unlearn`, as ``python -m companion unlearn`` calls it) against
  ``retrain`` on the same small task.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import data, ensemble, methods, threads
from .bench_timing import best_of, matmul_gflops, ratio_row, sizes
from .checks import integer
from .experiments.method_benchmark_setting import NOT_APPLICABLE, OVERRIDES, pooled_task
from .methods.jit import jit_loss
from .methods.jit_loss import resolve_chunk
from .models import build
from .training import TrainRecipe, fit, recipe_for

#: Largest logit difference allowed between two ways of training the same models (float32 rounding
#: of batched against single matmuls), per device type.
LOGIT_TOLERANCE = {"cpu": 1e-4, "cuda": 1e-3}


def _tol(device: torch.device | str) -> float:
    return LOGIT_TOLERANCE.get(torch.device(device).type, LOGIT_TOLERANCE["cuda"])


def bench_threads(task: data.Task, rounds: int, n_train: int | None = None) -> dict:
    """One epoch of ``fit`` (Adam, batch 64) of the MLP on the first ``n_train`` training images
    with one intra-op thread against every core (CPU only)."""
    recipe = TrainRecipe("adam", 1e-3, 1, 64)
    n = len(task.train) if n_train is None else integer("n_train", n_train, 1)
    train = task.train.subset(np.arange(min(n, len(task.train))))
    cores = os.cpu_count() or 1
    out = {}

    def run(k: int) -> Callable[[], object]:
        def go():
            os.environ[threads.ENV] = str(k)
            try:
                model = build("mlp", task.input_shape, task.num_classes, 0)
                fit(model, train, recipe, seed=0, show_progress=False)
                out[k] = model
            finally:
                os.environ.pop(threads.ENV, None)

        return go

    best = best_of({"one": run(1), "all": run(cores)}, rounds)
    x = train.tensors()[0]
    with torch.no_grad():
        gap = float((out[1](x) - out[cores](x)).abs().max())
    return ratio_row(
        "threads",
        f"fit, MLP 784-128-64-10, 1 epoch of {len(train)} {task.name} images, 1 vs {cores} threads",
        best["one"],
        best["all"],
        f"{cores} threads",
        "max |logit difference|",
        gap,
        _tol("cpu"),
    )


def _one_by_one(pool, masks, seeds, arch: str, recipe: TrainRecipe, dev) -> ensemble.Ensemble:
    """K ordinary ``fit`` runs (:func:`companion.ensemble.train_sequential`, on ``dev``)."""
    if dev.type == "cpu":
        return ensemble.train_sequential(pool, masks, seeds, arch, 10, recipe)
    nets = []
    for k, s in enumerate(seeds):
        net = build(arch, tuple(pool.x.shape[1:]), 10, s)
        fit(
            net,
            pool.subset(np.flatnonzero(masks[k])),
            recipe,
            seed=s,
            device=dev,
            show_progress=False,
        )
        nets.append(net.cpu())
    return ensemble.stack(nets, arch, tuple(pool.x.shape[1:]), 10)


def bench_ensemble(
    task: data.Task,
    rounds: int,
    ks: Sequence[int] = (8,),
    archs: Sequence[str] = ("tiny_mlp", "mlp"),
    pool_size: int = 500,
    epochs: int = 2,
    device: torch.device | str = "cpu",
) -> list[dict]:
    """K models trained at once against one by one, per architecture and K (Adam, batch 64, each
    model on a balanced half of a ``pool_size`` pool of MNIST-5k)."""
    ks = sizes("ks", ks, 2)
    integer("epochs", epochs, 1)
    if (
        isinstance(pool_size, bool)
        or not isinstance(pool_size, int)
        or not 2 <= pool_size <= len(task.train)
    ):
        raise ValueError(
            f"pool_size={pool_size!r} is not allowed: expected an integer in "
            f"[2, {len(task.train)}]."
        )
    dev = torch.device(device)
    pool = task.train.subset(np.arange(pool_size))
    recipe = TrainRecipe("adam", 1e-3, epochs, 64)
    x = pool.tensors()[0]
    rows = []
    for arch in archs:
        for k in ks:
            masks = ensemble.balanced_masks(k, pool_size, seed=0)
            out = {}
            best = best_of(
                {
                    "at_once": lambda m=masks, k=k, a=arch, out=out: out.__setitem__(
                        "a", ensemble.train_ensemble(pool, m, range(k), a, 10, recipe, device=dev)
                    ),
                    "one_by_one": lambda m=masks, k=k, a=arch, out=out: out.__setitem__(
                        "b", _one_by_one(pool, m, range(k), a, recipe, dev)
                    ),
                },
                rounds,
                dev,
            )
            rows.append(
                ratio_row(
                    "ensemble",
                    f"K={k} {arch}, {pool_size} examples, {epochs} epoch(s)",
                    best["at_once"],
                    best["one_by_one"],
                    "one by one (fit)",
                    "max |logit difference|",
                    float((out["a"].logits(x) - out["b"].logits(x)).abs().max()),
                    _tol(dev),
                    K=k,
                    arch=arch,
                    target=">= 10x" if (k, arch) == (128, "tiny_mlp") else None,
                )
            )
    return rows


def bench_jit_chunk(
    rounds: int, n: int = 25, batch: int = 64, device: torch.device | str = "cpu"
) -> list[dict]:
    """One JiT loss + backward with the chunk ``chunk='auto'`` measures as fastest (and with the
    earlier fixed rule, ``chunk='rule'``) against one forward per perturbation."""
    dev = torch.device(device)
    rows = []
    for arch in ("small_cnn", "mlp"):
        model = build(arch, (1, 28, 28), 10, seed=0).to(dev).eval()
        x = torch.randn(batch, 1, 28, 28, generator=torch.Generator().manual_seed(0)).to(dev)
        chunks = {
            "auto": resolve_chunk("auto", n, x, model, 0.5, use_cache=False),
            "rule": resolve_chunk("rule", n, x, model, 0.5),
        }
        losses: dict[int, float] = {}

        def runner(c: int, model=model, x=x, losses=losses) -> Callable[[], object]:
            def go():
                model.zero_grad(set_to_none=True)
                gen = torch.Generator(device=dev).manual_seed(0)
                loss = jit_loss(model, x, 0.5, n, gen, chunk=c)
                loss.backward()
                losses[c] = float(loss.detach())

            return go

        best = best_of(
            {"auto": runner(chunks["auto"]), "rule": runner(chunks["rule"]), "loop": runner(1)},
            rounds,
            dev,
        )
        for how, chunk in chunks.items():
            rows.append(
                ratio_row(
                    "jit_chunk",
                    f"{arch}, B={batch}, N={n}, chunk={how!r} -> {chunk}",
                    best[how],
                    best["loop"],
                    "one forward per perturbation" + (" (the same path)" if chunk == 1 else ""),
                    "|loss difference|",
                    abs(losses[chunk] - losses[1]),
                    1e-5 * max(1.0, abs(losses[1])),
                    arch=f"{arch} ({how})",
                    chunk=chunk,
                )
            )
    return rows


def linear_macs(model: nn.Module) -> int:
    """Multiply-adds of one example's forward pass through a network of ``nn.Linear`` layers."""
    if any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules()):
        raise ValueError("model is not allowed: expected a network of Linear layers only.")
    return sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))


def _flops_row(name: str, setting: str, flops: float, seconds: float, ceiling: float) -> dict:
    rate = flops / seconds / 1e9
    return {
        "benchmark": name,
        "setting": setting,
        "seconds": seconds,
        "gflops": rate,
        "matmul_ceiling_gflops": ceiling,
        "share_of_ceiling": rate / ceiling,
    }


def bench_flops(
    task: data.Task,
    rounds: int,
    n_train: int,
    k: int = 32,
    pool_size: int = 500,
    device: torch.device | str = "cpu",
) -> list[dict]:
    """Useful training FLOP/s (6 multiply-adds' worth per example: forward, and backward through
    activations and weights) of one MLP under ``fit`` and of K MLPs under ``train_ensemble``,
    against the float32 matmul rate measured in the same run."""
    integer("n_train", n_train, 1)
    integer("k", k, 2)
    dev = torch.device(device)
    recipe = TrainRecipe("adam", 1e-3, 1, 64)
    train = task.train.subset(np.arange(min(n_train, len(task.train))))
    macs = linear_macs(build("mlp", task.input_shape, task.num_classes, 0))
    pool = task.train.subset(np.arange(pool_size))
    masks = ensemble.balanced_masks(k, pool_size, seed=0)

    def single():
        net = build("mlp", task.input_shape, task.num_classes, 0)
        fit(net, train, recipe, seed=0, device=dev, show_progress=False)

    def many():
        ensemble.train_ensemble(pool, masks, range(k), "mlp", 10, recipe, device=dev)

    best = best_of({"single": single, "many": many}, rounds, dev)
    ceiling = matmul_gflops(dev, 4096 if dev.type == "cuda" else 1024)
    return [
        _flops_row(
            "fit_flops",
            f"fit, MLP 784-128-64-10, batch 64, 1 epoch of {len(train)} images",
            6 * macs * len(train),
            best["single"],
            ceiling,
        ),
        _flops_row(
            "ensemble_flops",
            f"train_ensemble, K={k} MLPs 784-128-64-10, batch 64, 1 epoch of half a "
            f"{pool_size} pool",
            6 * macs * float(masks.sum()),
            best["many"],
            ceiling,
        ),
    ]


def _params(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).cpu() for p in model.parameters()])


def method_names() -> list[str]:
    """The methods the ``methods`` rows compare with retrain: every registered method that unlearns
    data points (not ``retrain`` itself)."""
    return [n for n in methods.available() if n not in NOT_APPLICABLE and n != "retrain"]


def bench_methods(
    task: data.Task,
    rounds: int,
    names: Sequence[str] | None = None,
    n_pool: int = 400,
    arch: str = "tiny_mlp",
    device: torch.device | str = "cpu",
) -> list[dict]:
    """Each method's harness time against ``retrain`` on ``task`` cut to ``n_pool`` samples, QUICK
    configurations (``methods.unlearn(name, model, task, 'quick', 0)``), round-robin.

    The same-result check: the method's model in the first and in the last round (same seed) differ
    by at most 1e-6, so each round did the same work. ``names`` None: every registered method that
    unlearns data points.
    """
    every = method_names()
    names = every if names is None else list(names)
    for n in names:
        if n not in every:
            raise ValueError(f"names={names!r} is not allowed: expected names from {every}.")
    dev = torch.device(device)
    pooled = pooled_task(task, n_pool, 0)
    model = build(arch, pooled.input_shape, pooled.num_classes, 0)
    fit(
        model,
        pooled.train,
        recipe_for(pooled.name, arch, "quick"),
        seed=0,
        device=dev,
        show_progress=False,
    )
    best = {n: float("inf") for n in [*names, "retrain"]}
    first: dict[str, torch.Tensor] = {}
    gap: dict[str, float] = {}
    quiet = os.environ.get("COMPANION_PROGRESS")
    os.environ["COMPANION_PROGRESS"] = "0"
    try:
        for r in range(integer("rounds", rounds, 1) + 1):
            for n in best:
                over = OVERRIDES["quick"].get(n, {})
                res = methods.unlearn(n, model, pooled, "quick", 0, dev, **over)
                if r:
                    best[n] = min(best[n], res.seconds)
                if n not in first:
                    first[n] = _params(res.model)
                else:
                    gap[n] = float((first[n] - _params(res.model)).abs().max())
    finally:
        if quiet is None:
            os.environ.pop("COMPANION_PROGRESS")
        else:
            os.environ["COMPANION_PROGRESS"] = quiet
    where = f"{arch} on {len(pooled.train)} {task.name} images, forget {task.forget_spec}"
    return [
        ratio_row(
            "methods",
            f"{n}, {where}",
            best[n],
            best["retrain"],
            "retrain",
            "max |parameter difference| between rounds",
            gap[n],
            1e-6,
            method=n,
        )
        for n in names
    ]
