"""The quoted numbers themselves: every one carries its setting, and tolerances separate the rows of
a table.

A table here is the group of quoted numbers of one paper that share the table (or figure) and the
column of their keys ``"<table>/<row>/<column>"``.
"""

import decimal
from collections import defaultdict

import pytest

from companion import reported
from companion.reported import all_reported, get


def _split(key: str) -> tuple[str, str, str]:
    parts = key.split("/")
    return (
        ("/".join(parts[:-2]), parts[-2], parts[-1])
        if len(parts) >= 3
        else (parts[0], parts[-1], "")
    )


def _tables() -> dict[tuple[str, str, str], dict[str, object]]:
    """(paper, table, column) -> {row: Reported}, for every quoted number."""
    out: dict[tuple[str, str, str], dict[str, object]] = defaultdict(dict)
    for full_key, r in all_reported().items():
        paper, key = full_key.split(":", 1)
        table, row, column = _split(key)
        out[(paper, table, column)][row] = r
    return out


def _same_level() -> set[tuple[str, str, str, frozenset]]:
    """Pairs of rows a paper's ``LEVELS`` declares printed at one level (none before LEVELS
    existed)."""
    pairs = set()
    for paper, levels in getattr(reported, "all_levels", lambda: {})().items():
        for lv in levels:
            pairs |= {
                (paper, lv.table, lv.column, frozenset((a, b)))
                for a in lv.rows
                for b in lv.rows
                if a != b
            }
    return pairs


def _exact(r) -> bool:
    return getattr(getattr(r, "setting", None), "scale", None) == "exact"


def test_tolerances_separate_the_rows_of_each_table():
    """No other row of the same table and column falls inside a row's tolerance, unless the paper
    prints the two at one level (declared, with the reason, in the paper's ``LEVELS``). Exact
    quantities (accountant values) are left out: their tolerance is rounding, and two configurations
    may share a T."""
    same = _same_level()
    conflicts = []
    for (paper, table, column), rows in _tables().items():
        for a, ra in rows.items():
            if _exact(ra):
                continue
            for b, rb in rows.items():
                if (
                    a != b
                    and (paper, table, column, frozenset((a, b))) not in same
                    and abs(rb.value - ra.value) <= ra.tolerance
                ):
                    conflicts.append(
                        f"{paper}:{table}/{{{a}}}/{column} = {ra.value} +- {ra.tolerance} accepts "
                        f"row {b} = {rb.value}"
                    )
    assert not conflicts, "\n".join(conflicts)


def test_the_issue_examples_are_separated():
    """The two cases found in review: the GMM MI-unlearning row accepted the original model's 0.968,
    the MNIST MI-unlearning D_u row accepted fine-tuning's 97.24 %."""
    assert not get("xs:gmm/mi_unlearning/p0").matches(get("xs:gmm/original/p0").value)
    assert not get("xs:gmm/retrain/p0").matches(get("xs:gmm/original/p0").value)
    assert not get("xs:mnist3/mi_gamma4_5ep/forget_acc").matches(
        get("xs:mnist3/finetune/forget_acc").value
    )


def test_levels_name_existing_rows_and_say_why():
    tables = _tables()
    for paper, levels in reported.all_levels().items():
        for lv in levels:
            rows = tables.get((paper, lv.table, lv.column), {})
            assert len(lv.rows) >= 2 and lv.rows <= set(rows), (paper, lv)
            assert len(lv.reason.split()) >= 3, (paper, lv)


def test_every_quoted_number_carries_its_setting():
    from companion import models
    from companion.data import TASKS

    datasets = set(TASKS) | {
        "cifar10_features",
        "cifar100_features",
        "gmm",
        "adult",
        "pins_no_split",
    }
    archs = set(models.ARCHS) | {"mlp_10_64_32_2"}
    for key, r in all_reported().items():
        s = r.setting
        assert isinstance(s, reported.Setting), f"{key} has no setting"
        assert s.scale in ("full", "exact"), (
            f"{key}: a paper's number is at full scale or exact, not {s.scale!r}"
        )
        if s.scale == "full":
            assert s.dataset in datasets, f"{key}: unknown dataset {s.dataset!r}"
        assert s.arch is None or s.arch in archs or s.arch.startswith("unknown"), (
            f"{key}: unknown architecture {s.arch!r}"
        )
        assert s.variant in (None, "paper", "as_coded", "zemel_lfr"), (
            f"{key}: unknown variant {s.variant!r}"
        )


@pytest.mark.parametrize("key", sorted(k for k, r in all_reported().items() if _exact(r)))
def test_exact_tolerances_only_absorb_rounding(key):
    """An exact quantity's tolerance is at most half a unit in the last printed digit."""
    r = get(key)
    exponent = decimal.Decimal(repr(float(r.value))).normalize().as_tuple().exponent
    half_unit = 0.5 * 10.0 ** min(exponent, 0)
    assert r.tolerance <= half_unit * (1 + 1e-9), (
        f"{key}: {r.value} +- {r.tolerance} (half a unit: {half_unit:g})"
    )


def test_paper_tables_judge_as_coded_rows_only_against_as_coded_runs():
    """The paper's RTRN / SSD / JiT rows come from the authors' code; BSLN has one version."""
    for table in ("pins_full_class", "cifar20_subclass_rocket", "cifar10_random100"):
        for method in ("RTRN", "JiT"):
            assert get(f"jit:{table}/{method}/Dr").setting.variant == "as_coded"
        assert get(f"jit:{table}/BSLN/Dr").setting.variant is None
    assert get("jit:pins_full_class/SSD/Dr").setting.variant == "as_coded"
    assert get("jit:cifar20_subclass_rocket/JiT/Dr").setting.arch == "vit_b16"
