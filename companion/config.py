"""Profiles, notebook parameters and their validation: the one place that says what is allowed.

Every notebook's ``parameters`` cell holds UPPER_CASE literals. Each name used anywhere must have a
rule in :data:`PARAMETERS`; ``python -m companion run`` checks values against these rules before a
kernel starts, and :func:`resolve` checks them again inside the notebook. Bad values raise one
``ValueError`` naming the parameter, the value and what is allowed.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

PROFILES = ("quick", "full")
DEVICES = ("auto", "cpu", "cuda")
FORGET_KINDS = ("class", "subclass", "random")


def bad_value(name: str, value: Any, allowed: str) -> ValueError:
    """Return the project's standard error for a bad parameter value."""
    return ValueError(f"{name}={value!r} is not allowed: expected {allowed}.")


# --------------------------------------------------------------------------------------------
# Number checks shared by every config (methods, experiments, theory)
# --------------------------------------------------------------------------------------------


def number_in(
    name: str,
    value: Any,
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = True,
    high_open: bool = True,
) -> None:
    """Raise the standard ``ValueError`` naming ``name`` unless ``value`` is a real number (not a
    bool) in the interval from ``low`` to ``high`` (open ends by default; an infinite end is always
    open, so the value must also be finite there)."""
    ok = (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
    )
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        if math.isinf(high):
            raise bad_value(name, value, f"a finite number {'>' if low_open else '>='} {low:g}")
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise bad_value(name, value, f"a finite number in {left}{low:g}, {high:g}{right}")


def finite(name: str, value: Any, allow_zero: bool = False) -> float:
    """A finite number > 0 (>= 0 with ``allow_zero``) as a float, else the standard ``ValueError``
    naming ``name`` (an infinite radius or budget would pass a plain ``> 0`` check and fail, or
    certify nothing, only later)."""
    number_in(name, value, 0.0, low_open=not allow_zero)
    return float(value)


def real(name: str, value: Any) -> float:
    """Any finite real number (not a bool) as a float."""
    number_in(name, value, -math.inf)
    return float(value)


def integer(name: str, value: Any, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (bools and floats such as 1.5 are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise bad_value(name, value, f"an integer >= {minimum}")
    return int(value)


def fraction(name: str, value: Any) -> float:
    """A number strictly between 0 and 1 (a delta, a probability that must not be certain)."""
    number_in(name, value, 0.0, 1.0)
    return float(value)


def rate(name: str, value: Any) -> None:
    """A learning rate (or any step size): finite and > 0 (0 makes the step a no-op)."""
    number_in(name, value, 0.0)


def weight(name: str, value: Any) -> None:
    """A loss weight or penalty: finite and >= 0."""
    number_in(name, value, 0.0, low_open=False)


def momentum(name: str, value: Any) -> None:
    """An SGD momentum: in [0, 1) (at 1 or above the velocity never decays)."""
    number_in(name, value, 0.0, 1.0, low_open=False)


# --------------------------------------------------------------------------------------------
# Parameter rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How one notebook parameter is typed and checked.

    Parameters
    ----------
    kind : type
        The Python type a value must have (``int`` values are accepted where ``float`` is asked).
    check : callable, optional
        Returns True for an allowed value.
    allowed : str
        Human-readable description of the allowed values, used in error messages.
    help : str
        One line on what the parameter does.
    """

    kind: type
    check: Callable[[Any], bool] | None = None
    allowed: str = ""
    help: str = ""

    def validate(self, name: str, value: Any) -> Any:
        kind = self.kind
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise bad_value(
                name,
                value,
                f"a value of type {kind.__name__}" + (f" ({self.allowed})" if self.allowed else ""),
            )
        if kind is float and not math.isfinite(value):
            raise bad_value(
                name, value, "a finite number" + (f" ({self.allowed})" if self.allowed else "")
            )
        if self.check is not None and not self.check(value):
            raise bad_value(name, value, self.allowed)
        return value


def _forget_ok(v: str) -> bool:
    try:
        parse_forget(v)
    except ValueError:
        return False
    return True


def _pos(v: float) -> bool:
    return v > 0


def _nonneg(v: float) -> bool:
    return v >= 0


PARAMETERS: dict[str, Rule] = {
    # shared by every notebook
    "PROFILE": Rule(
        str,
        lambda v: v in PROFILES,
        "one of 'quick', 'full'",
        "quick: CPU + embedded data; full: GPU + the papers' datasets",
    ),
    "SEED": Rule(int, lambda v: 0 <= v < 2**31, "an integer in [0, 2**31)", "base random seed"),
    "DEVICE": Rule(
        str,
        lambda v: v in DEVICES or re.fullmatch(r"cuda:\d+", v) is not None,
        "'auto', 'cpu', 'cuda' or 'cuda:N'",
        "where tensors live; 'auto' picks the profile's device",
    ),
    "DATA_ROOT": Rule(
        str,
        None,
        "a path (empty string: $COMPANION_DATA_ROOT or ./data)",
        "where FULL datasets live",
    ),
    # experiment knobs
    "N_SEEDS": Rule(
        int, lambda v: 1 <= v <= 100, "an integer in [1, 100]", "number of seeds to average over"
    ),
    "N_SHADOWS": Rule(
        int,
        lambda v: 8 <= v <= 1024 and v % 4 == 0,
        "a multiple of 4 in [8, 1024]",
        "models per ensemble of a membership audit (shadow, retrained, unlearned)",
    ),
    "FORGET_CLASS": Rule(
        int,
        lambda v: 0 <= v <= 99,
        "an integer class id in [0, 99] (and below the task's class count)",
        "class to forget",
    ),
    "FORGET_SUBCLASS": Rule(
        int,
        lambda v: 0 <= v <= 99,
        "an integer fine-class id in [0, 99]",
        "fine class to forget inside its superclass",
    ),
    "N_RANDOM": Rule(
        int,
        lambda v: v >= 1,
        "a positive integer (at most the training-set size)",
        "number of random training samples to forget",
    ),
    "FORGET": Rule(str, _forget_ok, "'class:K', 'subclass:K' or 'random:N'", "what to forget"),
    "TASK": Rule(
        str,
        lambda v: re.fullmatch(r"[a-z0-9_\-]+", v) is not None,
        "a task name listed by companion.data.available_tasks()",
        "dataset/task",
    ),
    "ARCH": Rule(
        str,
        lambda v: re.fullmatch(r"[a-z0-9_\-]+", v) is not None,
        "an architecture listed by companion.models.available()",
        "network",
    ),
    "EPSILON": Rule(float, _pos, "a number > 0", "privacy/unlearning budget epsilon"),
    "DELTA": Rule(
        float, lambda v: 0 < v < 1, "a number in (0, 1)", "privacy/unlearning budget delta"
    ),
    "SIGMA": Rule(float, _pos, "a number > 0", "noise scale"),
    "GAMMA": Rule(float, _nonneg, "a number >= 0", "regularisation weight"),
    "LR": Rule(float, _pos, "a number > 0", "learning rate"),
    "EPOCHS": Rule(int, lambda v: v >= 0, "an integer >= 0", "training or unlearning epochs"),
    "N_SAMPLES": Rule(
        int, lambda v: v >= 1, "an integer >= 1", "number of perturbations / samples"
    ),
    "T": Rule(float, lambda v: 0 <= v <= 1, "a number in [0, 1]", "position on the McCann path"),
    # --- xs parameters (Xu & Strohmer chapters) ---
    "DIM": Rule(
        int,
        lambda v: 1 <= v <= 64,
        "an integer in [1, 64]",
        "dimension of the synthetic Gaussian groups (feature unlearning)",
    ),
    "LABEL_TRANSPORT": Rule(
        str,
        lambda v: v in ("as_coded", "none"),
        "'as_coded' or 'none'",
        "tabular feature unlearning: also transport the labels (authors' code) or not",
    ),
    "FIT_ON": Rule(
        str,
        lambda v: v in ("train", "all"),
        "'train' (corrected) or 'all' (as coded)",
        "rows the barycenter maps are fitted on",
    ),
    "FEATURE": Rule(
        str,
        lambda v: v in ("ink", "slant", "height"),
        "'ink', 'slant' or 'height'",
        "pixel attribute playing the feature Z to unlearn",
    ),
    "N_COMPONENTS": Rule(
        int,
        lambda v: 1 <= v <= 784,
        "an integer in [1, 784]",
        "PCA dimension of the image barycenter maps",
    ),
    "QUANTILE": Rule(
        float,
        lambda v: 0 < v < 1,
        "a number in (0, 1)",
        "threshold quantile of the pixel attribute: Z = 1 above it",
    ),
    "CELEBA_ATTR": Rule(
        str,
        lambda v: v in ("Smiling", "Male"),
        "'Smiling' or 'Male'",
        "CelebA attribute playing Z (FULL profile)",
    ),
    "N_BOOT": Rule(
        int,
        lambda v: 10 <= v <= 100_000,
        "an integer in [10, 100000]",
        "random batches / samples per estimator-bias study (data-point unlearning)",
    ),
    "N_REPS": Rule(
        int,
        lambda v: 0 <= v <= 1000,
        "an integer in [0, 1000] (0: the profile's default)",
        "repetitions of the GMM toy (data-point unlearning)",
    ),
    "N_TRIALS": Rule(
        int,
        lambda v: 0 <= v <= 100,
        "an integer in [0, 100] (0: the profile's default)",
        "MI-unlearning trials per (gamma, epochs) setting",
    ),
    "FORGET_SHARE": Rule(
        float,
        lambda v: 0 < v <= 1,
        "a number in (0, 1]",
        "share of the forget class's training samples to unlearn (paper: 0.75)",
    ),
    # --- end xs parameters ---
    # --- jit parameters (Foster et al. chapters) ---
    "RADIUS": Rule(float, _pos, "a number > 0", "radius r of the neighbourhood B_r(x) in alpha(x)"),
    "TAU": Rule(
        float,
        lambda v: 0 <= v <= 1,
        "a number in [0, 1]",
        "information threshold: alpha(x) >= tau is low information",
    ),
    "RADIUS_SCALE": Rule(
        float,
        _pos,
        "a number > 0",
        "radius of B_r(x) on image data, in units of the median 10th-neighbour distance",
    ),
    "JIT_FORGET": Rule(
        str,
        lambda v: v == "auto" or _forget_ok(v),
        "'auto' (the table's default for the profile) or 'class:K', 'subclass:K', 'random:N' "
        "matching the chapter",
        "what the JiT baseline table forgets",
    ),
    # --- end jit parameters ---
    # --- cert parameters (Koloskova et al. chapters) ---
    "EPSILON_R": Rule(
        float,
        _pos,
        "a number > 0",
        "Renyi bound eps_R of gradient clipping (the reference code's knob)",
    ),
    "C2": Rule(float, _pos, "a number > 0", "model clipping projection radius"),
    # --- end cert parameters ---
}


def validate_param(name: str, value: Any) -> Any:
    """Validate one notebook parameter against :data:`PARAMETERS`; return the (coerced) value."""
    if name not in PARAMETERS:
        raise ValueError(
            f"unknown parameter {name!r}: known parameters are {', '.join(sorted(PARAMETERS))}."
        )
    return PARAMETERS[name].validate(name, value)


def validate_params(
    params: dict[str, Any], allowed_names: set[str] | None = None
) -> dict[str, Any]:
    """Validate a parameter dict; ``allowed_names`` restricts names to one notebook's parameters."""
    out = {}
    for name, value in params.items():
        if allowed_names is not None and name not in allowed_names:
            raise ValueError(
                f"unknown parameter {name!r} for this notebook: its parameters are "
                f"{', '.join(sorted(allowed_names))}."
            )
        out[name] = validate_param(name, value)
    return out


# --------------------------------------------------------------------------------------------
# Forget specifications
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForgetSpec:
    """What to forget: ``kind`` in {'class', 'subclass', 'random'} and its integer ``value``."""

    kind: str
    value: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_forget(spec: str | ForgetSpec) -> ForgetSpec:
    """Parse ``'class:K'``, ``'subclass:K'`` or ``'random:N'``."""
    if isinstance(spec, ForgetSpec):
        return spec
    m = re.fullmatch(r"(class|subclass|random):(-?\d+)", str(spec).strip())
    if m is None:
        raise bad_value("forget", spec, "'class:K', 'subclass:K' or 'random:N' with integer K, N")
    kind, value = m.group(1), int(m.group(2))
    if kind == "random" and value <= 0:
        raise bad_value("forget", spec, "'random:N' with N >= 1")
    if kind in ("class", "subclass") and value < 0:
        raise bad_value("forget", spec, f"'{kind}:K' with K >= 0")
    return ForgetSpec(kind, value)


# --------------------------------------------------------------------------------------------
# Run context: profile, device, data root
# --------------------------------------------------------------------------------------------


def project_root() -> Path:
    """The book's folder (holding ``_toc.yml``): the nearest one at or above the working directory,
    else the source checkout the package was imported from, else the working directory.

    Notebook kernels (papermill, nbval) may start in a notebook's own folder; anchoring the cache
    and the data root here makes every run share them.
    """
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "_toc.yml").exists():
            return folder
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "_toc.yml").exists() else cwd


def default_data_root() -> Path:
    """``$COMPANION_DATA_ROOT`` (or ``$DATA_ROOT``), else ``data/`` in the project root."""
    env = os.environ.get("COMPANION_DATA_ROOT") or os.environ.get("DATA_ROOT")
    return Path(env).expanduser() if env else project_root() / "data"


def default_cache_dir() -> Path:
    """``$COMPANION_CACHE``, else ``.cache/companion`` in the project root."""
    env = os.environ.get("COMPANION_CACHE")
    return Path(env).expanduser() if env else project_root() / ".cache" / "companion"


@dataclass(frozen=True)
class RunContext:
    """The resolved settings a notebook or CLI call runs under."""

    profile: str
    seed: int
    device: str
    data_root: Path
    params: dict = field(default_factory=dict, compare=False)

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    def banner(self) -> str:
        what = (
            "QUICK profile: CPU-scale analogue on embedded data; numbers are not the paper's."
            if self.quick
            else "FULL profile: the papers' datasets and model sizes."
        )
        return f"{what} seed={self.seed} device={self.device}"


def torch_device(device=None, name: str = "device"):
    """The one place that decides what a device argument means: ``None``/``'auto'`` -> CUDA when
    visible, else the CPU; otherwise the named device (``'cpu'``, ``'cuda'``, ``'cuda:N'`` or a
    ``torch.device``), refused with the standard ``ValueError`` (naming ``name``) when it is unknown
    or
    not available on this machine. Returns a ``torch.device``."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    allowed = "'auto', 'cpu', 'cuda' or 'cuda:N' (a visible GPU), or a torch.device"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise bad_value(name, device, allowed) from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (dev.index is not None and dev.index >= count):
            raise bad_value(
                name, device, f"{allowed}; this machine has {count} visible CUDA device(s)"
            )
    elif dev.type != "cpu":
        raise bad_value(name, device, allowed)
    return dev


def resolve_device(device: str, profile: str) -> str:
    """A notebook's ``DEVICE`` for its profile: ``'auto'`` is the CPU in QUICK and CUDA in FULL,
    where no visible GPU is an error unless ``DEVICE='cpu'`` is forced; a named device must be
    available (:func:`torch_device`)."""
    import torch

    validate_param("DEVICE", device)
    if device == "auto":
        if profile == "full":
            if not torch.cuda.is_available():
                raise ValueError(
                    "PROFILE='full' needs a CUDA GPU and none is visible. Run on a GPU machine, or "
                    "force "
                    "the CPU with DEVICE='cpu' (-p DEVICE cpu) if you accept hours of compute."
                )
            return "cuda"
        return "cpu"
    torch_device(device, name="DEVICE")
    return device


def resolve(
    profile: str = "quick",
    seed: int = 0,
    device: str = "auto",
    data_root: str | None = None,
    **params: Any,
) -> RunContext:
    """Validate a notebook's parameters and return its :class:`RunContext`.

    Every keyword is checked against :data:`PARAMETERS` (UPPER_CASE names) before anything runs.
    """
    validate_param("PROFILE", profile)
    validate_param("SEED", seed)
    checked = validate_params({k: v for k, v in params.items()})
    root = Path(data_root).expanduser() if data_root else default_data_root()
    return RunContext(
        profile=profile,
        seed=seed,
        device=resolve_device(device, profile),
        data_root=root,
        params=checked,
    )


@dataclass(frozen=True)
class ProfileSetting:
    """What an experiment runs in each profile: the package decides, a notebook only asks.

    A subclass is a frozen dataclass of the experiment's choices (``task``, ``arch``, sizes) with
    defaults; ``QUICK`` and ``FULL`` hold each profile's overrides of them.
    ``Setting.for_profile( profile, task=TASK)`` returns the profile's setting with every given
    value that is not ``'auto'`` (or None) in place of the default, and a ``profile`` field, where
    the class has one, set to the profile. The chapter's pre-kernel check reads the same call
    (:func:`companion.notebooks.preflight`).
    """

    QUICK = {}  # type: dict[str, Any]
    FULL = {}  # type: dict[str, Any]

    @classmethod
    def for_profile(cls, profile: str, **given: Any) -> "ProfileSetting":
        if profile not in PROFILES:
            raise bad_value("profile", profile, f"one of {PROFILES}")
        names = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(given) - names)
        if unknown:
            raise bad_value(
                unknown[0],
                given[unknown[0]],
                f"a setting of {cls.__name__}: one of {sorted(names)}",
            )
        chosen = {
            k: v
            for k, v in given.items()
            if v is not None and not (isinstance(v, str) and v == "auto")
        }
        fixed = {"profile": profile} if "profile" in names else {}
        return cls(**{**(cls.FULL if profile == "full" else cls.QUICK), **chosen, **fixed})
