"""Every registered method refuses, before any work, a setting that makes it a no-op or meaningless.

The test is over classes of settings, not named examples: for every registered method and every
numeric field of its config, the field's role is read from its name (a learning rate, a batch
size, a count of epochs/steps/repeats/samples) and every value of that role's bad class must raise
a ``ValueError`` whose message starts with the field's name (``name=value is not allowed: ...``).
A field whose zero is a documented, meaningful setting (an ablation switch) is listed in
``ZERO_MEANS`` with what zero does; it must still refuse negative values.
"""

from __future__ import annotations

import math
import re
import typing
from dataclasses import fields

import pytest

from companion import methods

#: (method, field) -> what a zero does, for count fields where 0 is a meaningful setting.
ZERO_MEANS = {
    (
        "scrub",
        "msteps",
    ): "no max steps: SCRUB's min steps alone (the ablation without forgetting steps)",
    ("unsir", "repair_epochs"): "impair without repair (the UNSIR paper's ablation)",
    ("dpsgd", "epochs"): "no noiseless fine-tuning after the DP-SGD phase",
    ("gradient_clipping", "epochs"): "no training after the plan",
    ("model_clipping", "epochs"): "no training after the plan",
    ("output_perturbation", "epochs"): "no training after the plan",
}


#: Cases whose method is owned elsewhere and did not refuse them when this test was written. Strict:
#: once a method's validate() refuses the value the case XPASSes, fails, and its entry must go.
OPEN: dict = {}  # (method, field, value) -> why it is still accepted; empty: every case is refused


def _numeric_arm(hint) -> type | None:
    """int or float when the field holds that type (optionally or None), else None."""
    args = typing.get_args(hint) if typing.get_origin(hint) is not None else (hint,)
    for t in (int, float):
        if t in args and bool not in args:
            return t
    return None


def _role(name: str) -> str | None:
    if name == "lr" or re.search(r"(^|_)lr(_|$)", name) or name == "learning_rate":
        return "rate"
    if name == "batch_size" or name.endswith("_batch"):
        return "batch"
    if name == "momentum":
        return "momentum"
    if re.search(r"epochs|steps|repeats", name) or name.startswith("n_") or name == "per_class":
        return "count"
    return None


def _bad_values(method: str, name: str, role: str, kind: type) -> list:
    if role == "rate":
        return [0.0, -1e-3, -math.inf, math.inf]
    if role == "batch":
        return [0, -1]
    if role == "momentum":  # at 1 or above the velocity never decays
        return [-0.1, 1.0, 1.5, math.inf]
    bad = [-1]
    if (method, name) not in ZERO_MEANS:
        bad.append(0)
    return [float(v) for v in bad] if kind is float else bad


def _cases():
    for method, spec in sorted(methods.REGISTRY.items()):
        if method.startswith("_"):
            continue
        hints = typing.get_type_hints(spec.config)
        for f in fields(spec.config):
            kind, role = _numeric_arm(hints[f.name]), _role(f.name)
            if kind is None or role is None:
                continue
            for value in _bad_values(method, f.name, role, kind):
                reason = OPEN.get((method, f.name, value))
                marks = (
                    pytest.mark.xfail(strict=True, raises=pytest.fail.Exception, reason=reason)
                    if reason
                    else ()
                )
                yield pytest.param(
                    method, f.name, value, id=f"{method}.{f.name}={value}", marks=marks
                )


CASES = list(_cases())


def test_every_method_with_settings_is_covered():
    covered = {c.values[0] for c in CASES}
    with_numbers = {
        m
        for m, s in methods.REGISTRY.items()
        if not m.startswith("_") and any(_role(f.name) for f in fields(s.config))
    }
    assert covered == with_numbers
    # the roles reach the fields they are meant for
    names = {(c.values[0], c.values[1]) for c in CASES}
    assert {
        ("unsir", "impair_lr"),
        ("emmn", "batch_size"),
        ("gkt", "pseudo_batch"),
        ("gkt", "n_pseudo_batches"),
        ("scrub", "msteps"),
        ("boundary_shrink", "pgd_steps"),
        ("gradient_ascent", "max_steps"),
    } <= names


@pytest.mark.parametrize("method, name, value", CASES)
def test_no_op_or_meaningless_settings_are_refused_naming_the_field(method, name, value):
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}="):
        methods.config_of(method, "quick", **{name: value})
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}="):
        methods.config_of(method, "full", **{name: value})


@pytest.mark.parametrize("method, name", sorted(ZERO_MEANS))
def test_a_documented_zero_is_accepted(method, name):
    assert getattr(methods.config_of(method, "quick", **{name: 0}), name) == 0
