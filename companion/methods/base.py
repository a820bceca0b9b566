"""The unlearning harness: method registry, configs and :func:`unlearn`.

A method is a function ``fn(model, task, cfg, *, seed, device, profile) -> dict`` that modifies
``model`` in place (the harness hands it a deep copy) and returns a log. It is registered with its
frozen config dataclass and whether it is zero-shot; zero-shot methods receive
``task.zero_shot_view()``, which holds the forget set only.
"""

from __future__ import annotations

import copy
import math
import time
import types
import typing
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .. import threads
from ..config import PROFILES, bad_value, finite
from ..data.splits import Task, ZeroShotTask
from ..training import check_model_fits, resolve_device


@dataclass(frozen=True)
class MethodConfig:
    """Base class of every method's config. Subclasses are frozen dataclasses with the paper's
    settings as defaults; ``QUICK`` holds overrides applied in the QUICK profile; ``validate``
    checks
    values and raises ``ValueError``."""

    QUICK = {}  # type: dict[str, Any]

    def __post_init__(self) -> None:
        self._check_types()
        self.validate()

    def _check_types(self) -> None:
        """Every field holds a value of its annotated type: an ``int`` field refuses 1.5 and True, a
        ``float`` field refuses NaN and non-numbers (an int is accepted), ``X | None`` also
        takes None, a ``tuple[...]`` field a tuple. Runs before :meth:`validate`."""
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value, hint = getattr(self, f.name), hints.get(f.name)
            ok, coerced = _type_ok(value, hint)
            if not ok:
                raise bad_value(
                    f.name,
                    value,
                    f"a value of type {_type_name(hint)} (setting of {type(self).__name__})",
                )
            if coerced is not value:
                object.__setattr__(self, f.name, coerced)

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
                f"unknown setting(s) {', '.join(unknown)} for {cls.__name__}: allowed are "
                f"{', '.join(sorted(names)) or 'none'}."
            )
        base = dict(cls.QUICK) if profile == "quick" else {}
        base.update(overrides)
        return cls(**base)


def _type_ok(value: Any, hint: Any) -> tuple[bool, Any]:
    """Whether ``value`` fits the type ``hint``; returns ``(ok, value as stored)``."""
    if hint is None or hint is Any:
        return True, value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(hint):
            ok, coerced = _type_ok(value, arm)
            if ok:
                return True, coerced
        return False, value
    if hint is type(None):
        return value is None, value
    if hint is bool:
        return isinstance(value, (bool, np.bool_)), value
    if hint is int:
        return isinstance(value, (int, np.integer)) and not isinstance(
            value, (bool, np.bool_)
        ), value
    if hint is float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)
        ):
            return False, value
        return not math.isnan(float(value)), value
    if hint is str:
        return isinstance(value, str), value
    if origin is tuple or hint is tuple:
        return isinstance(value, tuple), value
    if origin is typing.Literal:
        return value in typing.get_args(hint), value
    return True, value  # containers and objects: the method's validate() checks them


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint))
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))


def positive(name: str, value: float, allow_zero: bool = False) -> None:
    """Raise the standard ``ValueError`` unless ``value`` is a finite number > 0 (>= 0 with
    ``allow_zero``); :func:`companion.config.finite` is the same check."""
    finite(name, value, allow_zero)


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
    """What :func:`unlearn` returns: the new model, its wall-clock time (metrics excluded) and a
    log."""

    name: str
    model: nn.Module
    seconds: float
    config: MethodConfig
    log: dict = field(default_factory=dict)


REGISTRY: dict[str, MethodSpec] = {}


def register(
    name: str, config: type[MethodConfig], zero_shot: bool, paper: str, description: str
) -> Callable:
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
        raise bad_value(
            "task",
            type(task).__name__,
            "a companion.data.Task (the harness makes the zero-shot view)",
        )
    if (
        isinstance(seed, (bool, np.bool_))
        or not isinstance(seed, (int, np.integer))
        or not 0 <= seed < 2**63
    ):
        raise bad_value("seed", seed, "an integer >= 0")
    seed = int(seed)
    dev = resolve_device(device)
    # output size, finite outputs and a non-empty forget set, before any work
    check_model_fits(model, task)
    work = copy.deepcopy(model).to(dev)
    view: Task | ZeroShotTask = task.zero_shot_view() if spec.zero_shot else task
    torch.manual_seed(seed)
    _sync(dev)
    start = time.perf_counter()
    with threads.policy(threads.n_params(work), dev):
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
