"""The (gamma, epochs) grid of Xu & Strohmer's digit removal: MI unlearning without a stopping rule,
several trials trained at once as stacked networks (built from the method's own step), read off at
each (gamma, epoch), and the grid points the paper quotes.
:mod:`companion.experiments.digit_removal` holds the rest of the protocol and re-exports these
names."""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..config import bad_value
from ..data.tasks import Task
from ..methods.base import unlearn
from ..methods.mi_unlearning import MIUnlearningConfig
from ..methods.mi_unlearning import step_losses as mi_step_losses
from ..models.stacked import StackedMLP
from ..progress import progress

if TYPE_CHECKING:
    from .digit_removal import DigitRemovalConfig


def _perms(n: int, need: int, gen: torch.Generator) -> torch.Tensor:
    """Concatenated fresh permutations of ``range(n)``, at least ``need`` long (a restarting
    shuffled loader)."""
    return torch.cat([torch.randperm(n, generator=gen) for _ in range(-(-need // n))])


def mi_unlearning_trials(
    model: nn.Module, task: Task, seeds: list[int], cfg: MIUnlearningConfig, device=None
) -> list[list[dict]]:
    """Several trials of :func:`mi_unlearning` without a stopping rule, trained at once as stacked
    MLPs.

    Trial ``t`` reproduces
    ``unlearn("mi_unlearning", model, task, seed=seeds[t], stop="none", ...)`` (same batch order,
    same fresh Adam, same logged history; Adam is elementwise, so one Adam on the stacked weights is
    exactly one Adam per trial). Only plain ReLU MLPs (``arch='mlp'``) and ``check_every=0`` are
    supported; the registered method covers everything else.

    Returns
    -------
    list (one per trial) of history lists, as in ``mi_unlearning(...)["history"]``.
    """
    if cfg.check_every != 0 or cfg.stop != "none":
        raise bad_value(
            "cfg", (cfg.stop, cfg.check_every), "stop='none' and check_every=0 for stacked trials"
        )
    if getattr(model, "companion_arch", None) != "mlp":
        raise bad_value(
            "model",
            getattr(model, "companion_arch", type(model).__name__),
            "an 'mlp' built by companion.models.build",
        )
    dev = torch.device(device or "cpu")
    n_t = len(seeds)
    net = StackedMLP([model] * n_t).to(dev)
    xr_all, yr_all = task.retain.tensors(dev)
    xu_all, yu_all = task.forget.tensors(dev)
    xr_all, xu_all = xr_all.flatten(1), xu_all.flatten(1)
    mon = getattr(task, cfg.monitor)
    xm, ym = mon.tensors(dev)
    xm = xm.flatten(1)
    n_r, n_u = len(yr_all), len(yu_all)
    spe = task.forget.n_batches(cfg.forget_batch)
    sub = [
        np.arange(n_r)
        if not 0 < cfg.retain_eval < n_r
        else np.sort(np.random.default_rng(s).choice(n_r, cfg.retain_eval, replace=False))
        for s in seeds
    ]
    sub = torch.as_tensor(np.stack(sub), device=dev)

    @torch.no_grad()
    def accs() -> dict:
        f = (net(xu_all).argmax(-1) == yu_all).double().mean(1)
        r = (net(xr_all[sub]).argmax(-1) == yr_all[sub]).double().mean(1)
        m = (net(xm).argmax(-1) == ym).double().mean(1) if len(ym) else torch.full((n_t,), math.nan)
        return {"forget_acc": f.tolist(), "retain_acc": r.tolist(), "monitor_acc": m.tolist()}

    def step_losses(ir: torch.Tensor, iu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = net(torch.cat([xr_all[ir], xu_all[iu]], 1))  # (T, n_r + n_u, d) -> (T, ., C)
        ce, mi, _ = mi_step_losses(out[:, : ir.shape[1]], out[:, ir.shape[1] :], yr_all[ir], cfg)
        return ce, mi

    def batches(gens_u, gens_r) -> list[tuple[torch.Tensor, torch.Tensor]]:
        pu = [torch.randperm(n_u, generator=g) for g in gens_u]
        pr = [_perms(n_r, spe * cfg.retain_batch, g) for g in gens_r]
        out = []
        for i in range(spe):
            iu = torch.stack([p[i * cfg.forget_batch : (i + 1) * cfg.forget_batch] for p in pu]).to(
                dev
            )
            ir = torch.stack([p[i * cfg.retain_batch : (i + 1) * cfg.retain_batch] for p in pr]).to(
                dev
            )
            out.append((ir, iu))
        return out

    with torch.no_grad():
        start = [
            step_losses(ir, iu)
            for ir, iu in batches(
                [torch.Generator().manual_seed(s + 2) for s in seeds],
                [torch.Generator().manual_seed(s + 1) for s in seeds],
            )
        ]
    ce0, mi0 = (
        torch.stack([c for c, _ in start]).mean(0),
        torch.stack([m for _, m in start]).mean(0),
    )
    a = accs()
    wins = [deque(maxlen=cfg.mi_window or spe) for _ in seeds]
    hist = [
        [
            {
                "epoch": 0.0,
                "step": 0,
                "ce": ce0[t].item(),
                "mi": mi0[t].item(),
                "mi_avg": mi0[t].item(),
                "mi_window_full": False,
                "loss": (ce0[t] + cfg.gamma * mi0[t]).item(),
                **{k: v[t] for k, v in a.items()},
            }
        ]
        for t in range(n_t)
    ]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    for epoch in progress(range(cfg.epochs), desc=f"mi_unlearning x{n_t} gamma={cfg.gamma}"):
        sums = torch.zeros(3, n_t, dtype=torch.float64)
        for ir, iu in batches(gens, gens):
            ce, mi = step_losses(ir, iu)
            for t, v in enumerate(mi.tolist()):
                wins[t].append(v)
            loss = ce + cfg.gamma * mi
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            sums += torch.stack([ce.detach(), mi.detach(), loss.detach()]).double().cpu()
        a = accs()
        for t in range(n_t):
            hist[t].append(
                {
                    "epoch": float(epoch + 1),
                    "step": (epoch + 1) * spe,
                    "ce": (sums[0, t] / spe).item(),
                    "mi": (sums[1, t] / spe).item(),
                    "mi_avg": float(np.mean(wins[t])),
                    "mi_window_full": len(wins[t]) == wins[t].maxlen,
                    "loss": (sums[2, t] / spe).item(),
                    **{k: v[t] for k, v in a.items()},
                }
            )
    return hist


def run_grid(
    original: nn.Module,
    task: Task,
    cfg: DigitRemovalConfig,
    profile: str,
    seed: int = 0,
    device=None,
    stacked: bool = True,
) -> "object":
    """Histories of MI unlearning without a stopping rule over ``cfg.grid`` (plus the table row
    ``(cfg.table_gamma, cfg.table_epochs)``) x ``cfg.n_trials``.

    With the same seed a run of ``e`` epochs is the first ``e`` epochs of a longer run (fresh Adam,
    constant rate, same batch order), so each gamma runs once per trial for its largest epoch count
    and shorter settings are read off the history (:func:`at_epoch`). Trial ``t`` uses seed
    ``seed * 1000 + t``; with ``stacked`` (default) the trials of an MLP train at once
    (:func:`mi_unlearning_trials`, identical results). Returns a pandas DataFrame with
    one row per (gamma, trial, epoch): columns gamma, trial, epoch, step, ce, mi, loss, forget_acc,
    retain_acc, test_acc.
    """
    import pandas as pd

    longest: dict[float, int] = {}
    for g, e in (*cfg.grid, (cfg.table_gamma, cfg.table_epochs)):
        longest[g] = max(e, longest.get(g, 0))
    rows = []
    seeds = [seed * 1000 + trial for trial in range(cfg.n_trials)]
    for g, e in longest.items():
        if stacked and getattr(original, "companion_arch", None) == "mlp":
            hists = mi_unlearning_trials(
                original,
                task,
                seeds,
                MIUnlearningConfig.resolve(profile, gamma=g, epochs=e, stop="none"),
                device,
            )
        else:
            hists = [
                unlearn(
                    "mi_unlearning",
                    original,
                    task,
                    profile,
                    s,
                    device,
                    gamma=g,
                    epochs=e,
                    stop="none",
                ).log["history"]
                for s in seeds
            ]
        for trial, hist in enumerate(hists):
            for h in hist:
                rows.append(
                    {
                        "gamma": g,
                        "trial": trial,
                        **{("test_acc" if k == "monitor_acc" else k): v for k, v in h.items()},
                    }
                )
    return pd.DataFrame(rows)


#: The quantities the paper quotes from its grid (table row, README curves), each read off one
#: (gamma, epoch) of :func:`run_grid`: ``(label, scorecard key, gamma, epoch, column)``; the table
#: row is ``(cfg.table_gamma, cfg.table_epochs)``, see :func:`paper_grid_rows`.
CURVE_ROWS: tuple[tuple[str, str, float, int, str], ...] = tuple(
    row
    for gm, e, tag in ((3.5, 20, "gamma3.5_20ep"), (1.5, 20, "gamma1.5_20ep"))
    for row in (
        (f"gamma {gm}: I_hat after epoch 1", f"xs:curve/{tag}/mi_start", gm, 1, "mi"),
        (f"gamma {gm}: I_hat after epoch {e}", f"xs:curve/{tag}/mi_end", gm, e, "mi"),
        (
            f"gamma {gm}: D_u accuracy after epoch 1",
            f"xs:curve/{tag}/forget_acc_start",
            gm,
            1,
            "forget_acc",
        ),
        (
            f"gamma {gm}: D_u accuracy after epoch {e}",
            f"xs:curve/{tag}/forget_acc_end",
            gm,
            e,
            "forget_acc",
        ),
        (
            f"gamma {gm}: test accuracy after epoch {e}",
            f"xs:curve/{tag}/test_acc_end",
            gm,
            e,
            "test_acc",
        ),
    )
) + (
    (
        "gamma 3.5: D_r accuracy after epoch 20",
        "xs:curve/gamma3.5_20ep/retain_acc_end",
        3.5,
        20,
        "retain_acc",
    ),
    (
        "gamma 3.5: D_u accuracy after epoch 5",
        "xs:curve/gamma3.5_5ep/forget_acc_end",
        3.5,
        5,
        "forget_acc",
    ),
    (
        "gamma 5: D_u accuracy after epoch 2",
        "xs:curve/gamma5_2ep/forget_acc_end",
        5.0,
        2,
        "forget_acc",
    ),
)


SPLIT_NAMES = {"retain_acc": "D_r", "forget_acc": "D_u", "test_acc": "test"}


def paper_grid_rows(cfg: DigitRemovalConfig) -> list[tuple[str, str, float, int, str]]:
    """Every grid quantity the paper quotes: its MI-unlearning table row (D_r, D_u, test accuracy at
    ``(cfg.table_gamma, cfg.table_epochs)``), then :data:`CURVE_ROWS`."""
    g, e = cfg.table_gamma, cfg.table_epochs
    table = [
        (
            f"MI unlearning (gamma {g}, {e} epochs): accuracy on {SPLIT_NAMES[c]}",
            f"xs:mnist3/mi_gamma4_5ep/{c}",
            g,
            e,
            c,
        )
        for c in SPLIT_NAMES
    ]
    return table + list(CURVE_ROWS)


def at_epoch(grid: "object", gamma: float, epochs: int) -> "object":
    """Per-trial rows of ``grid`` (:func:`run_grid`) at the end of epoch ``epochs`` for
    ``gamma``."""
    sel = grid[(grid["gamma"] == gamma) & (grid["epoch"] == float(epochs))]
    if len(sel) == 0:
        raise bad_value("gamma/epochs", (gamma, epochs), "a setting of the grid that was run")
    return sel
