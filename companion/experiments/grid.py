"""Run several unlearning methods over seeds on one task and collect tidy scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

from .. import data, methods, metrics, models
from ..config import ProfileSetting
from ..progress import progress


@dataclass(frozen=True)
class GridSetting(ProfileSetting):
    """The foundations chapter's task: MNIST-5k in QUICK, full MNIST in FULL."""

    task: str = "mnist5k"
    FULL = {"task": "mnist"}


def run_grid(
    task_name: str,
    forget: str,
    method_names: Iterable[str],
    seeds: Iterable[int],
    arch: str = "mlp",
    profile: str = "quick",
    device: str | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    data_root: str | None = None,
) -> pd.DataFrame:
    """One row per (method, seed): the scores of :func:`companion.metrics.evaluate` plus
    ``speedup`` against the same seed's ``retrain`` (when ``retrain`` is among the methods).

    The original model of each seed comes from :func:`companion.models.train_or_load` (cached).
    ``overrides`` maps a method name to settings for its config.
    """
    names = list(method_names)
    for name in names:  # validate every method and its settings before any training
        methods.config_of(name, profile, **(overrides or {}).get(name, {}))
    rows = []
    for seed in progress(list(seeds), desc=f"{task_name} {forget}"):
        task = data.load_task(task_name, forget=forget, seed=seed, data_root=data_root)
        model = models.train_or_load(task, arch, profile, seed, device=device, show_progress=False)
        for name in names:
            res = methods.unlearn(
                name, model, task, profile, seed, device, **(overrides or {}).get(name, {})
            )
            rows.append(
                {
                    "method": name,
                    "seed": seed,
                    "forget": forget,
                    **metrics.evaluate(res, task, device, seed=seed),
                }
            )
    df = pd.DataFrame(rows)
    if "retrain" in names:
        t_re = df[df.method == "retrain"].set_index("seed")["seconds"]
        df["speedup"] = [metrics.speedup(t_re[s], t) for s, t in zip(df.seed, df.seconds)]
    return df
