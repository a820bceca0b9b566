"""K copies of one network as stacked parameters, evaluated at once with :mod:`torch.func`.

The primitive under every stacked engine of the package: the ensembles of the audits
(:mod:`companion.ensemble`), the certified runs (:mod:`companion.stacked`) and the JiT geometry
toys (:func:`companion.experiments.jit_geometry.fit_many`). Each keeps its own loop (full-batch
Adam, per-model minibatches, noisy clipped steps); the stacking, the batched forward pass and the
way back to one ordinary module live here, once.

Parameters and buffers are dicts ``{name: Tensor (K, ...)}``: entry k of every tensor is model k.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap


def stack_state(
    models: list[nn.Module], requires_grad: bool = False
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Stacked copies ``(params, buffers)`` of ``models`` (one architecture), detached from them.

    Parameters
    ----------
    models : list of K modules of the same architecture.
    requires_grad : the stacked parameters are leaves that require gradients (a stacked optimiser
        updates them).

    Returns
    -------
    params, buffers : dict of Tensor (K, ...)
    """
    params, buffers = stack_module_state(models)
    params = {n: t.detach().clone().requires_grad_(requires_grad) for n, t in params.items()}
    return params, {n: t.detach().clone() for n, t in buffers.items()}


def forward_all(base: nn.Module, shared_input: bool = True) -> Callable:
    """``f(params, buffers, x)``: the outputs of all K models, ``(K, N, ...)``.

    ``base`` supplies the architecture (it may live on the ``meta`` device); ``shared_input``: every
    model sees the same ``x`` (N, ...), else model k sees ``x[k]`` (x is ``(K, N, ...)``).
    """

    def one(p, b, xb):
        return functional_call(base, (p, b), (xb,))

    return vmap(one, in_dims=(0, 0, None if shared_input else 0))


def loss_grads(base: nn.Module, loss: Callable) -> Callable:
    """``g(params, x, y)``: each model's gradient of ``loss(outputs, y)`` on its own batch
    (``x`` ``(K, B, ...)``, ``y`` ``(K, B)``), as a dict of Tensor (K, ...). Buffers come from
    ``base``."""

    def one(p, xb, yb):
        return loss(functional_call(base, p, (xb,)), yb)

    return vmap(grad(one), in_dims=(0, 0, 0))


def outputs_of(base: nn.Module) -> Callable:
    """``f(params, x)``: all K models' outputs on one shared ``x`` (buffers from ``base``)."""
    return vmap(lambda p, xb: functional_call(base, p, (xb,)), in_dims=(0, None))


def state_of(
    params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], k: int
) -> dict[str, torch.Tensor]:
    """Model ``k``'s ``state_dict`` (views into the stacked tensors)."""
    return {**{n: t[k] for n, t in params.items()}, **{n: t[k] for n, t in buffers.items()}}
