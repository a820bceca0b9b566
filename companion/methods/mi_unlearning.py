"""Xu & Strohmer's marginal data-point unlearning: retain loss plus ``gamma`` times
``I_hat(Y_hat; Z)``.

:func:`mi_unlearning` (registered as ``"mi_unlearning"``) is the loop of the authors' MNIST script
(``Data_Unlearning_MNIST_Plot.py``, xushizhou/Machine_Unlearn_via_Info_Reg, ca32703): per step,
cross-entropy on a D_r batch (64) plus ``gamma`` times the plug-in MI of the paper's batch
(``Z = 0``: D_r batch and D_u batch, ``Z = 1``: the D_r batch again;
:func:`companion.theory.information.marginal_mi`), Adam with a fresh state, the D_r and D_u loaders
zipped so that an epoch is ``ceil(|D_u| / 16)`` steps. Because the population value of this MI is
not 0 at the retrained model (deviations.md#xs-mi-population), the method carries a **stopping
rule** (deviations.md#xs-stopping-rule): ``'forget_acc'`` (default: stop once D_u accuracy reaches
the retrained model's), ``'target_mi'`` (stop once the monitored ``I_hat`` reaches the retrained
model's level under the same construction), ``'test_drop'`` (stop once accuracy on a monitored split
falls by a given amount) or ``'none'`` (the upstream fixed epoch count, which over-unlearns).

The protocols built on it live in :mod:`companion.experiments.digit_removal` (MNIST digit removal)
and :mod:`companion.experiments.gmm_toy` (the Gaussian-mixture toy).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..config import bad_value
from ..data.tasks import Split, Task
from ..models import train_or_load
from ..progress import progress
from ..theory.information import bootstrap_marginal_mi, marginal_mi
from ..training import predict
from .base import register
from .mi_config import MONITOR_SPLITS, STOP_RULES, MIUnlearningConfig  # noqa: F401  (re-exported)


def step_losses(
    out_r: torch.Tensor, out_u: torch.Tensor, y_r: torch.Tensor, cfg: MIUnlearningConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The losses of one MI-unlearning step from the outputs on a retain and an unlearn batch.

    .. math::
        L = \mathrm{CE}\big(f(x_r), y_r\big) + \gamma\, \hat I\big(f([x_r; x_u; x_r]); z\big)

    where :math:`\hat I` is the plug-in estimate of the paper's batch construction
    (:func:`companion.theory.information.marginal_mi`).

    Parameters
    ----------
    out_r : Tensor (n_r, C) or (T, n_r, C)
        Outputs on the retain batch (T stacked trials: one batch each).
    out_u : Tensor (n_u, C) or (T, n_u, C)
        Outputs on the unlearn batch.
    y_r : Tensor (n_r,) or (T, n_r)
        Retain labels.

    Returns
    -------
    ce, mi, loss : Tensor () or (T,)
        Each trial's mean cross-entropy, ``I_hat`` and ``ce + gamma * mi``. The registered method
        and the stacked trials of :mod:`companion.experiments.digit_removal` both call this.
    """
    if out_r.ndim == 2:
        ce = F.cross_entropy(out_r, y_r)
    else:
        c = out_r.shape[-1]
        ce = F.cross_entropy(out_r.reshape(-1, c), y_r.reshape(-1), reduction="none")
        ce = ce.view(y_r.shape).mean(-1)
    mi = marginal_mi(out_r, out_u, formulation=cfg.formulation)
    return ce, mi, ce + cfg.gamma * mi


def _passes(
    split: Split, batch_size: int, gen: torch.Generator, device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled passes over ``split``, restarted (and reshuffled) whenever one ends."""
    while True:
        yield from split.batches(batch_size, shuffle=True, generator=gen, device=device)


def _acc(model: nn.Module, split: Split, device) -> float:
    if len(split) == 0:
        return math.nan
    return float((predict(model, split, device).argmax(1) == split.y).float().mean())


def reference_levels(
    task: Task,
    arch: str,
    profile: str,
    seed: int,
    device,
    cfg: MIUnlearningConfig,
    n_boot: int = 200,
) -> dict:
    """The retrained model's D_u accuracy and mean ``I_hat`` (same construction), from the
    checkpoint cache."""

    ref = train_or_load(task, arch, profile, seed, device=device, on="retain", show_progress=False)
    pr = torch.softmax(predict(ref, task.retain, device).double(), 1)
    pu = torch.softmax(predict(ref, task.forget, device).double(), 1)
    mi = bootstrap_marginal_mi(
        pr,
        pu,
        min(cfg.retain_batch, len(pr)),
        min(cfg.forget_batch, len(pu)),
        n_boot=n_boot,
        seed=seed,
        formulation=cfg.formulation,
    )
    return {"forget_acc": _acc(ref, task.forget, device), "mi": float(mi.mean())}


@register(
    "mi_unlearning",
    MIUnlearningConfig,
    zero_shot=False,
    paper="xs",
    description=(
        "retain CE + gamma * plug-in I(output; Z) on the paper's batches, with a stopping rule"
    ),
)
def mi_unlearning(
    model: nn.Module, task: Task, cfg: MIUnlearningConfig, *, seed: int, device, profile: str, **_
) -> dict:
    """Marginal data-point unlearning (the authors' MNIST loop), with the stopping rule of
    ``cfg.stop``.

    Per step: ``loss = CE(f(x_r), y_r) + gamma * I_hat(f([x_r; x_u; x_r]), z)`` with ``z = [0]*(n_r
    + n_u)
    + [1]*n_r`` (:func:`companion.theory.information.marginal_mi`); the inputs ``x_r`` (n_r, ...)
      and ``x_u`` (n_u, ...) go through one forward pass, whose retain outputs are used in both
      groups, as the reference code's second forward of ``x_r`` gives for a network without dropout.

    Returns
    -------
    dict
        ``history`` (per check: epoch, step, ce, mi (mean since the last check), mi_avg (moving
        average over the last ``mi_window`` steps, or over the steps so far while fewer have run),
        mi_window_full (whether ``mi_avg`` covers a full window, the condition under which
        ``target_mi`` may fire), loss, forget_acc, retain_acc (on ``retain_eval`` samples),
        monitor_acc; the first row is the model before unlearning with ``mi`` the mean ``I_hat``
        over one pass of batches), ``steps``, ``stopped`` (whether the rule fired), ``stop_reason``,
        ``stop_value``, ``mi_window`` (the window length in steps), ``reference`` (the retrained
        levels when they were needed).

    :func:`rule_holds` says, for any history row, whether the configured rule's condition held
    there; the rule fires at the first check where it holds.
    """
    if len(task.forget) == 0 or len(task.retain) == 0:
        raise bad_value("task", task.describe(), "a task with non-empty retain and forget sets")
    monitor_split: Split = getattr(task, cfg.monitor)
    if cfg.stop == "test_drop" and len(monitor_split) == 0:
        raise bad_value(
            "monitor", cfg.monitor, "a non-empty split of this task for stop='test_drop'"
        )
    reference: dict = {}
    stop_value = cfg.stop_value
    if cfg.stop in ("forget_acc", "target_mi") and stop_value is None:
        arch = getattr(model, "companion_arch", None)
        if arch is None:
            raise ValueError(
                "mi_unlearning needs stop_value, or a model built by companion.models.build to "
                "retrain a reference"
            )
        reference = reference_levels(
            task,
            arch,
            profile,
            cfg.reference_seed if cfg.reference_seed is not None else seed,
            device,
            cfg,
        )
        stop_value = reference["forget_acc" if cfg.stop == "forget_acc" else "mi"]
    if cfg.stop == "test_drop" and stop_value is None:
        stop_value = 0.01

    retain_log = task.retain
    if 0 < cfg.retain_eval < len(task.retain):
        retain_log = task.retain.subset(
            np.sort(
                np.random.default_rng(seed).choice(len(task.retain), cfg.retain_eval, replace=False)
            )
        )
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps_per_epoch = task.forget.n_batches(cfg.forget_batch)

    def one_step(
        xr: torch.Tensor, yr: torch.Tensor, xu: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = model(torch.cat([xr, xu]))
        return step_losses(out[: len(xr)], out[len(xr) :], yr, cfg)

    # the model before unlearning: accuracies and the mean I_hat over one pass of batches
    with torch.no_grad():
        model.eval()
        rpass = _passes(
            task.retain, cfg.retain_batch, torch.Generator().manual_seed(seed + 1), device
        )
        start = [
            one_step(*next(rpass), xu)
            for xu, _ in task.forget.batches(
                cfg.forget_batch,
                shuffle=True,
                generator=torch.Generator().manual_seed(seed + 2),
                device=device,
            )
        ]
    init_mon = _acc(model, monitor_split, device)
    history = [
        {
            "epoch": 0.0,
            "step": 0,
            "ce": float(np.mean([s[0].item() for s in start])),
            "mi": float(np.mean([s[1].item() for s in start])),
            "mi_avg": float(np.mean([s[1].item() for s in start])),
            "mi_window_full": False,
            "loss": float(np.mean([s[2].item() for s in start])),
            "forget_acc": _acc(model, task.forget, device),
            "retain_acc": _acc(model, retain_log, device),
            "monitor_acc": init_mon,
        }
    ]

    def fired(row: dict) -> bool:
        return rule_holds(cfg.stop, row, stop_value, init_mon)

    stopped = cfg.stop in ("forget_acc", "test_drop") and fired(history[0])
    step = 0
    acc_ce, acc_mi, acc_loss = [], [], []
    window: deque[float] = deque(maxlen=cfg.mi_window or steps_per_epoch)
    for epoch in progress(
        range(cfg.epochs if not stopped else 0), desc=f"mi_unlearning gamma={cfg.gamma}"
    ):
        model.train()
        rpass = _passes(task.retain, cfg.retain_batch, gen, device)
        for i, (xu, _) in enumerate(
            task.forget.batches(cfg.forget_batch, shuffle=True, generator=gen, device=device)
        ):
            xr, yr = next(rpass)
            ce, mi, loss = one_step(xr, yr, xu)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            acc_ce.append(ce.item())
            acc_mi.append(mi.item())
            window.append(acc_mi[-1])
            acc_loss.append(loss.item())
            end_of_epoch = i == steps_per_epoch - 1
            if (cfg.check_every == 0 and end_of_epoch) or (
                cfg.check_every > 0 and step % cfg.check_every == 0
            ):
                row = {
                    "epoch": epoch + (i + 1) / steps_per_epoch,
                    "step": step,
                    "ce": float(np.mean(acc_ce)),
                    "mi": float(np.mean(acc_mi)),
                    "mi_avg": float(np.mean(window)),
                    "mi_window_full": len(window) == window.maxlen,
                    "loss": float(np.mean(acc_loss)),
                    "forget_acc": _acc(model, task.forget, device),
                    "retain_acc": _acc(model, retain_log, device),
                    "monitor_acc": _acc(model, monitor_split, device),
                }
                history.append(row)
                acc_ce, acc_mi, acc_loss = [], [], []
                model.train()
                if fired(row):
                    stopped = True
                    break
        if stopped:
            break
    model.eval()
    return {
        "history": history,
        "steps": step,
        "steps_per_epoch": steps_per_epoch,
        "stopped": stopped,
        "stop_reason": cfg.stop if stopped else ("budget" if cfg.stop != "none" else "none"),
        "stop_value": stop_value,
        "mi_window": window.maxlen,
        "reference": reference,
    }


def rule_holds(
    stop: str, row: dict, stop_value: float, start_monitor_acc: float | None = None
) -> bool:
    """Whether stopping rule ``stop`` holds at history ``row`` of :func:`mi_unlearning`.

    ``forget_acc``: ``row['forget_acc'] <= stop_value``; ``target_mi``: the moving average covers a
    full window (``row['mi_window_full']``) and ``row['mi_avg'] <= stop_value``; ``test_drop``:
    ``row['monitor_acc'] <= start_monitor_acc - stop_value`` (the first row's monitored accuracy);
    ``none``: never.
    """
    if stop not in STOP_RULES:
        raise bad_value("stop", stop, f"one of {STOP_RULES}")
    if stop == "forget_acc":
        return row["forget_acc"] <= stop_value
    if stop == "target_mi":
        return bool(row["mi_window_full"]) and row["mi_avg"] <= stop_value
    if stop == "test_drop":
        if start_monitor_acc is None:
            raise bad_value(
                "start_monitor_acc",
                None,
                "the monitored accuracy before unlearning for stop='test_drop'",
            )
        return row["monitor_acc"] <= start_monitor_acc - stop_value
    return False
