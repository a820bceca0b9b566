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

The validation sweep of :mod:`companion.experiments.jit_validation` chooses JiT's QUICK
(sigma, eta) on the validation split (:data:`JIT_QUICK`); :mod:`companion.experiments.jit_tables`
runs the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from .. import data, methods, models
from ..config import PROFILES, bad_value, parse_forget
from ..methods.jit_config import settings_for
from ..training import TrainRecipe

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
#: what ``jit_validation.select_jit_quick`` (the validation sweep on its default grid,
#: seeds 0 and 1) picks. Sub-class and full-class: the lowest forgotten-class validation
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
