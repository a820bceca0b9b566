"""Running the forgetting tables of Foster et al. (JiT, TMLR 2025) and comparing them with the
paper.

:func:`run_table` loads (or trains, cached) the original model of each seed with
:func:`companion.models.train_or_load`, runs every row's method through
:func:`companion.methods.unlearn`, scores it with :func:`companion.metrics.evaluate` and returns a
:class:`TableResult`: a tidy frame (one row per method x seed) and a summary (mean, spread over
seeds, speed-up against retraining). :func:`display_table`, :func:`compare_with_paper`,
:func:`ranking_agreement` and :func:`gap_to_retrain` read it against the paper's numbers. What each
table runs (its rows, default setting and JiT's settings) is
:mod:`companion.experiments.jit_settings`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import methods, metrics, models, report
from ..config import bad_value
from ..progress import progress
from ..reported import Reported, get
from ..training import TrainRecipe
from .jit_settings import TABLES, _plan, load_task, table_setting

# --------------------------------------------------------------------------------------------
# The reference code's head-only retrain
# --------------------------------------------------------------------------------------------


class BaseAndHead(nn.Module):
    """A flat ``nn.Sequential`` regrouped as the reference code's wrapper: ``base`` (every layer but
    the last) and ``head`` (the final Linear), with the same parameters and outputs.

    The reference "retrain" resets the *direct children that have* ``reset_parameters``; on its
    VGG wrapper that is the head alone (torchvision's VGG has no ``reset_parameters``). On a flat
    Sequential every Conv/Linear is a direct child, so the same rule would reset the whole network.
    Regrouping keeps the reference semantics: only the head is reset.
    """

    def __init__(self, model: nn.Sequential) -> None:
        super().__init__()
        if not isinstance(model, nn.Sequential) or not isinstance(model[-1], nn.Linear):
            raise bad_value("model", type(model).__name__, "an nn.Sequential ending in nn.Linear")
        self.base = nn.Sequential(*list(model)[:-1])
        self.head = model[-1]
        self.companion_arch = getattr(model, "companion_arch", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.base(x))


def _as_reference_wrapper(model: nn.Module) -> nn.Module:
    """The model as the reference code's head-only retrain sees it (see :class:`BaseAndHead`)."""
    return BaseAndHead(copy.deepcopy(model)) if isinstance(model, nn.Sequential) else model


# --------------------------------------------------------------------------------------------
# Running a table
# --------------------------------------------------------------------------------------------


@dataclass
class TableResult:
    """What :func:`run_table` returns.

    rows : DataFrame, one row per (label, seed): every key of :func:`companion.metrics.evaluate`
        plus ``label``, ``method``, ``zero_shot``, ``extra``, ``seed``, ``speedup``.
    summary : DataFrame indexed by label: mean and ``<metric>_std`` over seeds, ``speedup``
        (mean retrain time / mean method time), ``zero_shot``, ``extra``.
    setting : the resolved table setting plus ``seeds``, ``profile`` and the sizes of the splits.
    """

    table: str
    rows: pd.DataFrame
    summary: pd.DataFrame
    setting: dict = field(default_factory=dict)


METRICS = (
    "Dr",
    "Df",
    "mia_entropy",
    "retain_acc",
    "forget_acc",
    "test_acc",
    "val_acc",
    "mia_entropy_heldout",
    "mia_loss_auc",
    "seconds",
)


def run_table(
    table: str,
    profile: str = "quick",
    seeds: Iterable[int] = (0, 1),
    device: str | None = None,
    task: str = "auto",
    arch: str = "auto",
    forget: str = "auto",
    rows: Sequence[str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    recipe: TrainRecipe | None = None,
    data_root: str | None = None,
    show_progress: bool = True,
) -> TableResult:
    """Run the rows of ``table`` over ``seeds`` and score them.

    Parameters
    ----------
    table : {'full_class', 'subclass', 'random'}
    profile : {'quick', 'full'}
        Selects the default setting and every method's config defaults (FULL = the reference
        scripts' settings).
    seeds : iterable of int
        Seed ``s`` draws the validation split (and the random forget set), initialises and trains
        the original and the retrained model, and seeds every method.
    task, arch, forget : str
        ``'auto'`` (the profile's default) or an explicit task / architecture / forget request.
    rows : list of str, optional
        Row labels (:data:`ROWS`); default: every row the reference scripts run for this kind.
    overrides : dict, optional
        Row label -> extra settings for that row's method config.
    recipe : TrainRecipe, optional
        Training recipe of the original and the retrained model (default: ``recipe_for``).
    """
    setting = table_setting(table, profile, task, arch, forget)
    seeds = [int(s) for s in seeds]
    if not seeds or any(s < 0 for s in seeds):
        raise bad_value("seeds", seeds, "a non-empty list of non-negative integers")
    # validated before any training
    plan = _plan(
        table,
        profile,
        setting["kind"],
        rows,
        dict(overrides or {}),
        recipe,
        setting["task"],
        setting["arch"],
    )
    out = []
    sizes = {}
    for seed in seeds:
        t = load_task(setting, seed, data_root)
        sizes = {
            "n_train": len(t.train),
            "n_retain": len(t.retain),
            "n_forget": len(t.forget),
            "n_test": len(t.test),
            "n_forget_test": len(t.forget_test),
            "num_classes": t.num_classes,
        }
        original = models.train_or_load(
            t,
            setting["arch"],
            profile,
            seed,
            device=device,
            recipe=recipe,
            show_progress=show_progress,
        )
        for r, kw in progress(plan, desc=f"{table} seed {seed}", disable=not show_progress):
            model = _as_reference_wrapper(original) if kw.get("init") == "head_only" else original
            res = methods.unlearn(r.method, model, t, profile, seed, device, **kw)
            scores = metrics.evaluate(res, t, device, seed=seed)
            out.append(
                {
                    "label": r.label,
                    "method": r.method,
                    "seed": seed,
                    "zero_shot": methods.REGISTRY[r.method].zero_shot,
                    "extra": r.extra,
                    **scores,
                }
            )
    df = pd.DataFrame(out)
    if (df.method == "retrain").any() and "RTRN" in set(df.label):
        t_re = df[df.label == "RTRN"].set_index("seed")["seconds"]
        df["speedup"] = [metrics.speedup(t_re[s], x) for s, x in zip(df.seed, df.seconds)]
    setting.update(profile=profile, seeds=seeds, **sizes)
    return TableResult(table, df, summarize(df), setting)


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std over seeds per row label (order kept), with the speed-up vs RTRN."""
    cols = [c for c in METRICS if c in df.columns]
    g = df.groupby("label", sort=False)
    mean = g[cols].mean()
    std = g[cols].std(ddof=1).fillna(0.0)  # one seed: no spread
    out = pd.concat([mean, std.add_suffix("_std")], axis=1)
    out["zero_shot"] = g["zero_shot"].first()
    out["extra"] = g["extra"].first()
    out["method"] = g["method"].first()
    if "RTRN" in out.index:
        t_re = out.loc["RTRN", "seconds"]
        out["speedup"] = [metrics.speedup(t_re, s) for s in out["seconds"]]
    return out


# --------------------------------------------------------------------------------------------
# Presentation and comparison with the paper
# --------------------------------------------------------------------------------------------


def _pm(m: float, s: float) -> str:
    if m is None or (isinstance(m, float) and math.isnan(m)):
        return "—"
    return f"{100 * m:.1f} ± {100 * s:.1f}"


def display_table(result: TableResult) -> pd.DataFrame:
    """The paper's table layout: Dr, Df, MIA (percent, mean ± std over seeds), time, speed-up."""
    s = result.summary
    out = pd.DataFrame(index=s.index)
    out["zero-shot"] = ["yes" if z else "" for z in s.zero_shot]
    out["Dr %"] = [_pm(m, d) for m, d in zip(s.Dr, s.Dr_std)]
    out["Df %"] = [_pm(m, d) for m, d in zip(s.Df, s.Df_std)]
    out["MIA %"] = [_pm(m, d) for m, d in zip(s.mia_entropy, s.mia_entropy_std)]
    out["retain-train %"] = [_pm(m, d) for m, d in zip(s.retain_acc, s.retain_acc_std)]
    out["time (s)"] = [f"{x:.2f}" for x in s.seconds]
    if "speedup" in s:
        out["speed-up vs RTRN"] = [
            "—" if m == "original" or not math.isfinite(x) else f"{x:.1f}x"
            for m, x in zip(s.method, s.speedup)
        ]
    out.index.name = "method"
    return out


def paper_rows(table: str, setting: dict | None = None) -> dict[str, dict[str, Reported]]:
    """The reported Dr/Df/MIA for this table: ``{label: {metric: Reported}}``.

    Without a FULL ``setting`` (or in QUICK): the review's table of this kind
    (deviations.md#jit-review-numbers), the reference for orderings. For a FULL full-class run only
    the numbers of the same dataset count: the Pins rows for ``task='pins'``, the issue-quoted JiT
    D_r for CIFAR-100 "rocket", nothing otherwise.
    """
    if table not in TABLES:
        raise bad_value("table", table, f"one of {', '.join(TABLES)}")
    if (
        setting
        and setting.get("profile") == "full"
        and table == "full_class"
        and setting.get("task") != "pins"
    ):
        if setting.get("task") == "cifar100" and setting.get("forget") == "class:69":
            return {"JiT": {"Dr": get("jit:cifar100_full_class_rocket/JiT/Dr")}}
        return {}
    prefix = TABLES[table].paper
    out: dict[str, dict[str, Reported]] = {}
    for label in ("BSLN", "RTRN", "AMN", "SSD", "BDSH", "JiT"):
        cells = {}
        for metric in ("Dr", "Df", "MIA"):
            try:
                cells[metric] = get(f"jit:{prefix}/{label}/{metric}")
            except ValueError:
                continue
        if cells:
            out[label] = cells
    return out


_COL = {"Dr": "Dr", "Df": "Df", "MIA": "mia_entropy"}


def compare_with_paper(result: TableResult) -> pd.DataFrame:
    """Ours next to the paper's numbers for the methods the paper's table (as available) has.

    QUICK: a different dataset and model, so the column is labelled as an analogue and no match is
    claimed. FULL: a ``within tolerance`` column (the tolerance lives with the reported number).
    """

    quick = result.setting.get("profile", "quick") == "quick"
    s = result.summary
    rows, record = [], []
    # the paper's rows beside ours of the same label and its "(as coded)" variants; judged only like
    # with like
    for label, cells in [
        (lab, c)
        for p, c in paper_rows(result.table, result.setting).items()
        for lab in s.index
        if lab == p or lab.startswith(p + " (")
    ]:
        if label not in s.index:
            continue
        for metric, rep in cells.items():
            col = _COL[metric]
            ours, sd = float(s.loc[label, col]), float(s.loc[label, col + "_std"])
            row = {
                "method": label,
                "metric": metric,
                ("ours (QUICK analogue)" if quick else "ours"): _pm(ours, sd),
                "paper": _pm(rep.value, rep.std or 0.0),
            }
            ours_setting = report.Setting.of(
                result.setting.get("task"),
                result.setting.get("arch"),
                "as_coded" if "as coded" in label else "paper",
                result.setting.get("profile"),
                result.setting.get("forget"),
            )
            rec = report.scorecard_row(
                f"{result.table} {label} {metric}", ours, rep, quick, setting=ours_setting
            )
            if not quick:
                row["within tolerance"] = report.verdict(rec)
            row["source"] = rep.source.split(";")[0]
            rows.append(row)
            record.append(rec)
    report.record_scorecard(record)
    return pd.DataFrame(rows).set_index(["method", "metric"]) if rows else pd.DataFrame()


def _order(labels: list[str], values: np.ndarray) -> str:
    return " > ".join(labels[i] for i in np.argsort(-values, kind="stable"))


def ranking_agreement(result: TableResult) -> pd.DataFrame:
    """Does our ordering of the methods match the paper's? Per metric, over the methods both have.

    Returns one row per metric: the paper's order, ours (highest first), Kendall's tau-b between the
    two sets of values (NaN when either is constant) and the number of methods compared.
    """
    from scipy.stats import kendalltau

    s = result.summary
    paper = paper_rows(result.table, result.setting)
    out = []
    for metric in ("Dr", "Df", "MIA"):
        labels = [lab for lab in paper if lab in s.index and metric in paper[lab]]
        if len(labels) < 2:
            continue
        p = np.array([paper[lab][metric].value for lab in labels])
        o = np.array([float(s.loc[lab, _COL[metric]]) for lab in labels])
        tau = kendalltau(p, o).statistic if np.ptp(p) > 0 and np.ptp(o) > 0 else float("nan")
        out.append(
            {
                "metric": metric,
                "paper order": _order(labels, p),
                "our order": _order(labels, o),
                "Kendall tau": tau,
                "methods": len(labels),
            }
        )
    return pd.DataFrame(out).set_index("metric") if out else pd.DataFrame()


def gap_to_retrain(result: TableResult, metric: str) -> pd.Series:
    """Absolute gap of each row's ``metric`` to RTRN's mean (the reading for random forgetting)."""
    s = result.summary
    if "RTRN" not in s.index:
        raise bad_value("table", result.table, "a table with an RTRN row")
    col = _COL.get(metric, metric)
    return (s[col] - s.loc["RTRN", col]).abs().sort_values()
