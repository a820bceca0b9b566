"""Report helpers: formatting, ours-vs-reported tables and the scorecard records."""

import math
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from companion import report
from companion.reported import Reported, Setting

#: A FULL-scale number of the paper (MNIST, the MLP) and ours in the same setting.
PAPER = Setting("mnist", "mlp", None, "full", "class:3")
OURS = Setting("mnist", "mlp", None, "full", "class:3")


def test_pct_and_num():
    assert (
        report.pct(0.1234) == "12.3%"
        and report.pct(float("nan")) == "—"
        and report.num(1234.5) == "1.23e+03"
    )


def test_compare_quick_has_no_verdict_and_full_judges():
    rep = Reported(0.5, "Table 1, row A", tolerance=0.05, setting=PAPER)
    quick = report.compare([("a", 0.52, rep)], quick=True)
    assert (
        "within tolerance" not in quick.columns
        and quick.loc["a", "ours (QUICK analogue)"] == "52.0%"
    )
    full = report.compare([("a", 0.52, rep), ("b", 0.70, rep)], quick=False, setting=OURS)
    assert full["within tolerance"].tolist() == ["yes", "no"]


def test_scorecard_records_rows_per_notebook(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path))
    monkeypatch.setenv(report.SCORECARD_ENV, "notebooks/x/01_demo.py")
    rep = Reported(2.0, "eq. 3", tolerance=0.0, setting=Setting(scale="exact"))
    report.compare([("T", 2.0, rep)], fmt=str, quick=False)
    # same quantity is replaced
    report.compare([("T", 3.0, rep), ("sigma", 1.0, rep)], fmt=str, quick=False)
    sc = report.scorecard()
    assert isinstance(sc, pd.DataFrame) and sorted(sc["quantity"]) == ["T", "sigma"]
    assert (
        sc.set_index("quantity").loc["T", "ours"] == 3.0
        and not sc.set_index("quantity").loc["T", "match"]
    )
    monkeypatch.delenv(report.SCORECARD_ENV)
    report.compare([("other", 1.0, rep)], quick=False)  # outside the pipeline nothing is recorded
    assert len(report.scorecard()) == 2


def test_mean_std_table():
    s = pd.DataFrame(
        {"acc": [0.5], "acc_std": [0.1], "seconds": [2.0], "seconds_std": [math.nan]}, index=["m"]
    )
    t = report.mean_std_table(s, {"acc": "accuracy", "seconds": "time"})
    assert t.loc["m", "accuracy"] == "50.0% ± 10.0%" and t.loc["m", "time"] == "2.00"


# --- like with like (issue 8, item 12) ---


def _row(ours, rep, quick=False, setting=None):
    return report.scorecard_row("q", ours, rep, quick, setting=setting)


def test_matching_full_row_is_judged_with_the_tolerance():
    rep = Reported(0.9458, "Table, row MI", tolerance=0.02, setting=PAPER)
    inside, outside = _row(0.96, rep, setting=OURS), _row(0.9724, rep, setting=OURS)
    assert (inside["match"], inside["status"]) == (True, "within tolerance")
    assert (outside["match"], outside["status"]) == (False, "outside tolerance")
    assert inside["setting"]["arch"] == "mlp" and inside["paper_setting"]["dataset"] == "mnist"


@pytest.mark.parametrize(
    "field, ours, why",
    [
        ("arch", "vgg11", "ours vgg11, paper mlp"),
        ("dataset", "cifar10", "ours cifar10, paper mnist"),
        ("variant", "paper", "variant: ours paper, paper as_coded"),
        ("forget", "class:5", "forget: ours class:5, paper class:3"),
    ],
)
def test_mismatched_setting_is_not_judged_and_says_why(field, ours, why):
    paper = replace(PAPER, variant="as_coded")
    rep = Reported(0.5, "Table 1", tolerance=0.05, setting=paper)
    mine = replace(paper, **{field: ours})
    row = _row(0.5, rep, setting=mine)  # the value itself would be within tolerance
    assert (
        row["match"] is None and row["status"].startswith("not comparable") and why in row["status"]
    )
    assert rep.matches(0.5, mine) is None and rep.matches(0.5) is True
    table = report.compare([("x", 0.5, rep)], quick=False, setting=mine)
    assert table.loc["x", "within tolerance"] == row["status"]


def test_unrecorded_setting_is_not_judged():
    rep = Reported(0.5, "Table 1", tolerance=0.05, setting=PAPER)
    row = _row(0.5, rep)
    assert (
        row["match"] is None
        and "our dataset is not recorded" in row["status"]
        and "our scale is not recorded" in row["status"]
    )


def test_unknown_paper_architecture_is_never_judged():
    rep = Reported(
        0.98,
        "review",
        tolerance=0.02,
        setting=Setting("cifar10", "unknown (probably vit_b16)", None, "full"),
    )
    row = _row(0.98, rep, setting=Setting("cifar10", "vit_b16", None, "full"))
    assert (
        row["match"] is None
        and row["status"] == "not comparable: ours vit_b16, paper unknown (probably vit_b16)"
    )


@pytest.mark.parametrize(
    "setting", [OURS, Setting(scale="exact"), None, Setting("mnist", "mlp", None, "full")]
)
def test_quick_row_is_never_judged(setting):
    for paper in (PAPER, Setting(scale="exact")):
        rep = Reported(2.0, "eq. 3", tolerance=0.0, setting=paper)
        row = _row(2.0, rep, quick=True, setting=setting)
        assert (
            row["match"] is None
            and row["status"] == "not judged (QUICK analogue)"
            and row["setting"]["scale"] == "quick"
        )
    assert (
        _row(2.0, Reported(2.0, "x", 0.0, setting=PAPER), setting=replace(OURS, scale="quick"))[
            "match"
        ]
        is None
    )


def test_exact_quantities_are_judged_at_any_scale():
    rep = Reported(6, "accountant", 0.0, setting=Setting(variant="as_coded", scale="exact"))
    assert _row(6, rep, setting=Setting(variant="as_coded"))["match"] is True
    assert (
        _row(6, rep, setting=Setting(scale="exact"))["status"]
        == "not comparable: our variant is not recorded, paper as_coded"
    )


def test_row_settings_update_the_table_setting():
    paper = replace(PAPER, variant="as_coded")
    rep = Reported(0.5, "Table 1", tolerance=0.05, setting=paper)
    t = report.compare(
        [
            ("paper variant", 0.5, rep, {"variant": "paper"}),
            ("as coded", 0.5, rep, {"variant": "as_coded"}),
        ],
        quick=False,
        setting=OURS,
    )
    assert t["within tolerance"].tolist() == [
        "not comparable: variant: ours paper, paper as_coded",
        "yes",
    ]


def test_setting_of_reads_the_objects_a_chapter_holds():
    from companion.config import ForgetSpec

    class _Task:
        name, forget_spec = "cifar20", ForgetSpec("subclass", 69)

    class _Model:
        companion_arch = "vgg11"

    assert Setting.of(_Task(), _Model(), "paper", "full") == Setting(
        "cifar20", "vgg11", "paper", "full", "subclass:69"
    )
    assert Setting.of("mnist", "mlp", profile="quick", forget="class:3") == Setting(
        "mnist", "mlp", None, "quick", "class:3"
    )
    with pytest.raises(ValueError, match="scale"):
        Setting(scale="medium")


def test_the_issue_cases_are_not_comparable():
    """FULL sub-class and random tables run VGG11 but the paper's rows are ViT (or unknown); the
    paper's JiT rows are as coded, so our paper-variant JiT row is not judged against them."""
    from companion.reported import get

    vgg_subclass = Setting("cifar20", "vgg11", "paper", "full", "subclass:69")
    row = _row(0.0, "jit:cifar20_subclass_rocket/JiT/Df", setting=vgg_subclass)
    assert row["match"] is None and "ours vgg11, paper vit_b16" in row["status"]
    vit_paper = replace(vgg_subclass, arch="vit_b16")
    row = _row(0.0, "jit:cifar20_subclass_rocket/JiT/Df", setting=vit_paper)
    assert row["match"] is None and "variant: ours paper, paper as_coded" in row["status"]
    row = _row(
        0.0, "jit:cifar20_subclass_rocket/JiT/Df", setting=replace(vit_paper, variant="as_coded")
    )
    assert row["match"] is True
    row = _row(
        0.98,
        "jit:cifar10_random100/JiT/Dr",
        setting=Setting("cifar10", "vgg11", "as_coded", "full", "random:100"),
    )
    assert row["match"] is None and "ours vgg11, paper unknown (probably vit_b16)" in row["status"]
    assert (
        get("jit:cifar100_full_class_rocket/JiT/Dr").matches(
            0.662, Setting("cifar100", "vgg11", "paper", "full", "class:69")
        )
        is None
    )


def test_full_row_without_our_setting_is_not_judged():
    """Before settings were recorded, a FULL row was judged whatever it ran: a VGG11 sub-class run
    'matched' the paper's ViT row."""
    row = report.scorecard_row("subclass JiT Df", 0.0, "jit:cifar20_subclass_rocket/JiT/Df", False)
    assert row["match"] is None and row["status"].startswith("not comparable")
    table = report.compare(
        [("subclass JiT Df", 0.0, "jit:cifar20_subclass_rocket/JiT/Df")], quick=False
    )
    assert table.loc["subclass JiT Df", "within tolerance"].startswith("not comparable")


def test_glue_stores_numpy_and_torch_scalars_as_plain_numbers(monkeypatch):
    """myst-nb formats a glued number from its text/plain repr: 'np.float64(0.77)' cannot be
    formatted and fails the -W book build."""
    import numpy as np
    import torch

    seen = {}
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(report, "_publish", lambda name, value, display: seen.update({name: value}))
    for name, value in {
        "a": np.float64(0.77),
        "b": np.int64(3),
        "c": torch.tensor(2.5),
        "d": np.float32(1.5),
    }.items():
        report.glue(name, value)
        assert type(seen[name]) in (float, int) and repr(seen[name]) == repr(value.item())


def test_glue_writes_myst_nbs_format_without_myst_nb(monkeypatch):
    """A kernel without the book's extras (a lent GPU machine) glued nothing, so its FULL records
    held no value; glue now writes myst-nb's output itself, the same bundle and metadata myst-nb
    writes."""
    import IPython
    import IPython.display
    from myst_nb.ext import glue as mystglue

    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    ours, theirs = [], []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: ours.append((a, k)))
    monkeypatch.setattr(mystglue, "ipy_display", lambda *a, **k: theirs.append((a, k)))
    mystglue.glue("acc", 0.9863, display=False)
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import myst_nb now fails
    report.glue("acc", np.float64(0.9863))
    assert ours == theirs and ours[0][0][0] == {report.GLUE_MIME + "text/plain": "0.9863"}
