"""K models of one small architecture trained at once, each on its own subset of one pool.

Shadow-model attacks (LiRA, Carlini et al. 2022, arXiv 2112.03570; U-LiRA, Hayes et al. 2024,
arXiv 2403.01218) and KLoM (Rinberg et al., arXiv 2602.16400) need tens of models trained on
random subsets of the same pool. :func:`train_ensemble` trains them together: the parameters of
the K models are stacked (:func:`torch.func.stack_module_state`), one forward pass evaluates all of
them (:func:`torch.func.vmap` over :func:`torch.func.functional_call`), and one vectorised
optimiser step updates all of them.

The result is, up to floating-point rounding, **the same as K calls of**
:func:`companion.training.fit`, model k on ``data.subset(members_k)`` with ``seed_k``
(:func:`train_sequential` is that reference). This holds because

* model k is initialised by ``models.build(arch, ..., seed_k)`` (or copied from ``init``), and its
  batch order comes from its own ``torch.Generator`` seeded with ``seed_k``, drawn exactly as
  ``fit`` draws it: one ``randperm`` of its n_k members per epoch, cut into batches of B;
* every step takes one batch per model; models with fewer members have fewer batches an epoch and
  *sit out* the steps they lack (no update, no optimiser-state change); a last partial batch is
  padded with zero-weight rows, and each model's loss is the mean cross-entropy over its real rows;
* Adam and SGD (momentum, L2 weight decay) are elementwise, so one vectorised step with per-model
  step counts and learning rates equals K separate ``torch.optim`` steps.

Layers whose training-mode forward draws random numbers or mixes examples (dropout, batch norm)
and data augmentation are refused: their draws could not match the sequential runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import threads
from .config import bad_value
from .data.splits import Split
from .models.nets import build
from .training import TrainRecipe, fit, lr_at
from .vmapped import forward_all, stack_state, state_of

_STATEFUL = (nn.Dropout, nn.Dropout2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)


@dataclass
class Ensemble:
    """K models of one architecture as stacked parameters ``(K, ...)``.

    ``logits(x)`` evaluates all of them at once (``(K, N, C)``); ``model(k)`` returns model k as an
    ordinary ``nn.Module``.
    """

    arch: str
    input_shape: tuple[int, ...]
    num_classes: int
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def _base(self) -> nn.Module:
        return build(self.arch, self.input_shape, self.num_classes, 0).to("meta")

    @torch.no_grad()
    def logits(self, x: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
        """Logits of every model on prepared inputs ``x`` (N, ...): a float32 tensor
        ``(K, N, C)``."""
        f = forward_all(self._base().eval())
        out = [
            f(self.params, self.buffers, x[i : i + batch_size])
            for i in range(0, len(x), batch_size)
        ]
        return torch.cat(out, dim=1) if out else torch.empty(len(self), 0, self.num_classes)

    def predict(self, data: Split) -> torch.Tensor:
        """Logits ``(K, N, C)`` of every model on a split."""
        return self.logits(data.tensors()[0])

    def model(self, k: int) -> nn.Module:
        """Model ``k`` as an ordinary module (eval mode)."""
        if not 0 <= k < len(self):
            raise bad_value("k", k, f"a model index in [0, {len(self) - 1}]")
        net = build(self.arch, self.input_shape, self.num_classes, 0)
        net.load_state_dict(state_of(self.params, self.buffers, k))
        return net.eval()

    def select(self, ks) -> "Ensemble":
        """The sub-ensemble of models ``ks`` (a list of indices)."""
        idx = torch.as_tensor(list(ks), dtype=torch.long)
        return Ensemble(
            self.arch,
            self.input_shape,
            self.num_classes,
            {n: t[idx].clone() for n, t in self.params.items()},
            {n: t[idx].clone() for n, t in self.buffers.items()},
        )


def stack(models: list[nn.Module], arch: str, input_shape, num_classes: int) -> Ensemble:
    """An :class:`Ensemble` holding copies of ``models`` (same architecture)."""
    params, buffers = stack_state(models)
    return Ensemble(arch, tuple(input_shape), num_classes, params, buffers)


def balanced_masks(n_models: int, n_examples: int, seed: int = 0, folds: int = 1) -> np.ndarray:
    """A (K, N) 0/1 membership mask in which every example is IN for exactly half of the models.

    Carlini et al. (2022, Sec. VI-A) train shadows on random halves so that each example has as
    many IN as OUT models; drawing, per example, a random half of the models does that exactly.
    With ``folds`` > 1 the models are cut into that many contiguous groups (the folds of
    :func:`companion.metrics.lira.cross_fit`) and each group is balanced on its own.
    """
    if not isinstance(folds, (int, np.integer)) or folds < 1:
        raise bad_value("folds", folds, "a positive integer")
    if not isinstance(n_models, (int, np.integer)) or n_models < 2 or n_models % (2 * folds):
        raise bad_value("n_models", n_models, f"a positive multiple of 2 x folds = {2 * folds}")
    if not isinstance(n_examples, (int, np.integer)) or n_examples < 1:
        raise bad_value("n_examples", n_examples, "a positive integer")
    rng = np.random.default_rng(seed)
    size = n_models // folds
    mask = np.zeros((n_models, n_examples), dtype=np.int8)
    for f in range(folds):
        order = np.argsort(rng.random((n_examples, size)), axis=1)[:, : size // 2]
        mask[f * size + order.T, np.arange(n_examples)[None, :]] = 1
    return mask


def _check(
    data: Split,
    masks,
    seeds,
    arch: str,
    num_classes: int,
    recipe: TrainRecipe,
    init: Ensemble | None,
):
    if not isinstance(data, Split) or len(data) == 0:
        raise bad_value("data", type(data).__name__, "a non-empty companion.data.Split")
    m = np.asarray(masks)
    if m.ndim != 2 or m.shape[1] != len(data) or m.shape[0] < 1:
        raise bad_value("masks", m.shape, f"a (K, {len(data)}) 0/1 membership array with K >= 1")
    if not np.isin(m, (0, 1)).all():
        raise bad_value("masks", "values outside {0, 1}", "a 0/1 (or boolean) membership array")
    if (m.sum(1) == 0).any():
        raise bad_value(
            "masks",
            f"model(s) {np.flatnonzero(m.sum(1) == 0).tolist()} with no member",
            "at least one member per model",
        )
    seeds = [int(s) for s in seeds]
    if len(seeds) != m.shape[0] or any(s < 0 for s in seeds):
        raise bad_value("seeds", seeds, f"{m.shape[0]} non-negative integers (one per model)")
    if recipe.augment != "none":
        raise bad_value(
            "recipe.augment",
            recipe.augment,
            "'none' (augmentation draws could not match K sequential runs)",
        )
    probe = build(arch, tuple(data.x.shape[1:]), num_classes, 0)
    bad = sorted({type(mod).__name__ for mod in probe.modules() if isinstance(mod, _STATEFUL)})
    if bad:
        raise bad_value(
            "arch", arch, f"an architecture without dropout or normalisation layers (it has {bad})"
        )
    if init is not None and (len(init) != m.shape[0] or init.arch != arch):
        raise bad_value(
            "init",
            (getattr(init, "arch", None), len(init) if isinstance(init, Ensemble) else None),
            f"an Ensemble of {m.shape[0]} '{arch}' models",
        )
    return m.astype(bool), seeds


def train_ensemble(
    data: Split,
    masks,
    seeds,
    arch: str,
    num_classes: int,
    recipe: TrainRecipe,
    init: Ensemble | None = None,
    device: str | torch.device = "cpu",
) -> Ensemble:
    """Train K models at once: model k on the members ``masks[k]`` of ``data`` with ``seeds[k]``.

    ``init``: start from these models (e.g. fine-tuning trained originals) instead of fresh
    initialisations; the seeds then only drive the batch order. ``device``: where the stacked
    parameters and the pool live (batch orders are drawn on the CPU, as ``fit`` draws them). See
    the module doc for why this equals :func:`train_sequential`. The result lives on the CPU.
    """
    mask, seeds = _check(data, masks, seeds, arch, num_classes, recipe, init)
    shape = tuple(data.x.shape[1:])
    ens = (
        init
        if init is not None
        else stack([build(arch, shape, num_classes, s) for s in seeds], arch, shape, num_classes)
    )
    dev = torch.device(device)
    n_total = sum(t.numel() for t in ens.params.values())  # all K copies
    with threads.policy(n_total, dev):
        return _train(ens, data, mask, seeds, arch, num_classes, recipe, dev)


def _train(ens, data, mask, seeds, arch, num_classes, recipe, dev) -> Ensemble:
    K, B, shape = len(seeds), recipe.batch_size, tuple(data.x.shape[1:])
    params = {n: t.detach().to(dev).clone().requires_grad_(True) for n, t in ens.params.items()}
    buffers = {n: t.to(dev).clone() for n, t in ens.buffers.items()}
    x, y = data.tensors(dev)
    members = [torch.as_tensor(np.flatnonzero(mask[k])) for k in range(K)]
    n_k = torch.tensor([len(mb) for mb in members])
    steps_k = (n_k + B - 1) // B
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    forward = forward_all(build(arch, shape, num_classes, 0).to("meta").train(), shared_input=False)
    state = {n: (torch.zeros_like(t), torch.zeros_like(t)) for n, t in params.items()}
    count = torch.zeros(K, dtype=torch.long, device=dev)  # optimiser steps taken by each model
    for _epoch in range(recipe.epochs):
        perms = [members[k][torch.randperm(len(members[k]), generator=gens[k])] for k in range(K)]
        for i in range(int(steps_k.max())):
            idx = torch.zeros(K, B, dtype=torch.long)
            w = torch.zeros(K, B)
            for k in range(K):
                chunk = perms[k][i * B : (i + 1) * B]
                idx[k, : len(chunk)] = chunk
                w[k, : len(chunk)] = 1.0
            active, idx, w = (i < steps_k).to(dev), idx.to(dev), w.to(dev)
            logp = torch.log_softmax(forward(params, buffers, x[idx]), dim=-1)
            # (K, B): each model's own mean below
            ce = -logp.gather(-1, y[idx].unsqueeze(-1)).squeeze(-1)
            loss = ((ce * w).sum(1) / w.sum(1).clamp_min(1.0)).sum()
            grads = torch.autograd.grad(loss, list(params.values()))
            lr = torch.tensor(
                [lr_at(recipe, int(c), int(n)) for c, n in zip(count.tolist(), steps_k.tolist())],
                dtype=torch.float32,
                device=dev,
            )
            count += active.long()
            with torch.no_grad():
                for (name, p), g in zip(params.items(), grads):
                    _step(recipe, p, g, state[name], active, count, lr)
    return Ensemble(
        arch,
        shape,
        num_classes,
        {n: t.detach().cpu() for n, t in params.items()},
        {n: t.cpu() for n, t in buffers.items()},
    )


def _step(recipe: TrainRecipe, p, g, st, active, count, lr) -> None:
    """One vectorised torch.optim Adam / SGD step, in place, for the models in ``active`` (the
    others are left as they are).

    SGD's momentum buffer starts at zero, so its first update 0 * momentum + g is torch's
    ``buf = g``.
    """
    whole = bool(active.all())
    sel = slice(None) if whole else active.nonzero().squeeze(1)
    m, v = st
    # views when every model steps, copies otherwise
    ps, gs, ms, vs = (
        p[sel],
        g[sel],
        m[sel],
        v[sel],
    )
    view = (-1,) + (1,) * (p.ndim - 1)
    lr = lr[sel].to(p.dtype).view(view)
    if recipe.weight_decay:
        gs = gs.add(ps, alpha=recipe.weight_decay)
    if recipe.optimizer == "adam":
        b1, b2, eps = 0.9, 0.999, 1e-8
        ms.lerp_(gs, 1 - b1)
        vs.mul_(b2).addcmul_(gs, gs, value=1 - b2)
        t = count[sel].to(torch.float64)
        bc1 = (1 - b1**t).to(p.dtype).view(view)
        bc2 = (1 - b2**t).sqrt().to(p.dtype).view(view)
        ps.addcdiv_(ms * (lr / bc1), vs.sqrt().div_(bc2).add_(eps), value=-1.0)
    elif recipe.momentum:
        ms.mul_(recipe.momentum).add_(gs)
        ps.sub_(ms * lr)
    else:
        ps.sub_(gs * lr)
    if not whole:
        p[sel], m[sel], v[sel] = ps, ms, vs


def train_sequential(
    data: Split,
    masks,
    seeds,
    arch: str,
    num_classes: int,
    recipe: TrainRecipe,
    init: Ensemble | None = None,
) -> Ensemble:
    """The reference for :func:`train_ensemble`: K ordinary :func:`companion.training.fit` runs,
    stacked."""
    mask, seeds = _check(data, masks, seeds, arch, num_classes, recipe, init)
    shape = tuple(data.x.shape[1:])
    out = []
    for k, s in enumerate(seeds):
        net = init.model(k).train() if init is not None else build(arch, shape, num_classes, s)
        fit(
            net,
            data.subset(np.flatnonzero(mask[k])),
            recipe,
            seed=s,
            device="cpu",
            show_progress=False,
        )
        out.append(net)
    return stack(out, arch, shape, num_classes)


def max_param_gap(a: Ensemble, b: Ensemble) -> float:
    """Largest absolute difference between the parameters of two ensembles of the same layout."""
    if a.params.keys() != b.params.keys():
        raise bad_value("b", sorted(b.params), f"an ensemble with parameters {sorted(a.params)}")
    return (
        max(float((a.params[n] - b.params[n]).abs().max()) for n in a.params)
        if a.params
        else math.nan
    )
