"""Architectures and the trained-model cache (``train_or_load``)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..config import bad_value
from ..data.splits import Task
from ..training import TrainRecipe, fit, recipe_for
from .cache import atomic_save, cached_state, config_key, load_checked
from .nets import ARCHS, available, build, input_size, n_params, register_arch

__all__ = [
    "ARCHS",
    "atomic_save",
    "available",
    "build",
    "cached_state",
    "config_key",
    "input_size",
    "load_checked",
    "n_params",
    "register_arch",
    "train_or_load",
]


def train_or_load(
    task: Task,
    arch: str = "mlp",
    profile: str = "quick",
    seed: int = 0,
    device: str | torch.device | None = None,
    recipe: TrainRecipe | None = None,
    on: str = "train",
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
) -> nn.Module:
    """The model trained on ``task`` (``on='train'``: the original; ``on='retain'``: a retrained
    one).

    The checkpoint is keyed by the task (name, split seed, forget set when ``on='retain'``), the
    architecture, the recipe, the seed and the package version; see :mod:`companion.models.cache`.
    """
    if on not in ("train", "retain"):
        raise bad_value("on", on, "'train' or 'retain'")
    recipe = recipe or recipe_for(task.name, arch, profile)
    data = task.train if on == "train" else task.retain
    config = {
        "task": task.name,
        "task_seed": task.seed,
        "val_fraction": task.info.get("val_fraction"),
        "forget": str(task.forget_spec) if on == "retain" else None,
        "labels": "coarse" if task.forget_spec.kind == "subclass" else "fine",
        "n": len(data),
        "arch": arch,
        "recipe": recipe.__dict__,
        "seed": seed,
        "on": on,
    }
    model, _ = cached_state(
        config,
        lambda: build(arch, task.input_shape, task.num_classes, seed),
        lambda m: fit(
            m,
            data,
            recipe,
            seed=seed,
            device=device,
            desc=f"{arch} on {task.name} {on}",
            show_progress=show_progress,
        ),
        cache_dir,
        name=f"{task.name}-{arch}-{on}",
    )
    return model.to(device or "cpu")
