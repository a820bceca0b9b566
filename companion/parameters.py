"""Notebook parameters and their rules: the one place that says what each UPPER_CASE name of a
parameters cell may hold (:data:`PARAMETERS`), and the forget requests (:func:`parse_forget`).
``python -m companion run`` checks values against these rules before a kernel starts, and
:func:`companion.config.resolve` checks them again inside the notebook. :mod:`companion.config`
re-exports every name."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from .checks import bad_value

PROFILES = ("quick", "full")


DEVICES = ("auto", "cpu", "cuda")


FORGET_KINDS = ("class", "subclass", "random")


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
    "TASK_METRIC": Rule(
        str,
        lambda v: v in ("logistic", "covariance"),
        "'logistic' or 'covariance'",
        "feature weights of the task-aligned Mahalanobis cost (multi-group feature unlearning)",
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
    "SEQ_OVERLAP": Rule(
        int,
        lambda v: 0 <= v <= 1000,
        "an integer in [0, 1000] (at most the size of a request)",
        "samples each sequential forget request repeats from the one before",
    ),
    "SEQ_BASELINE": Rule(
        str,
        lambda v: v in ("graddiff", "finetune", "scrub"),
        "'graddiff', 'finetune' or 'scrub'",
        "retain-based method compared with JiT on sequential requests",
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
    "N_REQUESTS": Rule(
        int,
        lambda v: 0 <= v <= 1000,
        "an integer in [0, 1000] (0: the profile's default)",
        "deletion requests k in the repeated-requests noise table",
    ),
    "N_RUNS": Rule(
        int,
        lambda v: v == 0 or 8 <= v <= 1_000_000,
        "0 (the profile's default) or an integer in [8, 1000000]",
        "releases per start point of the repeated-requests audit",
    ),
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
