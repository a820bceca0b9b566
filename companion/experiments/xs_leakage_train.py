"""Xu & Strohmer's data unlearning (arXiv 2502.05684) with other regularisers in place of the
plug-in MI: every (regulariser, gamma, trial) trained at once as stacked MLPs, each stopped by the
method's default rule (D_u accuracy down to the retrained model's, deviations.md#xs-stopping-rule).

The loop is the one of :func:`companion.experiments.digit_removal_grid.mi_unlearning_trials`
(the authors' zipped D_r / D_u loaders, retain CE plus ``gamma`` times the penalty on the paper's
batch construction, a fresh Adam) with the penalty chosen per stacked model; the registered method
:func:`companion.methods.mi_unlearning.mi_unlearning` is not changed. The InfoNCE penalty is
adversarial (MINE-style): a critic per model, warmed up on the original's outputs, takes one Adam
ascent step on the bound before each model step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..config import bad_value
from ..data.tasks import Task
from ..models.stacked import StackedMLP
from ..theory import leakage as lk
from ..theory.mi_estimators import marginal_batch, marginal_mi
from .xs_leakage import LeakageSetting, critic_net

CRITIC_WARMUP = 50  # critic steps on the original's outputs before unlearning starts


def penalty(
    name: str,
    out_r: torch.Tensor,
    out_u: torch.Tensor,
    setting: LeakageSetting,
    critic: nn.Module | None = None,
) -> torch.Tensor:
    """The regulariser ``name`` of the paper's batch (``Z = 0``: D_r and D_u batch, ``Z = 1``: the
    D_r batch) from the outputs out_r (T, n_r, C) and out_u (T, n_u, C) -> (T,).

    ``plugin`` is the paper's estimator (clamped form, as :func:`marginal_mi`); ``infonce`` needs a
    stacked ``critic`` (T models, input the log-softmax outputs).
    """
    if name == "plugin":
        return marginal_mi(out_r, out_u)
    logits, z = marginal_batch(out_r, out_u)
    if name == "sharp":
        return lk.mi_sharpened(logits, z, setting.tau)
    if name in ("renyi", "chi2", "js"):
        return lk.table_measure(logits, z, name, setting.alpha)
    if name == "mmd2":
        return lk.mmd2(logits, z, setting.bandwidth)
    if name == "infonce":
        if critic is None:
            raise bad_value("critic", None, "a stacked critic for the InfoNCE penalty")
        return lk.infonce_binary(critic(torch.log_softmax(logits, -1)), z)
    raise bad_value("name", name, f"one of {setting.regularisers}")


def _batches(n_r: int, n_u: int, s: LeakageSetting, gens: list[torch.Generator]) -> list:
    """One epoch of (retain (K, n_r'), unlearn (K, n_u')) index batches per trial generator."""
    spe = -(-n_u // s.forget_batch)
    pu = [torch.randperm(n_u, generator=g) for g in gens]
    pr = [
        torch.cat(
            [torch.randperm(n_r, generator=g) for _ in range(-(-spe * s.retain_batch // n_r))]
        )
        for g in gens
    ]
    out = []
    for i in range(spe):
        iu = [p[i * s.forget_batch : (i + 1) * s.forget_batch] for p in pu]
        m = min(len(b) for b in iu)
        out.append(
            (
                torch.stack([p[i * s.retain_batch : (i + 1) * s.retain_batch] for p in pr]),
                torch.stack([b[:m] for b in iu]),
            )
        )
    return out


def regulariser_runs(
    original: nn.Module,
    task: Task,
    setting: LeakageSetting,
    target_forget_acc: float,
    seed: int = 0,
    device=None,
) -> dict:
    """Unlearn with every (regulariser, gamma, trial) of ``setting`` from ``original`` at once.

    Trial k draws its batch order from seed ``seed + k`` (the same for every regulariser and gamma:
    paired). Every ``check_every`` steps each model's D_u accuracy and test accuracy (the utility,
    on ``utility_eval`` test images) are logged; a model stops at the first check where its D_u
    accuracy is at most ``target_forget_acc`` (its weights are kept from there).

    Returns
    -------
    dict
        ``trajectory``: DataFrame (regulariser, gamma, trial, step, forget_acc, utility), step 0 the
        original; ``stops``: DataFrame (regulariser, gamma, trial, reached, step, forget_acc,
        utility); ``net``: the stacked stopped (or, unreached, final) models, in the rows' order;
        ``combos``: the (regulariser, gamma, trial) of each stacked model.
    """
    s = setting
    if not 0 <= target_forget_acc <= 1:
        raise bad_value("target_forget_acc", target_forget_acc, "an accuracy in [0, 1]")
    if len(task.forget) == 0 or len(task.retain) == 0:
        raise bad_value("task", task.name, "a task with non-empty retain and forget sets")
    dev = torch.device(device or "cpu")
    combos = [(r, g, k) for r in s.regularisers for g in s.gammas for k in range(s.n_trials)]
    n_t = len(combos)
    trial = torch.tensor([k for _, _, k in combos], device=dev)
    gam = torch.tensor([float(g) for _, g, _ in combos], device=dev)
    slices = {r: [i for i, c in enumerate(combos) if c[0] == r] for r in s.regularisers}
    net = StackedMLP([original.eval()] * n_t).to(dev)
    xr, yr = task.retain.tensors(dev)
    xu, yu = task.forget.tensors(dev)
    xt, yt = task.test.tensors(dev)
    xr, xu, xt = xr.flatten(1), xu.flatten(1), xt.flatten(1)
    if 0 < s.utility_eval < len(yt):
        keep = np.sort(np.random.default_rng(seed).choice(len(yt), s.utility_eval, replace=False))
        xt, yt = xt[keep], yt[keep]
    n_c = task.num_classes
    inf_rows = slices.get("infonce", [])
    critic = opt_c = None
    if inf_rows:
        critic = StackedMLP(
            [critic_net(n_c, s.critic_hidden, seed + i).float() for i in range(len(inf_rows))]
        ).to(dev)
        opt_c = torch.optim.Adam(critic.parameters(), lr=1e-3)

    def critic_step(o_r: torch.Tensor, o_u: torch.Tensor) -> None:
        logits, z = marginal_batch(o_r[inf_rows].detach(), o_u[inf_rows].detach())
        loss = -lk.infonce_binary(critic(torch.log_softmax(logits, -1)), z).sum()
        opt_c.zero_grad(set_to_none=True)
        loss.backward()
        opt_c.step()

    def forward(ir: torch.Tensor, iu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ir, iu = ir.to(dev)[trial], iu.to(dev)[trial]
        out = net(torch.cat([xr[ir], xu[iu]], 1))
        return out[:, : ir.shape[1]], out[:, ir.shape[1] :], yr[ir]

    gens = [torch.Generator().manual_seed(seed + k) for k in range(s.n_trials)]
    if critic is not None:
        warm = [torch.Generator().manual_seed(seed + 7_919 + k) for k in range(s.n_trials)]
        done = 0
        while done < CRITIC_WARMUP:
            for ir, iu in _batches(len(yr), len(yu), s, warm):
                with torch.no_grad():
                    o_r, o_u, _ = forward(ir, iu)
                critic_step(o_r, o_u)
                done += 1
                if done == CRITIC_WARMUP:
                    break

    @torch.no_grad()
    def check() -> tuple[torch.Tensor, torch.Tensor]:
        f = (net(xu).argmax(-1) == yu).double().mean(1)
        u = (net(xt).argmax(-1) == yt).double().mean(1)
        return f.cpu(), u.cpu()

    traj: list[tuple] = []
    stopped = torch.zeros(n_t, dtype=torch.bool)
    stop_row: dict[int, tuple] = {}
    kept = [p.detach().clone() for p in net.parameters()]

    def log(step: int) -> None:
        f, u = check()
        for i, (r, g, k) in enumerate(combos):
            traj.append((r, g, k, step, float(f[i]), float(u[i])))
        fire = (~stopped) & (f <= target_forget_acc)
        for i in torch.nonzero(fire).flatten().tolist():
            stop_row[i] = (True, step, float(f[i]), float(u[i]))
            for p, q in zip(kept, net.parameters()):
                p[i] = q.detach()[i]
        stopped.logical_or_(fire)

    log(0)
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    step = 0
    for _ in range(s.epochs):
        if bool(stopped.all()):
            break
        for ir, iu in _batches(len(yr), len(yu), s, gens):
            o_r, o_u, y = forward(ir, iu)
            if critic is not None:
                critic_step(o_r, o_u)
            ce = (
                F.cross_entropy(o_r.reshape(-1, n_c), y.reshape(-1), reduction="none")
                .view(y.shape)
                .mean(-1)
            )
            pen = torch.zeros(n_t, device=dev, dtype=ce.dtype)
            for r, rows in slices.items():
                pen[rows] = penalty(r, o_r[rows], o_u[rows], s, critic).to(ce.dtype)
            opt.zero_grad(set_to_none=True)
            (ce + gam * pen).sum().backward()
            opt.step()
            step += 1
            if step % s.check_every == 0:
                log(step)
                if bool(stopped.all()):
                    break
    if step % s.check_every:
        log(step)
    f, u = check()
    with torch.no_grad():
        for i in torch.nonzero(~stopped).flatten().tolist():
            stop_row[i] = (False, step, float(f[i]), float(u[i]))
        for p, q in zip(net.parameters(), kept):
            p[stopped.to(p.device)] = q[stopped.to(p.device)]
    cols = ["regulariser", "gamma", "trial"]
    return {
        "trajectory": pd.DataFrame(traj, columns=cols + ["step", "forget_acc", "utility"]),
        "stops": pd.DataFrame(
            [(*combos[i], *stop_row[i]) for i in range(n_t)],
            columns=cols + ["reached", "step", "forget_acc", "utility"],
        ),
        "net": net,
        "combos": combos,
    }
