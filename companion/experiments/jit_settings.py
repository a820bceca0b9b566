"""The forgetting tables of Foster et al. (JiT, TMLR 2025): what each table runs, and JiT's QUICK
setting.

Three tables (the paper's full-class, sub-class and random-forgetting tables), each with the
profile's default setting:

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
architecture and forget request can be passed instead of ``'auto'`` (e.g. ``task='pins'``). The
paper's "VGG16" is torchvision's ``vgg11`` with a head (deviations.md#jit-vgg11); the reference
code forgets 83 random samples, the paper and the companion 100 (deviations.md#jit-random-83).

Rows follow the paper's labels (BSLN, RTRN, FNTN, BT, AMN, UNSIR, SSD, SCRUB, GKT, EMMN, BDSH, JiT),
plus the reference code's variants where they differ from the papers ("as coded") and the extra
baselines GA, GradDiff and NPO (not in the paper; deviations.md#jit-extra-baselines). Which rows a
table has follows the reference scripts (``forget_{full_class,subclass,random}_main.py`` of
jwf40/Information-Theoretic-Unlearning): UNSIR needs a forget class (no random forgetting); GKT and
EMMN are run by the full-class script only.

:func:`jit_validation_sweep` and :func:`select_jit_quick` choose JiT's QUICK (sigma, eta) on the
validation split (:data:`JIT_QUICK`); :mod:`companion.experiments.jit_tables` runs the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import data, methods, metrics, models
from ..config import PROFILES, ProfileSetting, RunContext, bad_value, parse_forget, resolve
from ..methods.jit_config import settings_for
from ..report import banner
from ..training import TrainRecipe


@dataclass(frozen=True)
class ZeroShotSetting(ProfileSetting):
    """Chapter 1 of the JiT part (zero-shot information): its task and network per profile."""

    task: str = "mnist5k"
    arch: str = "small_cnn"
    FULL = {"task": "mnist"}


@dataclass(frozen=True)
class AlgorithmSetting(ProfileSetting):
    """Chapter 2 of the JiT part (the algorithm): MNIST-5k and the small CNN in QUICK, CIFAR-100 and
    VGG11 (the paper's full-class table) in FULL."""

    task: str = "mnist5k"
    arch: str = "small_cnn"
    FULL = {"task": "cifar100", "arch": "vgg11"}


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


ROWS: dict[str, Row] = {
    r.label: r
    for r in (
        Row("BSLN", "original", note="the original model, no unlearning"),
        Row(
            "RTRN",
            "retrain",
            (("use_cache", True),),
            "fresh initialisation trained on the retain set (gold standard)",
        ),
        Row(
            "RTRN (head only, as coded)",
            "retrain",
            (("init", "head_only"),),
            "the reference code: reset the head only, keep the backbone trained on D_f (flat "
            "models are regrouped as base + head first)",
        ),
        Row("FNTN", "finetune", note="5 epochs on the retain set"),
        Row("BT", "bad_teacher", note="bad teacher"),
        Row("AMN", "amnesiac", note="amnesiac"),
        Row("UNSIR", "unsir", note="error-maximising noise, impair-repair"),
        Row("SSD", "ssd", note="selective synaptic dampening, SSD paper's (lambda, alpha)"),
        Row(
            "SSD (as coded)",
            "ssd",
            (("variant", "as_coded"),),
            "(lambda, alpha) as the JiT scripts pass them",
        ),
        Row("SCRUB", "scrub", note="SCRUB"),
        Row("GKT", "gkt", note="gated knowledge transfer (zero-shot)"),
        Row("EMMN", "emmn", note="error-min/max noise (zero-shot)"),
        Row("BDSH", "boundary_shrink", note="boundary shrink (zero-shot)"),
        Row("JiT", "jit", note="JiT as the paper writes it (zero-shot)"),
        Row(
            "JiT (as coded)",
            "jit",
            (("variant", "reference"),),
            "JiT as the reference code runs it",
        ),
        Row("GA", "gradient_ascent", note="gradient ascent (extra)", extra=True),
        Row("GradDiff", "graddiff", note="gradient difference (extra)", extra=True),
        Row("NPO", "npo", note="negative preference optimisation (extra)", extra=True),
    )
}

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
    """A table: its forgetting kind, the profiles' default (task, arch, forget) and its paper
    table."""

    kind: str
    quick: tuple[str, str, str]
    full: tuple[str, str, str]
    # key prefix in companion.reported.jit for the review's table of this kind
    # (deviations.md#jit-review-numbers)
    paper: str
    title: str


TABLES: dict[str, TableSpec] = {
    "full_class": TableSpec(
        "class",
        ("digits", "small_cnn", "class:3"),
        ("cifar100", "vgg11", "class:69"),
        "pins_full_class",
        "Full-class forgetting",
    ),
    "subclass": TableSpec(
        "subclass",
        ("digits", "small_cnn", "subclass:8"),
        ("cifar20", "vgg11", "subclass:69"),
        "cifar20_subclass_rocket",
        "Sub-class forgetting",
    ),
    "random": TableSpec(
        "random",
        ("digits", "small_cnn", "random:100"),
        ("cifar10", "vgg11", "random:100"),
        "cifar10_random100",
        "Random forgetting",
    ),
}

#: QUICK (sigma, eta) of the paper-variant JiT row for each table's QUICK default (task, arch):
#: what :func:`select_jit_quick` (the validation sweep :func:`jit_validation_sweep` on its default
#: grid, seeds 0 and 1) picks. Sub-class and full-class: the lowest forgotten-class validation
#: accuracy while retained-class validation accuracy stays within 5 points of the original's;
#: random: the highest validation accuracy. ``tests/experiments/test_jit_tables.py`` re-runs the
#: sweep and checks these entries.
JIT_QUICK = {
    "class": {"sigma": 0.5, "lr": 0.064},
    "subclass": {"sigma": 1.0, "lr": 0.12},
    "random": {"sigma": 0.5, "lr": 0.03},
}


def jit_settings(kind: str, profile: str, task: str, arch: str) -> dict[str, Any]:
    """Settings a table passes to JiT for one (forgetting kind, task, architecture).

    QUICK on the table's default (task, arch): the validation-selected :data:`JIT_QUICK`. Anything
    else: :func:`companion.methods.jit_config.settings_for` for (kind, arch): in FULL the reference
    code's sigma, eta, N and batch for the model family of ``arch`` (ViT or VGG,
    deviations.md#jit-hyperparameters); in QUICK none (``JitConfig.QUICK`` applies). The "JiT (as
    coded)" row always runs the FULL settings.
    """
    if "jit" not in methods.REGISTRY:
        return {}

    table = next(t for t, s in TABLES.items() if s.kind == kind)
    if profile == "quick" and (task, arch) == TABLES[table].quick[:2]:
        return dict(JIT_QUICK[kind])
    return settings_for(kind, arch, profile)


def table_setting(
    table: str, profile: str, task: str = "auto", arch: str = "auto", forget: str = "auto"
) -> dict[str, str]:
    """Resolve ``'auto'`` entries to the profile's default setting for ``table`` and check the rest.

    Returns ``{'task', 'arch', 'forget', 'kind'}``.
    """
    if table not in TABLES:
        raise bad_value("table", table, f"one of {', '.join(TABLES)}")
    if profile not in PROFILES:
        raise bad_value("profile", profile, f"one of {PROFILES}")
    tab = TABLES[table]
    d_task, d_arch, d_forget = tab.quick if profile == "quick" else tab.full
    task = d_task if task == "auto" else task
    arch = d_arch if arch == "auto" else arch
    forget = d_forget if forget == "auto" else forget
    if task not in data.TASKS:
        raise bad_value("task", task, f"'auto' or one of {', '.join(data.TASKS)}")
    if arch not in models.ARCHS:
        raise bad_value("arch", arch, f"'auto' or one of {', '.join(models.ARCHS)}")
    fs = parse_forget(forget)
    if fs.kind != tab.kind:
        raise bad_value(
            "forget",
            forget,
            f"'auto' or a '{tab.kind}:...' request (table {table!r} is {tab.kind} forgetting)",
        )
    return {"task": task, "arch": arch, "forget": str(fs), "kind": tab.kind}


@dataclass(frozen=True)
class TableChapter:
    """What a table chapter opens with: its run context, the table's setting and the seeds."""

    ctx: RunContext
    setting: dict[str, str]
    seeds: list[int]

    @property
    def banner(self) -> str:
        """The profile banner and the setting, as the chapter prints them first."""
        return f"{banner(self.ctx)}\n{self.setting} seeds {self.seeds}"


def table_chapter(
    table: str,
    profile: str,
    seed: int,
    device: str,
    data_root: str,
    n_seeds: int,
    task: str = "auto",
    arch: str = "auto",
    forget: str = "auto",
) -> TableChapter:
    """The shared opening of the three table chapters: the notebook's parameters checked
    (:func:`companion.config.resolve`), the table's setting for the profile
    (:func:`table_setting`) and the seeds ``seed .. seed + n_seeds - 1``."""
    ctx = resolve(
        profile, seed, device, data_root, N_SEEDS=n_seeds, TASK=task, ARCH=arch, JIT_FORGET=forget
    )
    setting = table_setting(table, ctx.profile, task, arch, forget)
    return TableChapter(ctx, setting, list(range(seed, seed + n_seeds)))


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


#: The reference code's own "retrain" schedule (``retrain`` in
#: jwf40/Information-Theoretic-Unlearning, epochs and milestones from its ``conf.py``;
#: deviations.md#jit-retrain): SGD lr 0.01, momentum 0.9, weight decay 5e-4, x0.2 at the milestones,
#: a linear warm-up over the first two epochs. Used by the head-only row in FULL (the fresh RTRN
#: uses the pretraining recipe, deviations.md#jit-retrain).
REFERENCE_RETRAIN: dict[str, tuple[int, tuple[int, ...]]] = {
    "cifar10": (20, (8, 12, 16)),
    "cifar20": (40, (15, 30, 35)),
    "cifar100": (200, (60, 120, 160)),
    "pins": (200, (60, 120, 160)),
}


def reference_retrain_recipe(task: str) -> TrainRecipe | None:
    """The reference code's retrain recipe for ``task`` (None where it has none)."""
    if task not in REFERENCE_RETRAIN:
        return None
    epochs, milestones = REFERENCE_RETRAIN[task]
    return TrainRecipe("sgd", 0.01, epochs, 64, 0.9, 5e-4, "multistep", milestones, 0.2, 2, "cifar")


def _plan(
    table: str,
    profile: str,
    kind: str,
    rows: Sequence[str] | None,
    overrides: dict,
    recipe: TrainRecipe | None,
    task: str | None = None,
    arch: str | None = None,
) -> list[tuple[Row, dict]]:
    """Each row with the settings its method receives (validated); ``task`` and ``arch`` default to
    the profile's setting of ``table``."""
    d_task, d_arch, _ = TABLES[table].quick if profile == "quick" else TABLES[table].full
    task, arch = task or d_task, arch or d_arch
    chosen = table_rows(table, rows)
    unknown = sorted(set(overrides) - {r.label for r in chosen})
    if unknown:
        raise bad_value(
            "overrides", unknown, f"labels among the table's rows {[r.label for r in chosen]}"
        )
    plan = []
    for r in chosen:
        kw = dict(r.settings())
        if r.method == "jit":
            ref = kw.get("variant") == "reference"
            kw = {**jit_settings(kind, "full" if ref else profile, task, arch), **kw}
        if r.method == "retrain" and recipe is not None:
            kw["recipe"] = recipe
        elif (
            kw.get("init") == "head_only"
            and profile == "full"
            and reference_retrain_recipe(task) is not None
        ):
            kw["recipe"] = reference_retrain_recipe(task)
        kw.update(overrides.get(r.label, {}))
        methods.config_of(r.method, profile, **kw)
        plan.append((r, kw))
    return plan


def describe_rows(table: str, profile: str = "quick") -> pd.DataFrame:
    """The table's rows: method, zero-shot, the settings FULL runs (the reference
    scripts') and what QUICK changes."""
    kind = TABLES[table].kind if table in TABLES else None
    if kind is None:
        raise bad_value("table", table, f"one of {', '.join(TABLES)}")
    out = []
    for (r, kw_full), (_, kw_quick) in zip(
        _plan(table, "full", kind, None, {}, None), _plan(table, "quick", kind, None, {}, None)
    ):
        full = methods.config_of(r.method, "full", **kw_full)
        quick = methods.config_of(r.method, "quick", **kw_quick)
        fd, qd = full.__dict__, quick.__dict__
        fmt = lambda d: ", ".join(
            f"{k}={v}"
            for k, v in d.items()
            if v is not None and k not in ("recipe", "chunk", "use_cache")
        )  # noqa: E731
        out.append(
            {
                "method": r.label,
                "registry name": r.method,
                "zero-shot": "yes" if methods.REGISTRY[r.method].zero_shot else "",
                "in the paper": "" if r.extra else "yes",
                "FULL settings": fmt(fd),
                "QUICK changes": fmt({k: v for k, v in qd.items() if qd[k] != fd[k]}) or "none",
            }
        )
    return pd.DataFrame(out).set_index("method")


# --------------------------------------------------------------------------------------------
# Choosing JiT's QUICK setting on the validation split
# --------------------------------------------------------------------------------------------


def jit_validation_sweep(
    table: str,
    profile: str = "quick",
    seeds: Sequence[int] = (0, 1),
    sigmas: Sequence[float] = (0.5, 1.0),
    lrs: Sequence[float] = (0.03, 0.064, 0.12, 0.19, 0.3),
    budget: float = 0.05,
    device: str | None = None,
    task: str = "auto",
    arch: str = "auto",
    forget: str = "auto",
    data_root: str | None = None,
) -> pd.DataFrame:
    """Pick JiT's (sigma, eta) of the paper variant on the **validation** split, never on the
    reported splits (``lrs`` are the SGD rates actually used).

    Class and sub-class tables: a utility budget. Among the settings whose validation accuracy on
    the retained (fine) classes stays within ``budget`` of the original model's, the one with the
    lowest validation accuracy on the forgotten class wins (``score = -val_forgotten``; settings
    over budget score ``-inf``). Random forgetting scores plain validation accuracy (the forgotten
    samples should end at the level of unseen ones). Scores are averaged over ``seeds``; returns one
    row per (sigma, lr), best first (ties: the smaller eta, then the smaller sigma), with
    ``within_budget``.
    """
    if not budget >= 0:
        raise bad_value("budget", budget, "a number >= 0")
    setting = table_setting(table, profile, task, arch, forget)
    req = parse_forget(setting["forget"])
    base = jit_settings(setting["kind"], profile, setting["task"], setting["arch"])
    rows = []
    for seed in seeds:
        t = load_task(setting, seed, data_root)
        original = models.train_or_load(
            t, setting["arch"], profile, seed, device=device, show_progress=False
        )
        labels = t.val.fine if req.kind == "subclass" else t.val.y
        fm = labels == req.value if req.kind != "random" else None
        ok0 = (metrics.predict(original, t.val, device).argmax(1) == t.val.y).float()
        for sigma in sigmas:
            for lr in lrs:
                res = methods.unlearn(
                    "jit", original, t, profile, seed, device, **{**base, "sigma": sigma, "lr": lr}
                )
                ok = (metrics.predict(res.model, t.val, device).argmax(1) == t.val.y).float()
                row = {"sigma": sigma, "lr": lr, "val_acc": float(ok.mean())}
                if fm is not None:
                    row.update(
                        val_retained=float(ok[~fm].mean()),
                        val_forgotten=float(ok[fm].mean()),
                        val_retained_original=float(ok0[~fm].mean()),
                    )
                rows.append(row)
    df = pd.DataFrame(rows).groupby(["sigma", "lr"], as_index=False).mean()
    if req.kind == "random":
        df["within_budget"] = True
        df["score"] = df["val_acc"]
    else:
        df["within_budget"] = df.val_retained >= df.val_retained_original - budget
        df["score"] = np.where(df.within_budget, -df.val_forgotten, -np.inf)
    return df.sort_values(
        ["score", "lr", "sigma"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)


def select_jit_quick(
    table: str, seeds: Sequence[int] = (0, 1), device: str | None = None
) -> dict[str, float]:
    """The QUICK (sigma, eta) that :func:`jit_validation_sweep` picks for ``table`` on its default
    grid and setting, in the form of :data:`JIT_QUICK` (the stored choice must equal it)."""
    best = jit_validation_sweep(table, "quick", seeds=seeds, device=device).iloc[0]
    return {"sigma": float(best["sigma"]), "lr": float(best["lr"])}
