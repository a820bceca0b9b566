"""Report helpers: formatting, ours-vs-reported tables and the scorecard records."""

import math

import pandas as pd

from companion import report
from companion.reported import Reported


def test_pct_and_num():
    assert report.pct(0.1234) == "12.3%" and report.pct(float("nan")) == "—" and report.num(1234.5) == "1.23e+03"


def test_compare_quick_has_no_verdict_and_full_judges():
    rep = Reported(0.5, "Table 1, row A", tolerance=0.05)
    quick = report.compare([("a", 0.52, rep)], quick=True)
    assert "within tolerance" not in quick.columns and quick.loc["a", "ours (QUICK analogue)"] == "52.0%"
    full = report.compare([("a", 0.52, rep), ("b", 0.70, rep)], quick=False)
    assert full["within tolerance"].tolist() == ["yes", "no"]


def test_scorecard_records_rows_per_notebook(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path))
    monkeypatch.setenv(report.SCORECARD_ENV, "notebooks/x/01_demo.py")
    rep = Reported(2.0, "eq. 3", tolerance=0.0)
    report.compare([("T", 2.0, rep)], fmt=str, quick=False)
    report.compare([("T", 3.0, rep), ("sigma", 1.0, rep)], fmt=str, quick=False)  # same quantity is replaced
    sc = report.scorecard()
    assert isinstance(sc, pd.DataFrame) and sorted(sc["quantity"]) == ["T", "sigma"]
    assert sc.set_index("quantity").loc["T", "ours"] == 3.0 and not sc.set_index("quantity").loc["T", "match"]
    monkeypatch.delenv(report.SCORECARD_ENV)
    report.compare([("other", 1.0, rep)], quick=False)  # outside the pipeline nothing is recorded
    assert len(report.scorecard()) == 2


def test_mean_std_table():
    s = pd.DataFrame({"acc": [0.5], "acc_std": [0.1], "seconds": [2.0], "seconds_std": [math.nan]}, index=["m"])
    t = report.mean_std_table(s, {"acc": "accuracy", "seconds": "time"})
    assert t.loc["m", "accuracy"] == "50.0% ± 10.0%" and t.loc["m", "time"] == "2.00"
