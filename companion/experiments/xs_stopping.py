"""When to stop Xu & Strohmer's MI unlearning (arXiv 2502.05684, open question "MI and unlearn
accuracy"): per-step trajectories of ``I_hat`` and of the D_u / D_r / test accuracies over a gamma
grid and several batch-order seeds, the population information of the construction and the bound of
:mod:`companion.theory.mi_bounds` at every check, and stopping rules as pure functions, fitted on
calibration seeds and judged on held-out ones (chapter xs/08).

The unlearning step is the registered method's
(:func:`companion.methods.mi_unlearning.step_losses`, the batches of
:func:`companion.experiments.digit_removal_grid.mi_unlearning_trials`), for all (gamma, seed) trials
at once as stacked MLPs: Adam is elementwise, so one Adam on the stacked weights is one Adam per
trial, and the per-trial ``gamma`` enters the summed loss.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import ProfileSetting, bad_value
from ..data.tasks import Task
from ..methods.mi_unlearning import MIUnlearningConfig, step_losses
from ..models.stacked import StackedMLP
from ..theory import mi_bounds
from ..theory.information import bootstrap_marginal_mi, marginal_mi_population
from .digit_removal_grid import _perms

RULES = ("fixed", "target_mi", "calibrated_mi", "certified", "oracle")


@dataclass(frozen=True)
class StoppingSetting(ProfileSetting):
    """What chapter xs/08 runs: the digit-removal task of chapter xs/06, ``gammas`` x
    (``n_calib`` + ``n_held``) batch-order seeds of MI unlearning for ``epochs`` epochs (the paper's
    fixed rule: ``fixed_epochs``), checked every ``check_every`` steps; ``retain_eval`` D_r samples
    (0: all) and ``test_eval`` test samples (0: all) score each check; ``mi_window`` steps average
    the monitored ``I_hat``; ``ratios`` is the grid of thresholds (multiples of the retrained
    model's ``I_hat``) that calibration picks from. FULL: MNIST and the paper's setting; QUICK:
    the embedded 4,000-image subset, fewer seeds and checks every second step (an epoch is 19
    steps there)."""

    QUICK = {
        "task": "mnist5k",
        "gammas": (1.5, 4.0, 5.0),
        "n_calib": 3,
        "n_held": 3,
        "check_every": 2,
        "retain_eval": 300,
        "test_eval": 400,
        "mi_window": 5,
    }
    FULL = {}

    task: str = "mnist"
    forget_class: int = 3
    share: float = 0.75
    arch: str = "mlp"
    gammas: tuple[float, ...] = (1.5, 3.5, 4.0, 5.0)
    epochs: int = 5
    fixed_epochs: int = 5
    n_calib: int = 5
    n_held: int = 5
    check_every: int = 12
    retain_eval: int = 0
    test_eval: int = 0
    mi_window: int = 36
    ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)

    def __post_init__(self) -> None:
        for name in ("epochs", "fixed_epochs", "n_calib", "n_held", "check_every", "mi_window"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad_value(name, v, "a positive integer")
        for name in ("retain_eval", "test_eval"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise bad_value(name, v, "an integer >= 0 (0: the whole split)")
        if self.fixed_epochs > self.epochs:
            raise bad_value("fixed_epochs", self.fixed_epochs, f"at most epochs={self.epochs}")
        if not self.gammas or any(
            isinstance(g, bool) or not isinstance(g, (int, float)) or not 0 <= g < 1e6
            for g in self.gammas
        ):
            raise bad_value("gammas", self.gammas, "a non-empty tuple of finite numbers >= 0")
        if not self.ratios or any(not 0 < r < 1e6 for r in self.ratios):
            raise bad_value("ratios", self.ratios, "a non-empty tuple of positive numbers")
        if not 0 < self.share <= 1:
            raise bad_value("share", self.share, "a number in (0, 1]")

    def seeds(self, seed: int = 0) -> tuple[list[int], list[int]]:
        """Calibration and held-out batch-order seeds: ``seed * 1000 + t``."""
        all_ = [seed * 1000 + t for t in range(self.n_calib + self.n_held)]
        return all_[: self.n_calib], all_[self.n_calib :]


def _subset(n: int, size: int, seed: int) -> np.ndarray:
    if not 0 < size < n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def _split_stats(
    probs: torch.Tensor, y: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """From softmax ``probs`` (T, N, C): accuracy, mean softmax (T, C), argmax histogram (T, C),
    confidence slack (T,) and share predicted ``k`` (T,)."""
    pred = probs.argmax(-1)
    hard = torch.nn.functional.one_hot(pred, probs.shape[-1]).double().mean(1)
    acc = (pred == y).double().mean(1)
    slack = (1 - probs.max(-1).values).double().mean(1)
    return acc, probs.double().mean(1), hard, slack, hard[:, k]


def _population(mean_r: torch.Tensor, mean_u: torch.Tensor, n_r: int, n_u: int) -> np.ndarray:
    """Population MI of the construction per trial (T,), from (T, C) mean outputs."""
    mr, mu = mean_r.cpu().numpy(), mean_u.cpu().numpy()
    mr, mu = mr / mr.sum(1, keepdims=True), mu / mu.sum(1, keepdims=True)
    return np.array([marginal_mi_population(a, b, n_r, n_u) for a, b in zip(mr, mu)])


def stopping_trajectories(
    original: nn.Module,
    task: Task,
    setting: StoppingSetting,
    seeds: list[int],
    device=None,
    method_cfg: MIUnlearningConfig | None = None,
) -> pd.DataFrame:
    """MI unlearning without a stopping rule for every ``(gamma, seed)``, scored at every check.

    Trial ``(gamma, s)`` follows the batch order of
    ``mi_unlearning_trials(original, task, [s], cfg(gamma))`` (same generators, same fresh Adam),
    so its end-of-epoch rows equal that history. The model must be an ``'mlp'``.

    Returns
    -------
    DataFrame
        One row per (gamma, seed, check), checks at step 0 and every ``setting.check_every`` steps:
        ``gamma, seed, step, epoch, mi`` (mean batch ``I_hat`` of the steps since the last check),
        ``mi_avg`` (mean over the last ``mi_window`` steps), ``window_full``, ``forget_acc,
        retain_acc, test_acc``, ``s_u, s_r`` (mean softmax probability of the forgotten class on D_u
        and on the scored D_r samples), ``slack_u`` (:func:`companion.theory.mi_bounds.
        confidence_slack` on D_u), ``q_r`` (share of scored D_r predicted as that class),
        ``mi_pop`` and ``mi_pop_hard`` (population MI of the construction from mean softmax and
        from argmax histograms, :func:`companion.theory.information.marginal_mi_population`),
        ``bound`` and ``bound_hard`` (:func:`companion.theory.mi_bounds.forget_accuracy_bound`,
        exact form).
    """
    if getattr(original, "companion_arch", None) != "mlp":
        raise bad_value(
            "original",
            getattr(original, "companion_arch", type(original).__name__),
            "an 'mlp' built by companion.models.build",
        )
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) for s in seeds):
        raise bad_value("seeds", seeds, "a non-empty list of integer seeds")
    cfg = method_cfg or MIUnlearningConfig(stop="none")
    dev = torch.device(device or "cpu")
    k = int(task.forget_spec.value)
    trials = [(float(g), int(s)) for g in setting.gammas for s in seeds]
    n_t = len(trials)
    gam = torch.tensor([g for g, _ in trials], device=dev)
    net = StackedMLP([original] * n_t).to(dev)
    xr_all, yr_all = task.retain.tensors(dev)
    xu_all, yu_all = task.forget.tensors(dev)
    xt, yt = task.test.tensors(dev)
    xr_all, xu_all, xt = xr_all.flatten(1), xu_all.flatten(1), xt.flatten(1)
    n_r, n_u = len(yr_all), len(yu_all)
    ir_eval = torch.as_tensor(_subset(n_r, setting.retain_eval, 0), device=dev)
    it_eval = torch.as_tensor(_subset(len(yt), setting.test_eval, 1), device=dev)
    spe = task.forget.n_batches(cfg.forget_batch)
    gens = {s: torch.Generator().manual_seed(s) for s in seeds}

    @torch.no_grad()
    def probs(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.softmax(net(c).double(), -1) for c in x.split(8192)], 1)

    @torch.no_grad()
    def score() -> dict:
        au, mu, hu, slack, _ = _split_stats(probs(xu_all), yu_all, k)
        ar, mr, hr, _, q_r = _split_stats(probs(xr_all[ir_eval]), yr_all[ir_eval], k)
        at = _split_stats(probs(xt[it_eval]), yt[it_eval], k)[0]
        b, bu = cfg.retain_batch, cfg.forget_batch
        mi_pop = _population(mr, mu, b, bu)
        mi_hard = _population(hr, hu, b, bu)
        s_r, s_u = mr[:, k].cpu().numpy(), mu[:, k].cpu().numpy()
        sl, qr = slack.cpu().numpy(), q_r.cpu().numpy()
        return {
            "forget_acc": au.cpu().numpy(),
            "retain_acc": ar.cpu().numpy(),
            "test_acc": at.cpu().numpy(),
            "s_u": s_u,
            "s_r": s_r,
            "slack_u": sl,
            "q_r": qr,
            "mi_pop": mi_pop,
            "mi_pop_hard": mi_hard,
            "bound": mi_bounds.forget_accuracy_bound(mi_pop, np.clip(s_r, 0, 1), sl, b, bu),
            "bound_hard": mi_bounds.forget_accuracy_bound(mi_hard, np.clip(qr, 0, 1), 0.0, b, bu),
        }

    rows: list[dict] = []
    recent: deque[torch.Tensor] = deque(maxlen=setting.mi_window)

    def record(step: int, mi_since: torch.Tensor) -> None:
        sc = score()
        win = torch.stack(list(recent)) if recent else mi_since[None]
        full = len(recent) >= setting.mi_window
        avg = win.mean(0).cpu().numpy()
        mi = mi_since.cpu().numpy()
        for t, (g, s) in enumerate(trials):
            rows.append(
                {
                    "gamma": g,
                    "seed": s,
                    "step": step,
                    "epoch": step / spe,
                    "mi": float(mi[t]),
                    "mi_avg": float(avg[t]),
                    "window_full": full,
                    **{name: float(v[t]) for name, v in sc.items()},
                }
            )

    # the start: mean I_hat over one pass of batches (the registered method's first row)
    with torch.no_grad():
        ir0 = torch.stack(
            [
                _perms(n_r, spe * cfg.retain_batch, torch.Generator().manual_seed(s + 1))
                for s in seeds
            ]
        )
        iu0 = torch.stack(
            [torch.randperm(n_u, generator=torch.Generator().manual_seed(s + 2)) for s in seeds]
        )
        mi0 = []
        for i in range(spe):
            ir = ir0[:, i * cfg.retain_batch : (i + 1) * cfg.retain_batch].repeat(
                len(setting.gammas), 1
            )
            iu = iu0[:, i * cfg.forget_batch : (i + 1) * cfg.forget_batch].repeat(
                len(setting.gammas), 1
            )
            mi0.append(_losses(net, xr_all, yr_all, xu_all, ir.to(dev), iu.to(dev), cfg)[1])
    record(0, torch.stack(mi0).mean(0))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step, since = 0, []
    for _ in range(setting.epochs):
        pu = {s: torch.randperm(n_u, generator=gens[s]) for s in seeds}
        pr = {s: _perms(n_r, spe * cfg.retain_batch, gens[s]) for s in seeds}
        for i in range(spe):
            iu = torch.stack(
                [pu[s][i * cfg.forget_batch : (i + 1) * cfg.forget_batch] for _, s in trials]
            )
            ir = torch.stack(
                [pr[s][i * cfg.retain_batch : (i + 1) * cfg.retain_batch] for _, s in trials]
            )
            ce, mi = _losses(net, xr_all, yr_all, xu_all, ir.to(dev), iu.to(dev), cfg)
            opt.zero_grad(set_to_none=True)
            (ce + gam * mi).sum().backward()
            opt.step()
            step += 1
            recent.append(mi.detach())
            since.append(mi.detach())
            if step % setting.check_every == 0 or i == spe - 1:
                record(step, torch.stack(since).mean(0))
                since = []
    return pd.DataFrame(rows)


def _losses(net, xr_all, yr_all, xu_all, ir, iu, cfg) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-trial (T,) cross-entropy and batch ``I_hat`` of one step (the method's step_losses)."""
    out = net(torch.cat([xr_all[ir], xu_all[iu]], 1))
    ce, mi, _ = step_losses(out[:, : ir.shape[1]], out[:, ir.shape[1] :], yr_all[ir], cfg)
    return ce, mi


@torch.no_grad()
def reference_point(
    retrain: nn.Module, task: Task, n_boot: int = 200, seed: int = 0, device=None
) -> dict:
    """The retrained model's forget accuracy, mean batch ``I_hat`` over ``n_boot`` random batches
    of the construction (64 + 16, or the whole split where it is smaller), population MI and the
    bound's ingredients."""
    dev = torch.device(device or "cpu")
    k = int(task.forget_spec.value)
    retrain = retrain.to(dev).eval()
    xr, yr = task.retain.tensors(dev)
    xu, yu = task.forget.tensors(dev)
    pr = torch.softmax(retrain(xr).double(), -1)
    pu = torch.softmax(retrain(xu).double(), -1)
    mi_b = bootstrap_marginal_mi(
        pr, pu, min(64, len(pr)), min(16, len(pu)), n_boot=n_boot, seed=seed
    )
    mi_pop = marginal_mi_population(pr.mean(0).numpy(), pu.mean(0).numpy())
    slack = float(mi_bounds.confidence_slack(pu.cpu().numpy()))
    s_r = float(pr[:, k].mean())
    return {
        "forget_acc": float((pu.argmax(-1) == yu).double().mean()),
        "mi_batch": float(mi_b.mean()),
        "mi_pop": float(mi_pop),
        "s_r": s_r,
        "s_u": float(pu[:, k].mean()),
        "slack_u": slack,
        "bound": float(mi_bounds.forget_accuracy_bound(mi_pop, s_r, slack)),
    }


# --------------------------------------------------------------------------------------------
# Stopping rules: pure functions of one trajectory (rows of one (gamma, seed), ordered by step)
# --------------------------------------------------------------------------------------------


def first_at_or_below(values: np.ndarray, threshold: float, ready: np.ndarray | None = None) -> int:
    """Index of the first check with ``values <= threshold`` (and ``ready``), else the last
    index (the budget ran out)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) == 0:
        raise bad_value("values", f"shape {v.shape}", "a non-empty 1-D trajectory")
    ok = v <= threshold
    if ready is not None:
        ok &= np.asarray(ready, dtype=bool)
    hit = np.flatnonzero(ok)
    return int(hit[0]) if len(hit) else len(v) - 1


def stop_index(
    traj: pd.DataFrame, rule: str, ref: dict, ratio: float = 1.0, fixed_step: int = 0
) -> int:
    """Where ``rule`` stops on one trajectory (a frame of :func:`stopping_trajectories` for one
    trial, sorted by step).

    ``fixed``: the first check at or after ``fixed_step`` (the paper: a fixed epoch count);
    ``target_mi``: the moving-average ``I_hat`` at or below ``ratio * ref['mi_batch']`` once its
    window is full (``ratio = 1``: the retrained model's level); ``calibrated_mi``: the same with a
    fitted ``ratio``; ``certified``: the exact bound on the forget accuracy at or below
    ``ref['forget_acc']`` (so the forget accuracy at the stop is provably at most the retrained
    model's); ``oracle``: the forget accuracy itself at or below ``ref['forget_acc']``.
    """
    if rule not in RULES:
        raise bad_value("rule", rule, f"one of {RULES}")
    if rule == "fixed":
        return first_at_or_below(-traj["step"].to_numpy(dtype=float), -float(fixed_step))
    if rule in ("target_mi", "calibrated_mi"):
        return first_at_or_below(
            traj["mi_avg"].to_numpy(), ratio * ref["mi_batch"], traj["window_full"].to_numpy()
        )
    col = "bound" if rule == "certified" else "forget_acc"
    return first_at_or_below(traj[col].to_numpy(), ref["forget_acc"])


def apply_rule(
    traj: pd.DataFrame, rule: str, ref: dict, ratio: float = 1.0, fixed_step: int = 0
) -> pd.DataFrame:
    """One row per trial: the check where ``rule`` stops (columns of the trajectory, plus
    ``rule`` and ``forget_gap = forget_acc - ref['forget_acc']``)."""
    out = []
    for _, one in traj.sort_values("step").groupby(["gamma", "seed"], sort=True):
        row = one.iloc[stop_index(one, rule, ref, ratio, fixed_step)].to_dict()
        out.append({**row, "rule": rule, "forget_gap": row["forget_acc"] - ref["forget_acc"]})
    return pd.DataFrame(out)


def calibrate_ratio(
    traj: pd.DataFrame, ref: dict, ratios: tuple[float, ...]
) -> tuple[float, pd.Series]:
    """The threshold ratio whose ``calibrated_mi`` stops give the smallest mean ``|forget_gap|``
    over the trials of ``traj`` (the calibration seeds, every gamma pooled); ties go to the
    smaller ratio. Returns ``(ratio, mean |gap| per ratio)``."""
    if not ratios:
        raise bad_value("ratios", ratios, "a non-empty tuple of positive numbers")
    score = pd.Series(
        {r: apply_rule(traj, "calibrated_mi", ref, r)["forget_gap"].abs().mean() for r in ratios}
    )
    return float(score.idxmin()), score
