"""The forgetting tables of Foster et al. (JiT, TMLR 2025): every baseline on one task, over seeds.

:func:`run_table` loads (or trains, cached) the original model of each seed with
:func:`companion.models.train_or_load`, runs every row's method through :func:`companion.methods.unlearn`,
scores it with :func:`companion.metrics.evaluate` and returns a :class:`TableResult`: a tidy frame
(one row per method x seed) and a summary (mean, spread over seeds, speed-up against retraining).

Three tables (spec ``jit.md`` sections 7 and 10), each with the profile's default setting:

==============  =============================  =========================================
table           QUICK (CPU, embedded data)     FULL (GPU, the paper's data and model)
==============  =============================  =========================================
``full_class``  digits 8x8, small CNN, digit 3  CIFAR-100 "rocket" (69), VGG11 + head
``subclass``    digits as 3 shape superclasses,  CIFAR-20 model, fine class "rocket" (69)
                forget digit 8 (in "loops")
``random``      digits, 100 random samples      CIFAR-10, 100 random samples
==============  =============================  =========================================

QUICK uses scikit-learn's 8x8 digits (not the MNIST 5k subset) because ~18 methods x 2 seeds must
run in under a minute on two CPU cores; the MNIST subset costs ~6x more per sample. Any task,
architecture and forget request can be passed instead of ``'auto'`` (e.g. ``task='pins'``).

Rows follow the paper's labels (BSLN, RTRN, FNTN, BT, AMN, UNSIR, SSD, SCRUB, GKT, EMMN, BDSH, JiT),
plus the reference code's variants where they differ from the papers ("as coded") and the extra
baselines GA, GradDiff and NPO (not in the paper). Which rows a table has follows the reference
scripts: UNSIR needs a forget class (no random forgetting); GKT and EMMN are run by the full-class
script only.
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

from .. import data, methods, metrics, models
from ..config import PROFILES, bad_value, parse_forget
from ..reported import Reported, get
from ..training import TrainRecipe, progress

# --------------------------------------------------------------------------------------------
# What each table runs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of a table: a label (the paper's), a registered method and settings for it."""

    label: str
    method: str
    overrides: tuple[tuple[str, Any], ...] = ()
    note: str = ""
    extra: bool = False  # not in the paper's tables

    def settings(self) -> dict[str, Any]:
        return dict(self.overrides)


ROWS: dict[str, Row] = {r.label: r for r in (
    Row("BSLN", "original", note="the original model, no unlearning"),
    Row("RTRN", "retrain", (("use_cache", True),), "fresh initialisation trained on the retain set (gold standard)"),
    Row("RTRN (head only, as coded)", "retrain", (("init", "head_only"),), "the reference code: reset the head only, keep the backbone trained on D_f (flat models are regrouped as base + head first)"),
    Row("FNTN", "finetune", note="5 epochs on the retain set"),
    Row("BT", "bad_teacher", note="bad teacher"),
    Row("AMN", "amnesiac", note="amnesiac"),
    Row("UNSIR", "unsir", note="error-maximising noise, impair-repair"),
    Row("SSD", "ssd", note="selective synaptic dampening, SSD paper's (lambda, alpha)"),
    Row("SSD (as coded)", "ssd", (("variant", "as_coded"),), "(lambda, alpha) as the JiT scripts pass them"),
    Row("SCRUB", "scrub", note="SCRUB"),
    Row("GKT", "gkt", note="gated knowledge transfer (zero-shot)"),
    Row("EMMN", "emmn", note="error-min/max noise (zero-shot)"),
    Row("BDSH", "boundary_shrink", note="boundary shrink (zero-shot)"),
    Row("JiT", "jit", note="JiT as the paper writes it (zero-shot)"),
    Row("JiT (as coded)", "jit", (("variant", "reference"),), "JiT as the reference code runs it"),
    Row("GA", "gradient_ascent", note="gradient ascent (extra)", extra=True),
    Row("GradDiff", "graddiff", note="gradient difference (extra)", extra=True),
    Row("NPO", "npo", note="negative preference optimisation (extra)", extra=True),
)}

_ALL = [r for r in ROWS if r != "RTRN (head only, as coded)"]
#: The rows each kind runs by default (the reference scripts' methods) ...
KIND_ROWS: dict[str, list[str]] = {
    "class": _ALL,
    "subclass": [r for r in _ALL if r not in ("GKT", "EMMN")],
    "random": [r for r in _ALL if r not in ("UNSIR", "GKT", "EMMN")],
}
#: ... and the rows a table may be asked for (the head-only retrain is shown once, in full-class
#: forgetting: it trains a whole network per seed and is not cached).
KIND_ALLOWED: dict[str, list[str]] = {**KIND_ROWS, "class": list(ROWS)}


@dataclass(frozen=True)
class TableSpec:
    """A table: its forgetting kind, the profiles' default (task, arch, forget) and its paper table."""

    kind: str
    quick: tuple[str, str, str]
    full: tuple[str, str, str]
    paper: str  # key prefix in companion.reported.jit for the review's table of this kind
    title: str


TABLES: dict[str, TableSpec] = {
    "full_class": TableSpec("class", ("digits", "small_cnn", "class:3"), ("cifar100", "vgg11", "class:69"), "pins_full_class", "Full-class forgetting"),
    "subclass": TableSpec("subclass", ("digits", "small_cnn", "subclass:8"), ("cifar20", "vgg11", "subclass:69"), "cifar20_subclass_rocket", "Sub-class forgetting"),
    "random": TableSpec("random", ("digits", "small_cnn", "random:100"), ("cifar10", "vgg11", "random:100"), "cifar10_random100", "Random forgetting"),
}

#: QUICK (sigma, eta) of the paper-variant JiT row for each table's QUICK default (task, arch):
#: what :func:`select_jit_quick` (the validation sweep :func:`jit_validation_sweep` on its default
#: grid, seeds 0 and 1) picks. Sub-class and full-class: the lowest forgotten-class validation
#: accuracy while retained-class validation accuracy stays within 5 points of the original's;
#: random: the highest validation accuracy. ``tests/experiments/test_jit_tables.py`` re-runs the
#: sweep and checks these entries.
JIT_QUICK = {"class": {"sigma": 0.5, "lr": 0.064}, "subclass": {"sigma": 1.0, "lr": 0.12}, "random": {"sigma": 0.5, "lr": 0.03}}


def jit_settings(kind: str, profile: str, task: str, arch: str) -> dict[str, Any]:
    """Settings a table passes to JiT for one (forgetting kind, task, architecture).

    QUICK on the table's default (task, arch): the validation-selected :data:`JIT_QUICK`. Anything
    else: :func:`companion.methods.jit.settings_for` for (kind, arch): in FULL the reference code's
    sigma, eta, N and batch for the model family of ``arch`` (ViT or VGG, spec section 6); in QUICK
    none (``JitConfig.QUICK`` applies). The "JiT (as coded)" row always runs the FULL settings.
    """
    if "jit" not in methods.REGISTRY:
        return {}
    from ..methods.jit import settings_for

    table = next(t for t, s in TABLES.items() if s.kind == kind)
    if profile == "quick" and (task, arch) == TABLES[table].quick[:2]:
        return dict(JIT_QUICK[kind])
    return settings_for(kind, arch, profile)


def table_setting(table: str, profile: str, task: str = "auto", arch: str = "auto", forget: str = "auto") -> dict[str, str]:
    """Resolve ``'auto'`` entries to the profile's default setting for ``table`` and check the rest.

    Returns ``{'task', 'arch', 'forget', 'kind'}``.
    """
    if table not in TABLES:
        raise bad_value("table", table, f"one of {', '.join(TABLES)}")
    if profile not in PROFILES:
        raise bad_value("profile", profile, f"one of {PROFILES}")
    spec = TABLES[table]
    d_task, d_arch, d_forget = spec.quick if profile == "quick" else spec.full
    task = d_task if task == "auto" else task
    arch = d_arch if arch == "auto" else arch
    forget = d_forget if forget == "auto" else forget
    if task not in data.TASKS:
        raise bad_value("task", task, f"'auto' or one of {', '.join(data.TASKS)}")
    if arch not in models.ARCHS:
        raise bad_value("arch", arch, f"'auto' or one of {', '.join(models.ARCHS)}")
    fs = parse_forget(forget)
    if fs.kind != spec.kind:
        raise bad_value("forget", forget, f"'auto' or a '{spec.kind}:...' request (table {table!r} is {spec.kind} forgetting)")
    return {"task": task, "arch": arch, "forget": str(fs), "kind": spec.kind}


def load_task(setting: dict[str, str], seed: int, data_root: str | None = None) -> data.Task:
    """The task of a resolved table ``setting`` (:func:`table_setting`) for ``seed``, its images
    resized in the data pipeline to the input size the architecture needs (224 for ViT, as the
    reference code's transform does), so JiT perturbs the image the network sees."""
    t = data.load_task(setting["task"], forget=setting["forget"], seed=seed, data_root=data_root)
    return t.with_input_size(models.input_size(setting["arch"]))


def table_rows(table: str, labels: Sequence[str] | None = None) -> list[Row]:
    """The rows of ``table`` (all the reference scripts run for its kind), or the named ones."""
    kind = TABLES[table].kind if table in TABLES else None
    if kind is None:
        raise bad_value("table", table, f"one of {', '.join(TABLES)}")
    allowed = KIND_ALLOWED[kind]
    if labels is None:
        return [ROWS[r] for r in KIND_ROWS[kind] if ROWS[r].method in methods.REGISTRY]
    bad = [r for r in labels if r not in allowed]
    if bad:
        raise bad_value("rows", bad, f"labels among {allowed}")
    return [ROWS[r] for r in labels]


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


#: The reference code's own "retrain" schedule (spec 10.1): SGD lr 0.01, momentum 0.9, weight decay
#: 5e-4, x0.2 at the milestones, a linear warm-up over the first two epochs. Used by the head-only
#: row in FULL (the fresh RTRN uses the pretraining recipe, as the spec settles).
REFERENCE_RETRAIN: dict[str, tuple[int, tuple[int, ...]]] = {
    "cifar10": (20, (8, 12, 16)), "cifar20": (40, (15, 30, 35)), "cifar100": (200, (60, 120, 160)), "pins": (200, (60, 120, 160)),
}


def reference_retrain_recipe(task: str) -> TrainRecipe | None:
    """The reference code's retrain recipe for ``task`` (None where it has none)."""
    if task not in REFERENCE_RETRAIN:
        return None
    epochs, milestones = REFERENCE_RETRAIN[task]
    return TrainRecipe("sgd", 0.01, epochs, 64, 0.9, 5e-4, "multistep", milestones, 0.2, 2, "cifar")


def _plan(table: str, profile: str, kind: str, rows: Sequence[str] | None, overrides: dict, recipe: TrainRecipe | None,
          task: str | None = None, arch: str | None = None) -> list[tuple[Row, dict]]:
    """Each row with the settings its method receives (validated); ``task`` and ``arch`` default to
    the profile's setting of ``table``."""
    d_task, d_arch, _ = TABLES[table].quick if profile == "quick" else TABLES[table].full
    task, arch = task or d_task, arch or d_arch
    chosen = table_rows(table, rows)
    unknown = sorted(set(overrides) - {r.label for r in chosen})
    if unknown:
        raise bad_value("overrides", unknown, f"labels among the table's rows {[r.label for r in chosen]}")
    plan = []
    for r in chosen:
        kw = dict(r.settings())
        if r.method == "jit":
            ref = kw.get("variant") == "reference"
            kw = {**jit_settings(kind, "full" if ref else profile, task, arch), **kw}
        if r.method == "retrain" and recipe is not None:
            kw["recipe"] = recipe
        elif kw.get("init") == "head_only" and profile == "full" and reference_retrain_recipe(task) is not None:
            kw["recipe"] = reference_retrain_recipe(task)
        kw.update(overrides.get(r.label, {}))
        methods.config_of(r.method, profile, **kw)
        plan.append((r, kw))
    return plan


def describe_rows(table: str, profile: str = "quick") -> pd.DataFrame:
    """The table's rows: method, zero-shot, the settings FULL runs (the spec's) and what QUICK changes."""
    kind = TABLES[table].kind if table in TABLES else None
    if kind is None:
        raise bad_value("table", table, f"one of {', '.join(TABLES)}")
    out = []
    for (r, kw_full), (_, kw_quick) in zip(_plan(table, "full", kind, None, {}, None), _plan(table, "quick", kind, None, {}, None)):
        full = methods.config_of(r.method, "full", **kw_full)
        quick = methods.config_of(r.method, "quick", **kw_quick)
        fd, qd = full.__dict__, quick.__dict__
        fmt = lambda d: ", ".join(f"{k}={v}" for k, v in d.items() if v is not None and k not in ("recipe", "chunk", "use_cache"))  # noqa: E731
        out.append({
            "method": r.label, "registry name": r.method, "zero-shot": "yes" if methods.REGISTRY[r.method].zero_shot else "",
            "in the paper": "" if r.extra else "yes", "FULL settings": fmt(fd),
            "QUICK changes": fmt({k: v for k, v in qd.items() if qd[k] != fd[k]}) or "none",
        })
    return pd.DataFrame(out).set_index("method")


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


METRICS = ("Dr", "Df", "mia_entropy", "retain_acc", "forget_acc", "test_acc", "val_acc", "mia_entropy_heldout", "mia_loss_auc", "seconds")


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
        Selects the default setting and every method's config defaults (FULL = the spec's settings).
    seeds : iterable of int
        Seed ``s`` draws the validation split (and the random forget set), initialises and trains the
        original and the retrained model, and seeds every method.
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
    plan = _plan(table, profile, setting["kind"], rows, dict(overrides or {}), recipe, setting["task"], setting["arch"])  # validated before any training
    out = []
    sizes = {}
    for seed in seeds:
        t = load_task(setting, seed, data_root)
        sizes = {"n_train": len(t.train), "n_retain": len(t.retain), "n_forget": len(t.forget), "n_test": len(t.test), "n_forget_test": len(t.forget_test), "num_classes": t.num_classes}
        original = models.train_or_load(t, setting["arch"], profile, seed, device=device, recipe=recipe, show_progress=show_progress)
        for r, kw in progress(plan, desc=f"{table} seed {seed}", disable=not show_progress):
            model = _as_reference_wrapper(original) if kw.get("init") == "head_only" else original
            res = methods.unlearn(r.method, model, t, profile, seed, device, **kw)
            scores = metrics.evaluate(res, t, device, seed=seed)
            out.append({"label": r.label, "method": r.method, "seed": seed, "zero_shot": methods.REGISTRY[r.method].zero_shot, "extra": r.extra, **scores})
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
        out["speed-up vs RTRN"] = ["—" if m == "original" or not math.isfinite(x) else f"{x:.1f}x" for m, x in zip(s.method, s.speedup)]
    out.index.name = "method"
    return out


def paper_rows(table: str, setting: dict | None = None) -> dict[str, dict[str, Reported]]:
    """The reported Dr/Df/MIA for this table: ``{label: {metric: Reported}}``.

    Without a FULL ``setting`` (or in QUICK): the review's table of this kind, the reference for
    orderings. For a FULL full-class run only the numbers of the same dataset count: the Pins rows
    for ``task='pins'``, the issue-quoted JiT D_r for CIFAR-100 "rocket", nothing otherwise.
    """
    if table not in TABLES:
        raise bad_value("table", table, f"one of {', '.join(TABLES)}")
    if setting and setting.get("profile") == "full" and table == "full_class" and setting.get("task") != "pins":
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
    from .. import report

    quick = result.setting.get("profile", "quick") == "quick"
    s = result.summary
    rows, record = [], []
    # the paper's rows beside ours of the same label and its "(as coded)" variants; judged only like with like
    for label, cells in [(lab, c) for p, c in paper_rows(result.table, result.setting).items() for lab in s.index if lab == p or lab.startswith(p + " (")]:
        if label not in s.index:
            continue
        for metric, rep in cells.items():
            col = _COL[metric]
            ours, sd = float(s.loc[label, col]), float(s.loc[label, col + "_std"])
            row = {"method": label, "metric": metric, ("ours (QUICK analogue)" if quick else "ours"): _pm(ours, sd),
                   "paper": _pm(rep.value, rep.std or 0.0)}
            ours_setting = report.Setting.of(result.setting.get("task"), result.setting.get("arch"), "as_coded" if "as coded" in label else "paper",
                                             result.setting.get("profile"), result.setting.get("forget"))
            rec = report.scorecard_row(f"{result.table} {label} {metric}", ours, rep, quick, setting=ours_setting)
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
        out.append({"metric": metric, "paper order": _order(labels, p), "our order": _order(labels, o), "Kendall tau": tau, "methods": len(labels)})
    return pd.DataFrame(out).set_index("metric") if out else pd.DataFrame()


def gap_to_retrain(result: TableResult, metric: str) -> pd.Series:
    """Absolute gap of each row's ``metric`` to RTRN's mean (the reading for random forgetting)."""
    s = result.summary
    if "RTRN" not in s.index:
        raise bad_value("table", result.table, "a table with an RTRN row")
    col = _COL.get(metric, metric)
    return (s[col] - s.loc["RTRN", col]).abs().sort_values()


def jit_validation_sweep(
    table: str, profile: str = "quick", seeds: Sequence[int] = (0, 1), sigmas: Sequence[float] = (0.5, 1.0),
    lrs: Sequence[float] = (0.03, 0.064, 0.12, 0.19, 0.3), budget: float = 0.05, device: str | None = None,
    task: str = "auto", arch: str = "auto", forget: str = "auto", data_root: str | None = None,
) -> pd.DataFrame:
    """Pick JiT's (sigma, eta) of the paper variant on the **validation** split, never on the
    reported splits (``lrs`` are the SGD rates actually used).

    Class and sub-class tables: a utility budget. Among the settings whose validation accuracy on the
    retained (fine) classes stays within ``budget`` of the original model's, the one with the lowest
    validation accuracy on the forgotten class wins (``score = -val_forgotten``; settings over
    budget score ``-inf``). Random forgetting scores plain validation accuracy (the forgotten
    samples should end at the level of unseen ones). Scores are averaged over ``seeds``; returns one
    row per (sigma, lr), best first (ties: the smaller eta, then the smaller sigma), with
    ``within_budget``.
    """
    if not budget >= 0:
        raise bad_value("budget", budget, "a number >= 0")
    setting = table_setting(table, profile, task, arch, forget)
    spec = parse_forget(setting["forget"])
    base = jit_settings(setting["kind"], profile, setting["task"], setting["arch"])
    rows = []
    for seed in seeds:
        t = load_task(setting, seed, data_root)
        original = models.train_or_load(t, setting["arch"], profile, seed, device=device, show_progress=False)
        labels = t.val.fine if spec.kind == "subclass" else t.val.y
        fm = labels == spec.value if spec.kind != "random" else None
        ok0 = (metrics.predict(original, t.val, device).argmax(1) == t.val.y).float()
        for sigma in sigmas:
            for lr in lrs:
                res = methods.unlearn("jit", original, t, profile, seed, device, **{**base, "sigma": sigma, "lr": lr})
                ok = (metrics.predict(res.model, t.val, device).argmax(1) == t.val.y).float()
                row = {"sigma": sigma, "lr": lr, "val_acc": float(ok.mean())}
                if fm is not None:
                    row.update(val_retained=float(ok[~fm].mean()), val_forgotten=float(ok[fm].mean()),
                               val_retained_original=float(ok0[~fm].mean()))
                rows.append(row)
    df = pd.DataFrame(rows).groupby(["sigma", "lr"], as_index=False).mean()
    if spec.kind == "random":
        df["within_budget"] = True
        df["score"] = df["val_acc"]
    else:
        df["within_budget"] = df.val_retained >= df.val_retained_original - budget
        df["score"] = np.where(df.within_budget, -df.val_forgotten, -np.inf)
    return df.sort_values(["score", "lr", "sigma"], ascending=[False, True, True], kind="stable").reset_index(drop=True)


def select_jit_quick(table: str, seeds: Sequence[int] = (0, 1), device: str | None = None) -> dict[str, float]:
    """The QUICK (sigma, eta) that :func:`jit_validation_sweep` picks for ``table`` on its default
    grid and setting, in the form of :data:`JIT_QUICK` (the stored choice must equal it)."""
    best = jit_validation_sweep(table, "quick", seeds=seeds, device=device).iloc[0]
    return {"sigma": float(best["sigma"]), "lr": float(best["lr"])}


def figure(result: "TableResult", title: str):
    """Bars of D_r, D_f and the entropy MIA of every row (mean and standard deviation over seeds)."""
    from ..plotting import bar_with_errors

    s = result.summary.rename(columns={"mia_entropy": "MIA", "mia_entropy_std": "MIA_std"})
    fig = bar_with_errors(s, ["Dr", "Df", "MIA"], title=title)
    fig.axes[0].tick_params(axis="x", labelrotation=60)
    return fig
