"""The task and the pretrained originals A(D) that the budget curves of Koloskova et al.
(Figures 1, 3, 4) start from.

* QUICK: the embedded 5k MNIST subset with the 784-5-10 network; FULL: MNIST or CIFAR-10 (Figure 1)
  or the ImageNet-feature tasks of Figure 3 (:mod:`companion.experiments.cert_features`);
* the forget set is ``random:N`` with N = 10 % of the non-validation training set (the paper's
  sizes; ``load_task`` draws validation first, then N random forget points);
* the originals are pretrained per seed as in the authors' code (SGD, momentum 0, Optax linear
  one-cycle, weight decay 5e-4; 0.05 for output perturbation), each on the stacked engine and
  cached;
* the validation set is also split in two seeded halves, for the held-out selection of
  :func:`companion.experiments.cert_curves.select`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .. import data as cdata
from ..config import ProfileSetting, bad_value, default_cache_dir
from ..methods.certified import OP_PRETRAIN_WEIGHT_DECAY
from ..models.cache import atomic_save, config_key, load_checked
from ..models.nets import build
from ..stacked import Plan, run_stacked
from ..training import resolve_device
from .cert_features import feature_task

if TYPE_CHECKING:  # names for annotations only
    import torch
    from torch import nn

    from ..data.tasks import Split, Task

#: Dataset -> (architecture, budget epochs of Figure 1 / 3, augmentation of the training transform).
FULL_SETTINGS = {
    "mnist": ("tiny_mlp", 10, "mnist"),
    "cifar10": ("tiny_cnn", 50, "cifar"),
    "cifar10_features": ("three_layer", 50, "none"),
    "cifar100_features": ("three_layer", 50, "none"),
}
QUICK_TASK, QUICK_ARCH, QUICK_GRID = "mnist5k", "tiny_mlp", "mnist"
# the authors' MNIST pretraining; CIFAR-10: 400 epochs
PRETRAIN = dict(epochs=30, peak=0.06, weight_decay=5e-4)
#: QUICK pretrains for 15 epochs (a 3,600-image set; the 60 s notebook budget), FULL for the
#: paper's.
QUICK_PRETRAIN_EPOCHS = 15


@dataclass
class CurveSetup:
    """A task, its architecture and the pretrained originals of each seed."""

    profile: str
    task: Task
    arch: str
    grid: str
    device: torch.device
    seeds: tuple[int, ...]
    originals: dict[int, nn.Module]
    op_originals: dict[int, nn.Module]
    augment: str = "none"
    seed: int = 0
    halves: tuple[Split, Split] = field(default=None)  # type: ignore[assignment]


def _forget_n(name: str, seed: int, data_root: str | None) -> int:
    probe = cdata.load_task(name, forget="random:1", seed=seed, data_root=data_root)
    return max(1, round(0.1 * len(probe.train)))


def val_halves(val: Split, seed: int) -> tuple[Split, Split]:
    """Two seeded halves of the validation set: (selection, report)."""
    perm = np.random.default_rng(10_007 + seed).permutation(len(val))
    h = len(val) // 2
    return val.subset(np.sort(perm[:h])), val.subset(np.sort(perm[h:]))


def pretrain(
    task: Task,
    arch: str,
    seeds: Sequence[int],
    weight_decay: float | Sequence[float],
    epochs: int,
    peak: float = 0.06,
    augment: str = "none",
    device: str | torch.device = "cpu",
    cache_dir: str | None = None,
    batch_size: int = 128,
) -> dict[tuple[int, float], nn.Module]:
    """The originals A(D) for every (seed, weight decay) (the authors' recipe: SGD, momentum 0,
    Optax linear one-cycle, weight decay), each trained from its own seed on ``task.train`` (so a
    cached model does not depend on which other models were trained in the same call) and cached per
    model (atomic, hash-keyed). Returns a dict keyed by (seed, weight_decay)."""

    dev = resolve_device(device)
    root = Path(cache_dir or default_cache_dir()) / "checkpoints"
    wds = (
        [float(weight_decay)]
        if isinstance(weight_decay, (int, float))
        else [float(w) for w in weight_decay]
    )
    out: dict[tuple[int, float], nn.Module] = {}
    missing: list[tuple[int, float]] = []
    keys: dict[tuple[int, float], tuple[str, Path, dict]] = {}
    for s in seeds:
        for wd in wds:
            cfg = {
                "task": task.name,
                "task_seed": task.seed,
                "n": len(task.train),
                "val": len(task.val),
                "arch": arch,
                "seed": s,
                "epochs": epochs,
                "peak": peak,
                "weight_decay": wd,
                "augment": augment,
                "batch": batch_size,
                "recipe": "cert-optax-linear-onecycle",
            }
            key = config_key(cfg)
            path = root / f"{task.name}-{arch}-certpre-{key}.pt"
            keys[(s, wd)] = (key, path, cfg)
            m = build(arch, task.input_shape, task.num_classes, s)
            blob = load_checked(path, key)
            if blob is None:
                missing.append((s, wd))
                continue
            m.load_state_dict(blob["state_dict"])
            out[(s, wd)] = m.to(dev).eval()
    # one run per model: its batch order and noise depend on its own seed only, so the
    for sw in missing:
        # cached model is the same whichever other seeds happened to be missing with it
        s, wd = sw
        base = build(arch, task.input_shape, task.num_classes, s)
        res = run_stacked(
            base,
            [Plan("retrain", init_seed=s, l2=wd)],
            task.train,
            epochs,
            seed=s,
            finetune_lr=peak,
            batch_size=batch_size,
            augment=augment,
            device=dev,
            show_progress=True,
        )
        m = res.model(base.to(dev), 0)
        m.companion_arch = arch
        key, path, cfg = keys[sw]
        state = {n: v.detach().cpu() for n, v in m.state_dict().items()}
        atomic_save({"key": key, "state_dict": state, "config": json.dumps(cfg), "log": "{}"}, path)
        out[sw] = m
    return out


@dataclass(frozen=True)
class CertSetting(ProfileSetting):
    """The certified chapters' task: MNIST-5k in QUICK, full MNIST (Figure 1's MNIST setting) in
    FULL."""

    task: str = QUICK_TASK
    FULL = {"task": "mnist"}


def setup(
    profile: str = "quick",
    seed: int = 0,
    data_root: str | None = None,
    device: str = "auto",
    seeds: Sequence[int] = (0, 1, 2, 3),
    task_name: str | None = None,
    cache_dir: str | None = None,
    pretrain_epochs: int | None = None,
    forget: str | None = None,
) -> CurveSetup:
    """Load the task and pretrain the originals.

    QUICK: mnist5k. FULL: ``task_name`` in {'mnist', 'cifar10'} (Figure 1) or {'cifar10_features',
    'cifar100_features'} (Figure 3: 512-d ImageNet ResNet-18 features,
    :func:`~companion.experiments.cert_features.feature_task`).
    """

    if profile not in ("quick", "full"):
        raise bad_value("profile", profile, "'quick' or 'full'")
    if not seeds:
        raise bad_value("seeds", seeds, "at least one seed")
    if profile == "quick":
        if task_name not in (None, QUICK_TASK):
            raise bad_value("task_name", task_name, f"None or {QUICK_TASK!r} in the QUICK profile")
        name, arch, grid, augment, pre_epochs = (
            QUICK_TASK,
            QUICK_ARCH,
            QUICK_GRID,
            "none",
            QUICK_PRETRAIN_EPOCHS,
        )
    else:
        name = task_name or "mnist"
        if name not in FULL_SETTINGS:
            raise bad_value("task_name", name, f"one of {', '.join(FULL_SETTINGS)}")
        arch, _, augment = FULL_SETTINGS[name]
        grid = name
        pre_epochs = {"cifar10": 400, "cifar10_features": 100, "cifar100_features": 100}.get(
            name, PRETRAIN["epochs"]
        )

    dev = resolve_device(device)
    image_name = name.removesuffix("_features")
    forget = forget or f"random:{_forget_n(image_name, seed, data_root)}"
    if name.endswith("_features"):
        task = feature_task(
            image_name,
            forget=forget,
            seed=seed,
            data_root=data_root,
            device=dev,
            cache_dir=cache_dir,
        )
    else:
        task = cdata.load_task(name, forget=forget, seed=seed, data_root=data_root)
    ep = pretrain_epochs if pretrain_epochs is not None else pre_epochs
    kw = dict(epochs=ep, peak=PRETRAIN["peak"], augment=augment, device=dev, cache_dir=cache_dir)
    both = pretrain(task, arch, seeds, (PRETRAIN["weight_decay"], OP_PRETRAIN_WEIGHT_DECAY), **kw)
    originals = {s: both[(s, PRETRAIN["weight_decay"])] for s in seeds}
    op_originals = {s: both[(s, OP_PRETRAIN_WEIGHT_DECAY)] for s in seeds}
    return CurveSetup(
        profile,
        task,
        arch,
        grid,
        dev,
        tuple(seeds),
        originals,
        op_originals,
        augment,
        seed,
        val_halves(task.val, seed),
    )
