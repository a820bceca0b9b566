"""Budget curves of Koloskova et al. (Figures 1, 3, 4): validation accuracy against the unlearning
budget in epochs, for gradient clipping, model clipping, output perturbation and retrain.

All settings x seeds of all methods run as **one** vectorised batch
(:func:`~companion.stacked.run_stacked`), so each model's noise is an independent draw and every
model sees its own mini-batches. The task and the pretrained originals come from
:func:`companion.experiments.cert_setup.setup`. The protocol is the paper's (Figure 1: noisy and
noiseless steps count together toward the budget) with the settings and selection rule of the
authors' code, plus a held-out selection (deviations.md#cert-budget-protocol):

* one run of ``epochs`` epochs per setting; accuracy "at budget e" is read after epoch e (as coded);
* **paper's selection**: for each budget and method, the setting with the best mean validation
  accuracy at that budget, reported on the same validation set (mean +- 1.96 std / sqrt(n));
* **held-out selection**: the validation set is split in two seeded halves; the setting is chosen
  on one half and reported on the other.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from ..config import bad_value
from ..methods import certified as M
from ..methods.certified import budget_steps as steps
from ..stacked import Plan, run_stacked
from .cert_grids import GRIDS
from .cert_setup import FULL_SETTINGS, CurveSetup

if TYPE_CHECKING:
    from ..data.tasks import Task

METHODS = ("gradient_clipping", "model_clipping", "output_perturbation", "retrain")


def _config(
    method: str,
    hp: dict,
    epsilon: float,
    delta: float,
    calibration: str,
    epochs: int,
    noise: str = "fresh",
):
    if method == "gradient_clipping":
        return M.GradientClippingConfig(
            epsilon=epsilon, delta=delta, calibration=calibration, epochs=epochs, noise=noise, **hp
        )
    if method == "model_clipping":
        return M.ModelClippingConfig(epsilon=epsilon, delta=delta, epochs=epochs, noise=noise, **hp)
    return M.OutputPerturbationConfig(
        epsilon=epsilon, delta=delta, epochs=epochs, noise=noise, **hp
    )


def _row_certificate(cfg, steps_run: int, cache: dict) -> dict:
    """Certificate columns of a curve row: what the ``steps_run`` noisy steps actually run
    certify."""

    if cfg is None:  # retrain: never saw D_f
        return {
            "noisy_steps_run": 0,
            "complete": True,
            "certified": True,
            "epsilon": 0.0,
            "epsilon_as_coded": 0.0,
            "delta": 0.0,
        }
    key = (cfg, steps_run)
    if key not in cache:
        cert = M.certificate(cfg, steps_run)
        eps = float(cert.get("epsilon_at_delta", cert["epsilon"]))
        cache[key] = {
            "noisy_steps_run": steps_run,
            "complete": steps_run == cert["T"],
            "certified": bool(cert["certified"]),
            "epsilon": eps,
            "epsilon_as_coded": float(cert.get("epsilon_as_coded", cfg.epsilon)),
            "delta": float(cfg.delta),
        }
    return cache[key]


def run_curves(
    setup: CurveSetup,
    epochs: int | None = None,
    methods: Sequence[str] = METHODS,
    epsilon: float = 1.0,
    delta: float = 1e-5,
    calibrations: Sequence[str] = ("as_coded", "theorem"),
    grid: dict[str, list[dict]] | None = None,
    noise: str = "fresh",
) -> pd.DataFrame:
    """Run every (method, setting, seed) for ``epochs`` epochs in one vectorised batch.

    Gradient clipping runs once per calibration in ``calibrations`` (``'as_coded'``: eps_R =
    epsilon, the paper's curves; ``'theorem'``: a true (epsilon, delta) certificate); its method
    label then carries the calibration. Returns one row per (method, setting, seed, epoch) with
    ``val_acc``, ``sel_acc`` / ``rep_acc`` (the two validation halves), ``test_acc``, the planned
    ``T`` and ``sigma``, and the certificate **of the steps run by that epoch**: ``noisy_steps_run``
    (min(T, epoch x steps per epoch)), ``complete`` (all T noisy steps ran), ``certified``
    (complete, with fresh noise), ``epsilon`` (the eps the accountant certifies at ``delta`` for
    those steps: the corrected conversion for gradient clipping, the recursion solved for eps for
    model clipping, the exact Gaussian eps for output perturbation) and ``epsilon_as_coded`` (what
    the authors' code reports: its conversion for gradient clipping, the target eps for model
    clipping and output perturbation).
    """

    bad = sorted(set(methods) - set(METHODS))
    if bad:
        raise bad_value("methods", bad, f"a subset of {METHODS}")
    for c in calibrations:
        if c not in M.GC_CALIBRATIONS:
            raise bad_value("calibrations", c, f"values in {M.GC_CALIBRATIONS}")
    epochs = (
        epochs
        if epochs is not None
        else (6 if setup.profile == "quick" else FULL_SETTINGS[setup.task.name][1])
    )
    grid = grid or GRIDS[setup.grid]
    # the feature grids have gradient clipping only
    methods = [m for m in methods if m == "retrain" or m in grid]
    plans, starts, meta, cfgs = [], [], [], []
    for method in methods:
        variants = (
            [(f"{method} ({c})", c) for c in calibrations]
            if method == "gradient_clipping"
            else [(method, "")]
        )
        settings = [{}] if method == "retrain" else grid[method]
        for label, cal in variants:
            for hp in settings:
                for s in setup.seeds:
                    if method == "retrain":
                        plans.append(Plan("retrain", init_seed=30_000 + s, label=label))
                        starts.append(setup.originals[s])
                        cfg, cert = None, {"T": 0, "sigma": 0.0}
                    else:
                        cfg = _config(method, hp, epsilon, delta, cal or "theorem", epochs, noise)
                        plan, cert = M.plan_for(cfg, label=label)
                        plans.append(plan)
                        starts.append(
                            setup.op_originals[s]
                            if method == "output_perturbation"
                            else setup.originals[s]
                        )
                    sig = cert.get("sigma", 0.0)
                    cfgs.append(cfg)
                    meta.append(
                        {
                            "method": label,
                            "group": json.dumps(hp, sort_keys=True),
                            "seed": s,
                            "T": cert.get("T", 0),
                            "sigma": float(np.mean(sig)) if isinstance(sig, tuple) else float(sig),
                        }
                    )
    sel, rep = setup.halves
    task = setup.task
    res = run_stacked(
        starts,
        plans,
        task.retain,
        epochs,
        seed=setup.seed,
        noise=noise,
        augment=setup.augment,
        device=setup.device,
        eval_splits={"val": task.val, "sel": sel, "rep": rep, "test": task.test},
    )
    rows, cache = [], {}
    for k, m in enumerate(meta):
        for e in range(epochs):
            run = int(min(m["T"], (e + 1) * res.steps_per_epoch))
            rows.append(
                {
                    **m,
                    "epoch": e + 1,
                    **_row_certificate(cfgs[k], run, cache),
                    "val_acc": res.acc["val"][k, e],
                    "sel_acc": res.acc["sel"][k, e],
                    "rep_acc": res.acc["rep"][k, e],
                    "test_acc": res.acc["test"][k, e],
                }
            )
    return pd.DataFrame(rows)


def select(df: pd.DataFrame, how: str = "paper") -> pd.DataFrame:
    """Per budget and method, the setting with the best mean selection accuracy, among the settings
    whose noisy phase is complete by that budget (``complete``).

    ``how='paper'``: chosen and reported on the whole validation set (as coded); ``'heldout'``:
    chosen on one validation half (``sel_acc``), reported on the other (``rep_acc``). Returns one
    row per (method, epoch) with ``mean``, ``ci`` (1.96 std / sqrt(n)), ``n`` and the chosen
    ``group``.
    """
    if how not in ("paper", "heldout"):
        raise bad_value("how", how, "'paper' or 'heldout'")
    pick, report = ("val_acc", "val_acc") if how == "paper" else ("sel_acc", "rep_acc")
    # a setting whose noisy phase has not ended by budget e certifies less: not a candidate there
    if "complete" in df:
        df = df[df["complete"].astype(bool)]
    g = df.groupby(["method", "epoch", "group"])
    stats = g[pick].mean().rename("pick").to_frame().join(g[report].agg(["mean", "std", "count"]))
    best = (
        stats.reset_index()
        .sort_values("pick", ascending=False)
        .groupby(["method", "epoch"])
        .head(1)
    )
    best["std"] = best["std"].fillna(0.0)
    best["ci"] = 1.96 * best["std"] / np.sqrt(best["count"])
    return (
        best.rename(columns={"count": "n"})
        .sort_values(["method", "epoch"])
        .reset_index(drop=True)[["method", "epoch", "mean", "ci", "n", "group"]]
    )


def run_configs(
    setup: CurveSetup,
    entries: Sequence[dict],
    epochs: int,
    seeds: Sequence[int] | None = None,
    task: "Task | None" = None,
) -> pd.DataFrame:
    """Run arbitrary settings in one vectorised batch (chapter 5's sweeps).

    ``entries``: dicts with ``label``, ``method`` (one of :data:`METHODS`) and that method's config
    settings (e.g. ``epsilon``, ``c0``, ``calibration``); other keys are carried into the rows as
    metadata. ``task`` defaults to the setup's task (a task
    with the same training set but another forget set reuses the same originals). Returns one row
    per (entry, seed, epoch) with ``val_acc``, the planned ``T`` and ``sigma``, and the certificate
    of the steps run by that epoch: ``noisy_steps_run``, ``complete`` (all T ran), ``certified``,
    ``certified_epsilon`` (the eps the accountant gives at ``certified_delta`` for those steps; for
    output perturbation the exact eps of the noise drawn) and ``calibration_used`` (output
    perturbation). A setting whose T exceeds the budget is run and reported with what its steps
    certify, not with its target.
    """

    task = task or setup.task
    seeds = tuple(seeds or setup.seeds)
    plans, starts, meta, cfgs = [], [], [], []
    for entry in entries:
        kw = {k: v for k, v in entry.items() if k not in ("label", "method")}
        method = entry.get("method")
        if method not in METHODS:
            raise bad_value("method", method, f"one of {METHODS}")
        for s in seeds:
            if method == "retrain":
                cfg, plan, cert = (
                    None,
                    Plan("retrain", init_seed=30_000 + s),
                    {"T": 0, "sigma": 0.0},
                )
            else:
                cls = {
                    "gradient_clipping": M.GradientClippingConfig,
                    "model_clipping": M.ModelClippingConfig,
                    "output_perturbation": M.OutputPerturbationConfig,
                }[method]
                names = {f.name for f in fields(cls)}
                cfg = cls(epochs=epochs, **{k: v for k, v in kw.items() if k in names})
                plan, cert = M.plan_for(cfg)
            plans.append(plan)
            cfgs.append(cfg)
            starts.append(
                setup.op_originals[s] if method == "output_perturbation" else setup.originals[s]
            )
            sig = cert.get("sigma", 0.0)
            meta.append(
                {
                    **entry,
                    "seed": s,
                    "T": cert.get("T", 0),
                    "sigma": float(np.mean(sig)) if isinstance(sig, tuple) else float(sig),
                    "calibration_used": cert.get("calibration_used", ""),
                }
            )
    res = run_stacked(
        starts,
        plans,
        task.retain,
        epochs,
        seed=setup.seed,
        augment=setup.augment,
        device=setup.device,
        eval_splits={"val": task.val},
    )
    rows, cache = [], {}
    for k, m in enumerate(meta):
        for e in range(epochs):
            c = _row_certificate(cfgs[k], int(min(m["T"], (e + 1) * res.steps_per_epoch)), cache)
            rows.append(
                {
                    **m,
                    "epoch": e + 1,
                    "noisy_steps_run": c["noisy_steps_run"],
                    "complete": c["complete"],
                    "certified": c["certified"],
                    "certified_epsilon": c["epsilon"],
                    "certified_delta": c["delta"],
                    "val_acc": res.acc["val"][k, e],
                }
            )
    return pd.DataFrame(rows)


def budget_steps(
    setup: CurveSetup, epochs: int, task: "Task | None" = None, batch_size: int = 128
) -> int:
    """Steps in a budget of ``epochs`` epochs over the retain set of ``task`` (default the
    setup's)."""

    return steps(len((task or setup.task).retain), epochs, batch_size)
