"""The containers of a task: a :class:`Split` of samples, the :class:`Task` with its named splits,
and the :class:`ZeroShotTask` view that holds the forget set only (a zero-shot method may not read
anything else). :mod:`companion.data.tasks` builds them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from ..config import ForgetSpec, bad_value


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
            self.x[idx],
            self.y[idx],
            self.mean,
            self.std,
            None if self.fine is None else self.fine[idx],
            idx if self.index is None else self.index[idx],
            self.input_size,
        )

    def prepare(self, x: torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
        """Convert raw stored samples to normalised float32 model inputs on ``device``."""
        x = x.to(device, non_blocking=True)
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean = self.mean.to(x.device, non_blocking=True)  # a blocking copy would sync a GPU
        std = self.std.to(x.device, non_blocking=True)  # every batch (pageable: staged at once)
        x = (x - mean.view(shape)) / std.view(shape)
        if self.input_size is not None and x.shape[-2:] != (self.input_size, self.input_size):
            x = torch.nn.functional.interpolate(
                x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False
            )
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

    ``train`` is the training set the original model sees (everything except validation); ``retain``
    and ``forget`` partition it. ``forget_test`` / ``retain_test`` are the test samples of the
    forgotten class (or fine class) and the rest; for random forgetting ``forget_test`` is empty and
    ``retain_test`` is the whole test set.
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
            f"{self.name} [{self.forget_spec}] seed={self.seed}: train {len(self.train)} = retain "
            f"{len(self.retain)}"
            f" + forget {len(self.forget)}; val {len(self.val)}; test {len(self.test)}"
            f" (forget-class test {len(self.forget_test)}); {self.num_classes} classes"
        )
        return s + (f". Stand-in: {self.standin}" if self.standin else "")

    def with_input_size(self, size: int | None) -> "Task":
        """The task with every split resized to ``size`` x ``size`` model inputs (see
        :attr:`Split.input_size`).

        Resizing happens here, in the data pipeline, so whatever a method draws around an input
        (JiT's perturbations) is drawn at the model's input resolution. ``None`` returns the task
        unchanged. Images are resized batch by batch; nothing is stored at the new size.
        """
        if size is None:
            return self
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise bad_value("input_size", size, "None or an integer >= 1")
        if len(self.input_shape) != 3:
            raise bad_value(
                "input_size", size, f"None for task {self.name!r} (its samples are not images)"
            )
        splits = {k: dataclasses.replace(getattr(self, k), input_size=size) for k in _SPLITS}
        return dataclasses.replace(self, input_shape=(self.input_shape[0], size, size), **splits)

    def zero_shot_view(self) -> "ZeroShotTask":
        """The task as a zero-shot method sees it: the forget set and metadata, no retain data."""
        return ZeroShotTask(
            self.name, self.forget_spec, self.seed, self.num_classes, self.input_shape, self.forget
        )


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
            f"method {method!r} is zero-shot and must be given task.zero_shot_view() (the forget "
            f"set only), "
            f"not a task that carries retain data."
        )
    return task
