"""Choosing JiT's QUICK (sigma, eta) on the validation split, never on the reported splits: the
sweep behind :data:`companion.experiments.jit_settings.JIT_QUICK`."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .. import methods, metrics, models
from ..config import bad_value, parse_forget
from .jit_settings import jit_settings, load_task, table_setting


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
