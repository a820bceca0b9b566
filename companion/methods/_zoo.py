"""Helpers shared by the JiT baseline zoo (Foster et al. (2025); the baselines as
jwf40/Information-Theoretic-Unlearning runs them).

Not a method module (the leading underscore keeps it out of the registry's auto-import): the
in-memory mini-batching the baselines need (mixtures of retain and forget samples, relabelled
samples, synthetic noise images), the forget class of a class task, a "fresh" copy of a model and
the per-forgetting-kind settings lookup.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator, Mapping

import torch
from torch import nn

from ..config import bad_value
from ..data.tasks import Split, Task, ZeroShotTask
from ..models.nets import build

#: Forget-loader batch size of the reference scripts: 128 for full-class and random, 64 sub-class.
FORGET_BATCH = {"class": 128, "subclass": 64, "random": 128}


def per_kind(value: Any, table: Mapping[str, Any], task: Task | ZeroShotTask, name: str) -> Any:
    """``value`` if given, else the reference code's setting for this task's forgetting kind.

    Parameters
    ----------
    value : the config field (``None`` means "as the reference scripts pass it").
    table : forgetting kind ('class' | 'subclass' | 'random') -> setting.
    """
    if value is not None:
        return value
    kind = task.forget_spec.kind
    if kind not in table:
        raise bad_value(
            name,
            f"None for a {kind!r} task",
            f"an explicit value (the reference code has none for {kind!r})",
        )
    return table[kind]


def forget_class(task: Task | ZeroShotTask, method: str) -> int:
    """The one label every forget sample carries (the forgotten class, or the superclass of the
    forgotten fine class); a ``ValueError`` for random forgetting, which has no forget class."""
    if task.forget_spec.kind == "random":
        raise bad_value(
            "forget",
            str(task.forget_spec),
            f"'class:K' or 'subclass:K' for {method!r}: it needs a forget class (the reference "
            f"code runs it on class tasks only)",
        )
    labels = torch.unique(task.forget.y)
    if labels.numel() != 1:
        raise bad_value("forget labels", labels.tolist(), f"a single forget class for {method!r}")
    return int(labels.item())


def fresh_like(
    model: nn.Module, input_shape: tuple[int, ...], num_classes: int, seed: int
) -> nn.Module:
    """A freshly initialised model of the same architecture (Bad Teacher's incompetent teacher).

    Models built by :func:`companion.models.build` are rebuilt from their recorded architecture with
    ``seed``; any other module is deep-copied and every submodule with ``reset_parameters`` reset
    under ``torch.manual_seed(seed)``.
    """
    arch = getattr(model, "companion_arch", None)
    if arch is not None:
        return build(arch, input_shape, num_classes, seed)
    other = copy.deepcopy(model)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for m in other.modules():
            if hasattr(m, "reset_parameters") and m is not other:
                m.reset_parameters()
    finally:
        torch.random.set_rng_state(state)
    return other


def frozen_copy(model: nn.Module) -> nn.Module:
    """A deep copy in eval mode with gradients switched off (a teacher)."""
    t = copy.deepcopy(model).eval()
    for p in t.parameters():
        p.requires_grad_(False)
    return t


def random_wrong_labels(
    y: torch.Tensor, num_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """For each label ``y_i`` a label drawn uniformly from the other ``num_classes - 1`` classes.

    ``(y + U{1..C-1}) mod C`` is uniform over the classes different from ``y_i`` (Amnesiac as the
    reference code relabels: any class except the forget class / the forget superclass / the
    sample's own label, which are all ``y_i``). Shape (N,) -> (N,).
    """
    if num_classes < 2:
        raise bad_value("num_classes", num_classes, "an integer >= 2")
    shift = torch.randint(1, num_classes, y.shape, generator=generator)
    return (y.cpu() + shift) % num_classes


def first_per_class(
    split: Split, per_class: int, exclude: int | None = None, groups: torch.Tensor | None = None
) -> torch.Tensor:
    """Indices of the first ``per_class`` samples of every class of ``split`` (in data order),
    skipping class ``exclude`` (UNSIR's "first 500 training images of every retained class").

    ``groups`` (N,) replaces the labels as the classes to count in (UNSIR's sub-class script takes
    the first 500 of every retained *fine* class, ``split.fine``); ``exclude`` then names a group.
    """
    key = split.y if groups is None else groups
    if key.shape[0] != len(split):
        raise bad_value("groups", f"{key.shape[0]} entries", f"one per sample ({len(split)})")
    idx = []
    for c in torch.unique(key).tolist():
        if c == exclude:
            continue
        idx.append(torch.nonzero(key == c).flatten()[:per_class])
    if not idx:
        raise bad_value("retain set", "without any retained class", "at least one retained class")
    return torch.sort(torch.cat(idx)).values


def tensor_batches(
    *tensors: torch.Tensor, batch_size: int, shuffle: bool, generator: torch.Generator | None = None
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Mini-batches of equally long tensors (already on their device), in a seeded order."""
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValueError("tensor_batches needs tensors of equal length")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(tensors[0].device)
    for i in range(0, n, batch_size):
        j = order[i : i + batch_size]
        yield tuple(t[j] for t in tensors)


def mixed_split(parts: list[tuple[Split, torch.Tensor | None]]) -> tuple[Split, torch.Tensor]:
    """Concatenate splits (raw samples, the first split's normalisation) with optional new labels.

    Returns the combined :class:`Split` and a (N,) int64 tensor naming the part each sample came
    from (0, 1, ...), so a loss can treat retain and forget samples differently.
    """
    xs, ys, src = [], [], []
    for k, (s, labels) in enumerate(parts):
        xs.append(s.x)
        ys.append(s.y if labels is None else labels.to(s.y.dtype).cpu())
        src.append(torch.full((len(s),), k, dtype=torch.long))
    first = parts[0][0]
    return Split(torch.cat(xs), torch.cat(ys), first.mean, first.std), torch.cat(src)


def split_batches(
    split: Split,
    extra: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Shuffled normalised ``(x, y, extra)`` batches of ``split`` (``extra``: a per-sample tag)."""
    order = torch.randperm(len(split), generator=generator)
    for i in range(0, len(split), batch_size):
        j = order[i : i + batch_size]
        yield split.prepare(split.x[j], device), split.y[j].to(device), extra[j].to(device)


def cycle_batches(
    split: Split, batch_size: int, generator: torch.Generator, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless shuffled batches of ``split`` (a retain stream paired with forget batches)."""
    while True:
        yield from split.batches(batch_size, shuffle=True, generator=generator, device=device)
