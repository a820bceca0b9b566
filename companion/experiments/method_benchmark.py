"""Every registered unlearning method on one task under one protocol, with ensemble-based audits.

The three papers evaluate their methods under different protocols (Foster et al. 2025, arXiv
2402.01401: accuracies, an entropy MIA and runtime on CIFAR / Pins; Koloskova et al. 2025, arXiv
2506.06985: accuracy at a certified budget; Xu & Strohmer 2024, arXiv 2407.07421: feature removal).
This module runs all of them under ONE protocol (:func:`run_task`):

1. a task (``data.load_task``) is cut to a pool of ``n_pool`` training samples (:func:`pooled_task`:
   random pool for class / sub-class forgetting, the forget set plus random retain samples for
   random forgetting), so that small networks can be trained many times;
2. ``n_runs`` originals are trained on the pool and 2 x ``n_runs`` oracles on its retain part, all
   at
   once with :func:`companion.ensemble.train_ensemble` (equal to ``training.fit`` runs, its module
   doc);
3. every method of ``methods.available()`` unlearns each original once (run k: original k, seed k);
   a method that does not apply (a ValueError before any work, or :data:`NOT_APPLICABLE`) keeps its
   row with the reason;
4. scores per run: retain / test / forget accuracy, a population loss-threshold MIA (Yeom et al.
   2018:
   AUC of forget-train vs held-out samples of the same kind) and wall-clock time; and per method,
   across its runs against the first ``n_runs`` oracles: U-LiRA (Hayes et al. 2024, arXiv
   2403.01218, :func:`companion.metrics.lira.ulira`), KLoM (Rinberg et al., arXiv 2602.16400,
   :mod:`companion.metrics.klom`) and the NeurIPS 2023 challenge's per-example eps estimate
   (Triantafillou et al. 2024, arXiv 2406.09073,
   :func:`companion.metrics.epsilon.challenge_epsilons` on the challenge's logit-scaled confidence).
   The second half of the oracles measures each metric's value for a perfect unlearner (the
   finite-sample floor).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from .. import data, ensemble, methods
from ..config import bad_value
from ..methods import dpsgd
from ..metrics import epsilon, klom, lira, signals, speedup
from ..metrics.mia import per_sample_loss
from ..training import predict, recipe_for
from .method_benchmark_setting import (  # noqa: F401  (re-exported: the setting's home)
    KLOM_POINTS,
    NOT_APPLICABLE,
    OVERRIDES,
    Setting,
    forget_requests,
    pooled_task,
)


def _reason(err: ValueError) -> str:
    """The 'expected ...' part of the project's ValueError, the reason a method refused a task."""
    msg = str(err)
    return msg.split("expected ", 1)[1].rstrip(".") if "expected " in msg else msg


@contextlib.contextmanager
def _quiet_and_cached():
    """DP-SGD's noise calibration (Opacus' RDP accountant bisection) is a deterministic function of
    (eps, delta, sampling rate, steps), the same for every run on a task: compute it once per task.
    The methods' progress bars are switched off for the duration."""
    original, bars = dpsgd.noise_multiplier, os.environ.get("COMPANION_PROGRESS")
    os.environ["COMPANION_PROGRESS"] = "0"  # the methods' progress bars: hundreds of runs
    cached = functools.lru_cache(maxsize=8)(lambda e, d, q, s, a: original(e, d, q, s, list(a)))
    dpsgd.noise_multiplier = lambda e, d, q, s, alphas=None: cached(
        e, d, q, s, tuple(alphas or dpsgd.ALPHAS)
    )
    try:
        yield
    finally:
        dpsgd.noise_multiplier = original
        if bars is None:
            os.environ.pop("COMPANION_PROGRESS")
        else:
            os.environ["COMPANION_PROGRESS"] = bars


@dataclass(frozen=True, eq=False)
class TaskResult:
    """What :func:`run_task` returns: per-run scores, per-method audits and the oracle floors."""

    forget: str
    runs: pd.DataFrame  # one row per (method, run): accuracies, MIA AUC, seconds
    audits: pd.DataFrame  # one row per method: status, reason, U-LiRA, KLoM, eps
    floor: dict  # the audits of the second oracle half against the first (a perfect unlearner)
    task: data.Task
    # (2N, forget examples): the oracles' logit-scaled confidence on the forget set
    oracle_signals: np.ndarray


def _views(task: data.Task, seed: int) -> dict[str, data.Split]:
    rng = np.random.default_rng(seed + 1)
    held = task.forget_test if len(task.forget_test) >= 2 else task.test
    return {
        "forget": task.forget,
        "retain": task.retain,
        "test": task.test,
        "held": held,
        "retain_k": task.retain.subset(
            np.sort(rng.choice(len(task.retain), min(KLOM_POINTS, len(task.retain)), replace=False))
        ),
        "test_k": task.test.subset(
            np.sort(rng.choice(len(task.test), min(KLOM_POINTS, len(task.test)), replace=False))
        ),
    }


def _scores(logits: dict[str, torch.Tensor], views: dict[str, data.Split]) -> dict[str, float]:
    acc = {
        f"{k}_acc": float((logits[k].argmax(1) == views[k].y).float().mean())
        for k in ("retain", "test", "forget")
    }
    return {
        **acc,
        "mia_auc": loss_auc(logits["forget"], views["forget"].y, logits["held"], views["held"].y),
    }


def loss_auc(member_logits, member_y, held_logits, held_y) -> float:
    """ROC-AUC of Yeom et al.'s (2018) loss-threshold attack, score -loss: the ``auc`` of
    :func:`companion.metrics.mia.loss_threshold_mia` without its threshold search (hundreds of
    models here)."""
    m, h = -per_sample_loss(member_logits, member_y), -per_sample_loss(held_logits, held_y)
    if len(m) < 2 or len(h) < 2:
        raise bad_value("members, held-out", (len(m), len(h)), "at least 2 samples each")
    return float(roc_auc_score(np.r_[np.ones(len(m)), np.zeros(len(h))], np.r_[m, h]))


def _signals(logits: list[dict], views, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = torch.stack([lg[key] for lg in logits])
    y = views[key].y
    return (
        signals.margin(z, y),
        signals.logit_scaled_confidence(z, y, "stable"),
        signals.logit_scaled_confidence(z, y, "challenge"),
    )


def audit(
    unlearned: list[dict], oracle: list[dict], views: dict, per_unit: int = epsilon.PER_UNIT
) -> dict[str, float]:
    """U-LiRA, KLoM and the challenge eps of N unlearned models against N oracles (logits per view).

    U-LiRA: rows alternate unlearned / oracle so that each of its two folds holds half of each
    group;
    a forget example's IN group is the unlearned runs, its OUT group the oracles."""
    if len(unlearned) != len(oracle) or len(unlearned) < 4:
        raise bad_value(
            "oracle",
            len(oracle),
            f"as many oracles as unlearned runs ({len(unlearned)}, at least 4)",
        )
    n = len(unlearned)
    mu, phi_u, ch_u = _signals(unlearned, views, "forget")
    mo, phi_o, ch_o = _signals(oracle, views, "forget")
    stacked = np.empty((2 * n, phi_u.shape[1]))
    stacked[0::2], stacked[1::2] = phi_u, phi_o
    is_u = np.zeros_like(stacked, dtype=bool)
    is_u[0::2] = True
    ul = lira.ulira(stacked, is_u, ~is_u, folds=2)
    out = {
        "ulira_acc": ul.balanced_accuracy,
        "ulira_lo": ul.interval[0],
        "ulira_hi": ul.interval[1],
        "klom_forget": float(np.median(klom.klom(mu, mo))),
    }
    for key in ("retain_k", "test_k"):
        out[f"klom_{key[:-2]}"] = float(
            np.median(
                klom.klom(_signals(unlearned, views, key)[0], _signals(oracle, views, key)[0])
            )
        )
    eps = epsilon.challenge_epsilons(ch_u, ch_o, per_unit=per_unit)
    out["eps_mean"] = float(np.mean(eps))
    out["eps_median"] = float(np.median(eps))
    return out


def _ulira_acc(unlearned: list[dict], oracle: list[dict], views: dict) -> float:
    phi_u, phi_o = _signals(unlearned, views, "forget")[1], _signals(oracle, views, "forget")[1]
    stacked = np.empty((2 * len(phi_u), phi_u.shape[1]))
    stacked[0::2], stacked[1::2] = phi_u, phi_o
    is_u = np.zeros_like(stacked, dtype=bool)
    is_u[0::2] = True
    return lira.ulira(stacked, is_u, ~is_u, folds=2).balanced_accuracy


def null_band(oracle: list[dict], views: dict, n_null: int, seed: int) -> dict[str, float]:
    """U-LiRA between random halves of the 2N oracles, ``n_null`` times: the spread a perfect
    unlearner's U-LiRA accuracy has with N models a side. Its standard deviation is the honest error
    bar here: the models' signals share per-model offsets, so the (model, example) pairs are not
    independent and ``ulira``'s per-example interval is too narrow when N is small."""
    rng = np.random.default_rng(seed + 2)
    n = len(oracle) // 2
    accs = []
    for _ in range(n_null):
        perm = rng.permutation(len(oracle))
        accs.append(
            _ulira_acc([oracle[i] for i in perm[:n]], [oracle[i] for i in perm[n : 2 * n]], views)
        )
    return {"ulira_null_mean": float(np.mean(accs)), "ulira_null_sd": float(np.std(accs, ddof=1))}


def _logits(model, views) -> dict[str, torch.Tensor]:
    return {k: predict(model, v, "cpu").float() for k, v in views.items()}


def run_task(
    forget: str, setting: Setting, method_names: list[str] | None = None, device: str = "cpu"
) -> TaskResult:
    """The protocol of the module doc on one forgetting request (``'class:K'``, ``'subclass:K'``,
    ``'random:N'``)."""
    if not isinstance(setting, Setting):
        raise bad_value("setting", type(setting).__name__, "a method_benchmark.Setting")
    names = sorted(methods.available()) if method_names is None else list(method_names)
    unknown = sorted(set(names) - set(methods.available()))
    if unknown or not names or "retrain" not in names:
        raise bad_value(
            "method_names",
            unknown or names,
            "registered methods (methods.available()) including 'retrain'",
        )
    s = setting
    task = pooled_task(data.load_task(s.task, forget=forget, seed=s.seed), s.n_pool, s.seed)
    views = _views(task, s.seed)
    recipe = recipe_for(s.task, s.arch, s.profile)
    n, n_tr = s.n_runs, len(task.train)
    base = 1000 * s.seed
    originals = ensemble.train_ensemble(
        task.train,
        np.ones((n, n_tr), dtype=np.int8),
        [base + k for k in range(n)],
        s.arch,
        task.num_classes,
        recipe,
    )
    retain_mask = np.isin(task.train.index.numpy(), task.retain.index.numpy()).astype(np.int8)
    oracles = ensemble.train_ensemble(
        task.train,
        np.tile(retain_mask, (2 * n, 1)),
        [base + 500 + k for k in range(2 * n)],
        s.arch,
        task.num_classes,
        recipe,
    )
    oracle_logits = [_logits(oracles.model(k), views) for k in range(2 * n)]
    overrides = OVERRIDES[s.profile]
    rows, audits = [], []
    with _quiet_and_cached(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            status, reason, logits = "ok", "", []
            if name in NOT_APPLICABLE:
                status, reason = "not applicable", NOT_APPLICABLE[name]
            for k in range(n if status == "ok" else 0):
                try:
                    res = methods.unlearn(
                        name,
                        originals.model(k),
                        task,
                        s.profile,
                        base + k,
                        device,
                        **overrides.get(name, {}),
                    )
                except ValueError as err:
                    if k:
                        raise
                    status, reason = "not applicable", _reason(err)
                    break
                lg = _logits(res.model, views)
                if not all(torch.isfinite(v).all() for v in lg.values()):
                    status, reason = "failed", f"non-finite logits after unlearning (run {k})"
                    break
                logits.append(lg)
                rows.append(
                    {"method": name, "run": k, "seconds": res.seconds, **_scores(lg, views)}
                )
            row = {"method": name, "status": status, "reason": reason}
            if status == "ok":
                row.update(audit(logits, oracle_logits[:n], views, s.per_unit))
            audits.append(row)
    floor = audit(oracle_logits[n:], oracle_logits[:n], views, s.per_unit)
    floor.update(null_band(oracle_logits, views, s.n_null, s.seed))
    oracle_scores = pd.DataFrame([_scores(lg, views) for lg in oracle_logits[:n]])
    floor.update({k: float(v) for k, v in oracle_scores.mean().items()})
    runs = pd.DataFrame(
        rows,
        columns=["method", "run", "seconds", "retain_acc", "test_acc", "forget_acc", "mia_auc"],
    )
    return TaskResult(
        forget, runs, pd.DataFrame(audits), floor, task, _signals(oracle_logits, views, "forget")[1]
    )


def model_offset_share(signals) -> float:
    """Share of the variance of signals ``(models, examples)`` around each example's mean that is a
    per-model offset: var(row means of the centred matrix) / var(centred matrix). Near 1 when each
    model
    shifts all its signals alike, near 1 / examples when models differ example by example."""
    a = np.asarray(signals, dtype=float)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 2 or not np.isfinite(a).all():
        raise bad_value(
            "signals", a.shape, "a finite (models, examples) array with at least 2 of each"
        )
    c = a - a.mean(0, keepdims=True)
    total = float((c**2).mean())
    return float((c.mean(1) ** 2).mean() / total) if total > 0 else 0.0


def summarize(result: TaskResult) -> pd.DataFrame:
    """One row per method (every one of ``result.audits``): means and standard deviations over runs,
    the MIA gap to the oracles, the speed-up against ``retrain`` (mean time ratio; per-run spread)
    and the audits."""
    r = result.runs
    g = r.groupby("method")
    mean, std = g.mean(numeric_only=True), g.std(ddof=1, numeric_only=True)
    t_re = float(mean.loc["retrain", "seconds"])
    out = result.audits.set_index("method").copy()
    for col in ("retain_acc", "test_acc", "forget_acc", "mia_auc", "seconds"):
        out[col] = mean[col].reindex(out.index)
        out[f"{col}_std"] = std[col].reindex(out.index)
    out["mia_gap"] = (out["mia_auc"] - result.floor["mia_auc"]).abs()
    out["speedup"] = [speedup(t_re, s) if s == s else math.nan for s in out["seconds"]]
    per_run = r.assign(speedup=t_re / r["seconds"]).groupby("method")["speedup"].std(ddof=1)
    out["speedup_std"] = per_run.reindex(out.index)
    return out


def pareto_front(x, y, maximize_x: bool = False, maximize_y: bool = False) -> np.ndarray:
    """Boolean mask of the points no other point dominates (at least as good on both axes, better on
    one).

    NaN points (a method without a value) are never on the front and dominate nothing."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or len(a) == 0:
        raise bad_value("x, y", (a.shape, b.shape), "two 1-d arrays of equal, non-zero length")
    if np.isinf(a).any() or np.isinf(b).any():
        raise bad_value("x, y", "infinite values", "finite values or NaN (no value)")
    a, b = (-a if maximize_x else a), (-b if maximize_y else b)
    ok = ~(np.isnan(a) | np.isnan(b))
    front = np.zeros(len(a), dtype=bool)
    for i in np.flatnonzero(ok):
        dom = ok & (a <= a[i]) & (b <= b[i]) & ((a < a[i]) | (b < b[i]))
        front[i] = not dom.any()
    return front


def table(summary: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The printed table: 'mean ± sd' strings, and 'not applicable: <reason>' (or 'failed: ...') in
    place of numbers for a method without values. Every method of ``summary`` keeps its row."""
    cols = {
        "test_acc": "test acc",
        "forget_acc": "forget acc",
        "mia_auc": "MIA AUC",
        "ulira_acc": "U-LiRA acc",
        "klom_forget": "KLoM forget",
        "eps_median": "eps median",
        "speedup": "speed-up",
    }
    rows = {}
    for name, r in summary.iterrows():
        if r["status"] != "ok":
            rows[name] = {
                "test acc": f"{r['status']}: {r['reason']}",
                **{c: "" for c in list(cols.values())[1:]},
            }
            continue
        cell = {}
        for col, label in cols.items():
            sd = r.get(f"{col}_std", math.nan)
            cell[label] = f"{r[col]:.{digits}f}" + ("" if sd != sd else f" ± {sd:.{digits}f}")
        rows[name] = cell
    return pd.DataFrame.from_dict(rows, orient="index")[list(cols.values())]
