"""A sweep's grid: the spec file, its validation and the runs it expands to.

A spec is a small JSON (or YAML, when PyYAML is installed) file::

    {"task": "digits",
     "grid":  {"method": ["retrain", "model_clipping"], "seed": [0, 1],
               "forget": ["class:3"], "epsilon": [0.5, 1.0]},
     "fixed": {"arch": "mlp", "profile": "quick"}}

The run keys are ``task``, ``forget``, ``method``, ``seed``, ``arch`` and ``profile`` (defaults as
in ``python -m companion unlearn``: ``class:3``, ``mlp``, ``quick``, seed 0; ``task`` and
``method`` must be given). Every other key is a method setting (a field of the method's config,
``companion.methods.REGISTRY[name].config``), applied to the runs whose method has that field and
dropped for the others; runs that then coincide are one run (``retrain`` is not repeated for
each ``epsilon``). A setting no method of the grid has is refused, as is any value the method's
config refuses: the whole grid is validated before any run starts.

A run is identified by a SHA-256 of its canonical parameters (:meth:`Run.key`), independent of the
grid it came from, the device it runs on and the order of the keys.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .checks import bad_value, integer
from .config import PROFILES
from .data import TASKS, check_forget, task_shape
from .methods import REGISTRY, config_of
from .models import ARCHS
from .parameters import parse_forget

RUN_KEYS = ("task", "forget", "method", "seed", "arch", "profile")
DEFAULTS: dict[str, Any] = {"forget": "class:3", "seed": 0, "arch": "mlp", "profile": "quick"}
TOP_KEYS = ("task", "grid", "fixed", "description")


@dataclass(frozen=True)
class Run:
    """One run of a sweep: ``python -m companion unlearn`` with these parameters."""

    task: str
    forget: str
    method: str
    seed: int
    arch: str
    profile: str
    settings: tuple[tuple[str, Any], ...] = ()

    def params(self) -> dict[str, Any]:
        """The run's parameters as a JSON-ready dict (settings as a dict, sorted by name)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in RUN_KEYS}
        out["settings"] = {k: v for k, v in self.settings}
        return out

    def key(self) -> str:
        """A stable 16-hex-digit hash of the canonical parameters (the run's file name)."""
        blob = json.dumps(self.params(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        """A short human-readable description, e.g. ``retrain digits class:3 seed=0``."""
        extra = "".join(f" {k}={v}" for k, v in self.settings)
        return f"{self.method} {self.task} {self.forget} seed={self.seed}{extra}"

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "Run":
        """The run whose :meth:`params` are ``params`` (as read back from a result file)."""
        settings = tuple(sorted(dict(params.get("settings", {})).items()))
        return cls(*(params[k] for k in RUN_KEYS), settings=settings)


@dataclass(frozen=True)
class SweepSpec:
    """A validated grid: its name (the spec file's stem) and its runs, in grid order."""

    name: str
    runs: tuple[Run, ...]


def read_spec(path: str | Path) -> dict[str, Any]:
    """The raw spec in ``path`` (``.json``, or ``.yaml``/``.yml`` when PyYAML is installed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep spec {path} does not exist")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as err:  # pragma: no cover - PyYAML ships with the test extra
            raise ValueError(f"spec={str(path)!r} is YAML but PyYAML is not installed") from err
        return yaml.safe_load(text)
    if path.suffix != ".json":
        raise bad_value("spec", str(path), "a .json, .yaml or .yml file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"spec={str(path)!r} is not valid JSON: {err}") from err


def _canonical_run_value(key: str, value: Any, data_root: str | Path | None) -> Any:
    if key == "task":
        if not isinstance(value, str) or value not in TASKS:
            raise bad_value("task", value, f"one of {', '.join(TASKS)}")
        return value
    if key == "method":
        if not isinstance(value, str) or value not in REGISTRY:
            raise bad_value("method", value, f"one of {', '.join(sorted(REGISTRY))}")
        return value
    if key == "seed":
        return integer("seed", value, 0)
    if key == "arch":
        if not isinstance(value, str) or value not in ARCHS:
            raise bad_value("arch", value, f"one of {', '.join(ARCHS)}")
        return value
    if key == "profile":
        if value not in PROFILES:
            raise bad_value("profile", value, f"one of {PROFILES}")
        return value
    if not isinstance(value, str):
        raise bad_value("forget", value, "'class:K', 'subclass:K' or 'random:N'")
    return str(parse_forget(value))


def _axes(raw: dict[str, Any]) -> dict[str, list[Any]]:
    """Every key of the spec with its list of values (a fixed key: one value)."""
    if not isinstance(raw, dict):
        raise bad_value("spec", type(raw).__name__, f"a mapping with keys among {TOP_KEYS}")
    unknown = sorted(set(raw) - set(TOP_KEYS))
    if unknown:
        raise bad_value("spec key", unknown[0], f"one of {', '.join(TOP_KEYS)}")
    grid, fixed = raw.get("grid", {}), dict(raw.get("fixed") or {})
    if not isinstance(grid, dict) or not grid:
        raise bad_value("grid", grid, "a non-empty mapping of key -> list of values")
    if not isinstance(fixed, dict):
        raise bad_value("fixed", fixed, "a mapping of key -> value")
    if "task" in raw:
        if "task" in fixed:
            raise bad_value("task", raw["task"], "given once (top level or in fixed, not both)")
        fixed["task"] = raw["task"]
    axes: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if key in fixed:
            raise bad_value(key, values, "a key in grid or in fixed, not both")
        if not isinstance(values, list) or not values:
            raise bad_value(f"grid.{key}", values, "a non-empty list of values")
        seen = [json.dumps(v, sort_keys=True) for v in values]
        if len(set(seen)) != len(seen):
            raise bad_value(f"grid.{key}", values, "a list without repeated values")
        axes[key] = values
    for key, value in fixed.items():
        if isinstance(value, list):
            raise bad_value(f"fixed.{key}", value, "one value (lists of values go in grid)")
        axes[key] = [value]
    for key in ("task", "method"):
        if key not in axes:
            raise bad_value(key, None, f"a {key} in grid or fixed (the spec names none)")
    for key, value in DEFAULTS.items():
        axes.setdefault(key, [value])
    return axes


def expand(raw: dict[str, Any], name: str, data_root: str | Path | None = None) -> SweepSpec:
    """Validate a raw spec and expand its grid into runs, before any work.

    Parameters
    ----------
    raw : dict
        The parsed file (:func:`read_spec`).
    name : str
        The sweep's name (the store's folder, by default ``_build/sweeps/<name>``).
    data_root : str or Path, optional
        Where FULL tasks' data live (their size bounds ``random:N`` forget requests).

    Raises
    ------
    ValueError
        Naming the key, the value and what is allowed: an unknown task, method or architecture, a
        bad seed, profile or forget request, a setting that no method of the grid has, or a value
        a method's config refuses.
    """
    axes = _axes(raw)
    runs_axes = {k: [_canonical_run_value(k, v, data_root) for v in axes[k]] for k in RUN_KEYS}
    setting_names = [k for k in axes if k not in RUN_KEYS]
    known = {m: {f.name for f in fields(REGISTRY[m].config)} for m in runs_axes["method"]}
    for s in setting_names:
        if not any(s in names for names in known.values()):
            allowed = sorted(set().union(*known.values()))
            raise bad_value(
                s,
                axes[s],
                f"a setting of a method in the grid ({', '.join(runs_axes['method'])}): "
                f"{', '.join(allowed) or 'none'}, or one of {', '.join(RUN_KEYS)}",
            )
    shapes = {t: task_shape(t, data_root) for t in runs_axes["task"]}
    for t in runs_axes["task"]:
        for f in runs_axes["forget"]:
            check_forget(t, f, shapes[t])
    runs: dict[str, Run] = {}
    keys = list(RUN_KEYS) + setting_names
    for combo in itertools.product(*(runs_axes.get(k) or axes[k] for k in keys)):
        point = dict(zip(keys, combo))
        method, profile = point["method"], point["profile"]
        given = {s: point[s] for s in setting_names if s in known[method]}
        try:
            cfg = config_of(method, profile, **given)
        except ValueError as err:
            raise ValueError(f"run {method} {given}: {err}") from err
        settings = tuple(sorted((s, _canonical_setting(cfg, s)) for s in given))
        run = Run(*(point[k] for k in RUN_KEYS), settings=settings)
        runs.setdefault(run.key(), run)
    return SweepSpec(name, tuple(runs.values()))


def _canonical_setting(cfg: Any, name: str) -> Any:
    """The setting as the config holds it, JSON-ready: a float field given as 1 is 1.0 (one run,
    one key), a tuple a list."""
    value = getattr(cfg, name)
    if typing.get_type_hints(type(cfg)).get(name) is float and isinstance(value, int):
        return float(value)
    return list(value) if isinstance(value, tuple) else value


def load_spec(path: str | Path, data_root: str | Path | None = None) -> SweepSpec:
    """Read, validate and expand the spec file ``path`` (name: the file's stem)."""
    return expand(read_spec(path), Path(path).stem, data_root)
