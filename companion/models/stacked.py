"""R copies of a network evaluated and trained at once, as one ``nn.Module`` (the GMM toy's
repetitions, digit-removal trials): a module view of :mod:`companion.vmapped`'s stacked
parameters."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..config import bad_value
from ..vmapped import forward_all, stack_state, state_of


class StackedMLP(nn.Module):
    """R copies of one network evaluated at once: ``forward(x (N, d)) -> (R, N, C)``, or model r on
    ``x[r]`` for ``(R, N, d)`` inputs.

    The parameters are the copies' stacked tensors ``(R, ...)``; training them with one Adam on the
    summed per-model losses is exactly R independent Adam runs (Adam is elementwise).
    """

    def __init__(self, models: list[nn.Module]) -> None:
        super().__init__()
        mode = models[
            0
        ].training  # torch.func stacks only modules in one mode; the weights are what count
        same = [m if m.training == mode else copy.deepcopy(m).train(mode) for m in models]
        params, buffers = stack_state(same)
        self.__dict__["_template"] = copy.deepcopy(
            models[0]
        ).cpu()  # the architecture, unregistered
        self._param_names = list(params)
        self._buffer_names = list(buffers)
        self.stacked = nn.ParameterList([nn.Parameter(params[n]) for n in self._param_names])
        for i, n in enumerate(self._buffer_names):
            self.register_buffer(f"buffer_{i}", buffers[n])

    def _state(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        buffers = {n: getattr(self, f"buffer_{i}") for i, n in enumerate(self._buffer_names)}
        return dict(zip(self._param_names, self.stacked)), buffers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params, buffers = self._state()
        return forward_all(self._template, shared_input=x.ndim == 2)(params, buffers, x)

    def unstack(self, r: int, cfg=None) -> nn.Module:
        """Model ``r`` as an ordinary module (a copy of the first model given, with model r's
        weights).

        ``cfg``: optionally a config with ``dim`` and ``hidden``, checked against the layer sizes.
        """
        net = copy.deepcopy(self._template)
        if cfg is not None:
            lins = [m for m in net.modules() if isinstance(m, nn.Linear)]
            sizes = [lins[0].in_features] + [m.out_features for m in lins[:-1]]
            if [cfg.dim, *cfg.hidden] != sizes:
                raise bad_value(
                    "cfg", (cfg.dim, tuple(cfg.hidden)), f"the stacked layer sizes {tuple(sizes)}"
                )
        params, buffers = self._state()
        net.load_state_dict({n: t.detach().cpu() for n, t in state_of(params, buffers, r).items()})
        return net
