"""The unlearning harness: method registry, configs and :func:`unlearn`.

A method is a function ``fn(model, task, cfg, *, seed, device, profile) -> dict`` that modifies ``model`` in
place (the harness hands it a deep copy) and returns a log. It is registered with its frozen config
dataclass and whether it is zero-shot; zero-shot methods receive ``task.zero_shot_view()``, which
holds the forget set only.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable

import torch
from torch import nn

from ..config import PROFILES, bad_value
from ..data.tasks import Task, ZeroShotTask
from ..training import resolve_device


@dataclass(frozen=True)
class MethodConfig:
    """Base class of every method's config. Subclasses are frozen dataclasses with the paper's
    settings as defaults; ``QUICK`` holds overrides applied in the QUICK profile; ``validate`` checks
    values and raises ``ValueError``."""

    QUICK = {}  # type: dict[str, Any]

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:  # pragma: no cover - overridden where there is something to check
        return None

    @classmethod
    def resolve(cls, profile: str = "quick", **overrides: Any) -> "MethodConfig":
        """Config for ``profile`` with ``overrides``; unknown names raise ``ValueError``."""
        if profile not in PROFILES:
            raise bad_value("profile", profile, f"one of {PROFILES}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)} for {cls.__name__}: allowed are {', '.join(sorted(names)) or 'none'}."
            )
        base = dict(cls.QUICK) if profile == "quick" else {}
        base.update(overrides)
        return cls(**base)


def positive(name: str, value: float, allow_zero: bool = False) -> None:
    """Raise the standard ``ValueError`` unless ``value`` is > 0 (>= 0 with ``allow_zero``)."""
    ok = value >= 0 if allow_zero else value > 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok or value != value:
        raise bad_value(name, value, "a number >= 0" if allow_zero else "a number > 0")


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fn: Callable[..., dict]
    config: type[MethodConfig]
    zero_shot: bool
    paper: str
    description: str


@dataclass
class UnlearnResult:
    """What :func:`unlearn` returns: the new model, its wall-clock time (metrics excluded) and a log."""

    name: str
    model: nn.Module
    seconds: float
    config: MethodConfig
    log: dict = field(default_factory=dict)


REGISTRY: dict[str, MethodSpec] = {}


def register(name: str, config: type[MethodConfig], zero_shot: bool, paper: str, description: str) -> Callable:
    """Decorator adding a method to :data:`REGISTRY`."""

    def deco(fn: Callable[..., dict]) -> Callable[..., dict]:
        if name in REGISTRY:
            raise ValueError(f"method {name!r} is registered twice")
        REGISTRY[name] = MethodSpec(name, fn, config, zero_shot, paper, description)
        return fn

    return deco


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def unlearn(
    name: str,
    model: nn.Module,
    task: Task,
    profile: str = "quick",
    seed: int = 0,
    device: str | torch.device | None = None,
    **overrides: Any,
) -> UnlearnResult:
    """Run unlearning method ``name`` on a copy of ``model``; the input model is never changed.

    Parameters
    ----------
    name : str
        A registered method (``available()``).
    model : nn.Module
        The original model, trained on ``task.train``.
    task : Task
        The task; zero-shot methods receive only ``task.zero_shot_view()``.
    profile : {'quick', 'full'}
        Selects the config defaults.
    seed : int
        Seeds every random draw of the method.
    **overrides
        Settings of the method's config (see ``REGISTRY[name].config``).
    """
    if name not in REGISTRY:
        raise bad_value("method", name, f"one of {', '.join(sorted(REGISTRY))}")
    spec = REGISTRY[name]
    cfg = spec.config.resolve(profile, **overrides)
    if not isinstance(task, Task):
        raise bad_value("task", type(task).__name__, "a companion.data.Task (the harness makes the zero-shot view)")
    dev = resolve_device(device)
    work = copy.deepcopy(model).to(dev)
    view: Task | ZeroShotTask = task.zero_shot_view() if spec.zero_shot else task
    torch.manual_seed(seed)
    _sync(dev)
    start = time.perf_counter()
    log = spec.fn(work, view, cfg, seed=seed, device=dev, profile=profile) or {}
    _sync(dev)
    seconds = time.perf_counter() - start
    if "measured_seconds" in log:  # a cached retrain reports the time measured when it was trained
        seconds = float(log["measured_seconds"])
    work.eval()
    return UnlearnResult(name, work, seconds, cfg, log)


def available() -> dict[str, dict]:
    """Every registered method: whether it is zero-shot, its paper and a one-line description."""
    return {
        k: {"zero_shot": s.zero_shot, "paper": s.paper, "description": s.description}
        for k, s in sorted(REGISTRY.items())
    }


def config_of(name: str, profile: str = "quick", **overrides: Any) -> MethodConfig:
    if name not in REGISTRY:
        raise bad_value("method", name, f"one of {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name].config.resolve(profile, **overrides)


def with_config(cfg: MethodConfig, **kw: Any) -> MethodConfig:
    return replace(cfg, **kw)
