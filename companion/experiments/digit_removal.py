"""Xu & Strohmer's MNIST digit-removal protocol: the split, the reference models, the (gamma,
epochs) grid, the stopping rules.

The protocol of the authors' MNIST notebooks and script (``Data_Unlearning_MNIST_1.ipynb``,
``Data_Unlearning_MNIST_Plot.py``, xushizhou/Machine_Unlearn_via_Info_Reg, ca32703), run with the
registered method :func:`companion.methods.mi_unlearning.mi_unlearning`; the companion seeds every
draw (deviations.md#xs-seeds), adds a held-out retain test split (deviations.md#xs-retain-test) and
compares stopping rules (deviations.md#xs-stopping-rule).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..config import ForgetSpec, bad_value
from ..data import load_task
from ..data.tasks import Task
from ..methods.base import MethodConfig, unlearn
from ..methods.mi_unlearning import STOP_RULES, MIUnlearningConfig
from ..methods.mi_unlearning import step_losses as mi_step_losses
from ..models import build, cached_state, train_or_load
from ..models.stacked import StackedMLP
from ..progress import progress
from ..training import accuracy, fit, recipe_for


def digit_removal_task(task: Task, share: float = 0.75, seed: int = 0) -> Task:
    """Forget a random ``share`` of one class's training samples; the rest of that class stays in
    D_r.

    The authors' notebook forgets ``int(0.75 * 6131) = 4598`` of MNIST's training 3s (its README
    says two thirds; deviations.md#xs-forget-share). ``task`` must be a ``class:K`` task; ``train``,
    ``test``, ``val`` and the test splits are unchanged (``forget_test``: the held-out test samples
    of class K, ``retain_test``: the other test samples, the held-out retain distribution missing
    upstream, deviations.md#xs-retain-test).

    Parameters
    ----------
    task : Task
        From ``load_task(name, forget="class:K", ...)``.
    share : float
        In (0, 1]; ``int(share * n_K)`` samples are forgotten (at least one).
    seed : int
        Seeds the draw (upstream draws with an unseeded ``random.sample``,
        deviations.md#xs-seeds).
    """
    if not isinstance(task, Task) or task.forget_spec.kind != "class":
        raise bad_value(
            "task", getattr(task, "forget_spec", task), "a Task loaded with forget='class:K'"
        )
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise bad_value("share", share, "a number in (0, 1]")
    k = task.forget_spec.value
    pos = np.flatnonzero(task.train.y.numpy() == k)
    n_forget = int(share * len(pos))
    if n_forget < 1:
        raise bad_value(
            "share",
            share,
            f"a share that forgets at least one of the {len(pos)} samples of class {k}",
        )
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(pos, size=n_forget, replace=False))
    mask = np.zeros(len(task.train), dtype=bool)
    mask[chosen] = True
    info = dict(
        task.info, forget_share=float(share), forget_share_seed=int(seed), forget_class=int(k)
    )
    return Task(
        name=task.name,
        forget_spec=ForgetSpec("class", k),
        seed=task.seed,
        num_classes=task.num_classes,
        input_shape=task.input_shape,
        class_names=task.class_names,
        train=task.train,
        test=task.test,
        retain=task.train.subset(np.flatnonzero(~mask)),
        forget=task.train.subset(chosen),
        val=task.val,
        retain_test=task.retain_test,
        forget_test=task.forget_test,
        profile=task.profile,
        standin=task.standin,
        info=info,
    )


PAPER_GRID: tuple[tuple[float, int], ...] = ((1.5, 20), (3.5, 5), (3.5, 20), (5.0, 2))


@dataclass(frozen=True)
class DigitRemovalConfig(MethodConfig):
    """The MNIST digit-3 protocol of the authors' notebooks: forget ``share`` of class
    ``forget_class``'s training images, MLP 784-128-64-10, original / retrain / fine-tune with the
    recipe of ``companion.training.RECIPES`` (FULL: Adam 1e-3, 100 epochs, batch 64), the (gamma,
    epochs) ``grid`` with ``n_trials`` trials each (trials differ in batch order only) and the table
    row (``table_gamma``, ``table_epochs``); stopping rules are checked every ``rule_check_every``
    steps (FULL: 36, eight times per 288-step epoch). QUICK: the embedded 4,000-image MNIST subset,
    2 trials, rules checked after every step (its unlearning moves within a few steps)."""

    QUICK = {"task": "mnist5k", "n_trials": 2, "rule_check_every": 1}

    task: str = "mnist"
    forget_class: int = 3
    share: float = 0.75
    arch: str = "mlp"
    grid: tuple[tuple[float, int], ...] = PAPER_GRID
    n_trials: int = 10
    table_gamma: float = 4.0
    table_epochs: int = 5
    rule_check_every: int = 36

    def validate(self) -> None:
        if (
            isinstance(self.rule_check_every, bool)
            or not isinstance(self.rule_check_every, int)
            or self.rule_check_every < 1
        ):
            raise bad_value("rule_check_every", self.rule_check_every, "a positive integer")
        if not 0 < self.share <= 1:
            raise bad_value("share", self.share, "a number in (0, 1]")
        if (
            isinstance(self.n_trials, bool)
            or not isinstance(self.n_trials, int)
            or self.n_trials < 1
        ):
            raise bad_value("n_trials", self.n_trials, "a positive integer")
        for g, e in self.grid:
            # refuses bad pairs with the method's own messages
            MIUnlearningConfig(gamma=g, epochs=e)
        MIUnlearningConfig(gamma=self.table_gamma, epochs=self.table_epochs)


def digit_removal_references(
    cfg: DigitRemovalConfig, profile: str, seed: int = 0, device=None, data_root=None
) -> dict:
    """The task (:func:`digit_removal_task`) and the authors' three reference models, from the
    checkpoint cache.

    Returns ``{"task", "original", "retrain", "finetune"}``: the original trained on D_r and D_u,
    a fresh model trained on D_r, and the original fine-tuned on D_r with a fresh optimiser, all
    with the profile's recipe for ``cfg.arch``.
    """

    base = load_task(
        cfg.task,
        forget=f"class:{cfg.forget_class}",
        seed=seed,
        val_fraction=0.0,
        data_root=data_root,
    )
    task = digit_removal_task(base, cfg.share, seed)
    original = train_or_load(task, cfg.arch, profile, seed, device=device)
    retrain = train_or_load(task, cfg.arch, profile, seed, device=device, on="retain")
    recipe = recipe_for(task.name, cfg.arch, profile)
    key = {
        "task": task.name,
        "task_seed": seed,
        "forget": str(task.forget_spec),
        "share": cfg.share,
        "n": len(task.retain),
        "arch": cfg.arch,
        "recipe": recipe.__dict__,
        "seed": seed,
        "method": "finetune_from_original",
    }

    def start() -> nn.Module:
        m = build(cfg.arch, task.input_shape, task.num_classes, seed)
        m.load_state_dict(original.state_dict())
        return m

    finetune, _ = cached_state(
        key,
        start,
        lambda m: fit(m, task.retain, recipe, seed=seed + 7, device=device, desc="finetune"),
        name=f"{task.name}-{cfg.arch}-finetune",
    )
    return {
        "task": task,
        "original": original,
        "retrain": retrain,
        "finetune": finetune.to(device or "cpu"),
    }


def original_trajectory(
    task: Task, cfg: DigitRemovalConfig, profile: str, seed: int = 0, device=None
) -> tuple[list[dict], nn.Module]:
    """The original trained once more exactly as :func:`digit_removal_references` trains it (same
    recipe, seed and data), with its accuracy on D_r, D_u and the test set after every epoch.

    Adam at a constant learning rate never settles: the reference code's printed training losses
    move between 0.002 and 0.01 over its last epochs. The trajectory measures how far a one-run
    number (the paper's table) can move with the epoch at which training happens to stop. Returns
    ``(rows, model)``: one ``{'epoch', 'retain_acc', 'forget_acc', 'test_acc'}`` per epoch (from 1)
    and the final model, equal to the cached original (same seed, same device).
    """
    recipe = recipe_for(task.name, cfg.arch, profile)
    model = build(cfg.arch, task.input_shape, task.num_classes, seed)
    rows: list[dict] = []

    def on_epoch(epoch: int, m: nn.Module) -> None:
        rows.append(
            {
                "epoch": epoch + 1,
                **{
                    f"{name}_acc": accuracy(m, getattr(task, name), device)
                    for name in ("retain", "forget", "test")
                },
            }
        )
        m.train()

    fit(
        model,
        task.train,
        recipe,
        seed=seed,
        device=device,
        desc="original, scored per epoch",
        on_epoch=on_epoch,
    )
    return rows, model


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


def digit_removal_config(
    profile: str = "quick", n_trials: int = 0, **overrides
) -> DigitRemovalConfig:
    """The protocol's config for ``profile``; ``n_trials = 0`` keeps the profile's trial count."""
    if n_trials:
        overrides["n_trials"] = n_trials
    return DigitRemovalConfig.resolve(profile, **overrides)


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


def run_stopping_rules(
    original: nn.Module,
    task: Task,
    cfg: DigitRemovalConfig,
    profile: str,
    gamma: float,
    epochs: int,
    seed: int = 0,
    device=None,
    rules: tuple[str, ...] = STOP_RULES,
) -> dict:
    """Run ``mi_unlearning`` once per stopping rule with its default stop value (the retrained
    reference's forget accuracy or ``I_hat``; a 1-point test-accuracy drop), checking every
    ``cfg.rule_check_every`` steps; ``'none'`` logs once per epoch.

    Returns ``{rule: UnlearnResult}``. Every run uses the same seed, so a stopped run follows the
    same trajectory as the unstopped one up to its stop.
    """
    unknown = [r for r in rules if r not in STOP_RULES]
    if unknown:
        raise bad_value("rules", unknown, f"rules among {STOP_RULES}")
    return {
        rule: unlearn(
            "mi_unlearning",
            original,
            task,
            profile,
            seed,
            device,
            gamma=gamma,
            epochs=epochs,
            stop=rule,
            check_every=0 if rule == "none" else cfg.rule_check_every,
        )
        for rule in rules
    }
