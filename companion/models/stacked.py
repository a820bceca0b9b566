"""R copies of a ReLU MLP evaluated and trained at once (the GMM toy's repetitions, digit-removal
trials)."""

from __future__ import annotations

import torch
from torch import nn

from ..config import bad_value


class StackedMLP(nn.Module):
    """R copies of a ReLU MLP evaluated at once: ``forward(x (N, d)) -> (R, N, C)``; also (R, N, d)
    inputs.

    The parameters are stacked Linear weights ``(R, out, in)`` and biases ``(R, 1, out)``; training
    them with one Adam on the summed per-model losses is exactly R independent Adam runs (Adam is
    elementwise).
    """

    def __init__(self, models: list[nn.Sequential]) -> None:
        super().__init__()
        layers = [[m for m in net if isinstance(m, nn.Linear)] for net in models]
        self.weights = nn.ParameterList(
            [
                nn.Parameter(torch.stack([ls[i].weight.detach() for ls in layers]))
                for i in range(len(layers[0]))
            ]
        )
        self.biases = nn.ParameterList(
            [
                nn.Parameter(torch.stack([ls[i].bias.detach() for ls in layers]).unsqueeze(1))
                for i in range(len(layers[0]))
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.matmul(h, w.transpose(1, 2)) + b
            if i < len(self.weights) - 1:
                h = torch.relu(h)
        return h

    def unstack(self, r: int, cfg=None) -> nn.Sequential:
        """Model ``r`` as an ordinary ``nn.Sequential`` (Linear, ReLU, ..., Linear), read off the
        stacked shapes.

        ``cfg``: optionally a config with ``dim`` and ``hidden`` (the GMM toy's), checked against
        those shapes.
        """
        sizes = [self.weights[0].shape[2]] + [w.shape[1] for w in self.weights]
        if cfg is not None and [cfg.dim, *cfg.hidden] != sizes[:-1]:
            raise bad_value(
                "cfg", (cfg.dim, tuple(cfg.hidden)), f"the stacked layer sizes {tuple(sizes[:-1])}"
            )
        state = (
            torch.random.get_rng_state()
        )  # the layers' initialisation is overwritten: leave the global RNG as it was
        try:
            mods: list[nn.Module] = []
            for i in range(len(sizes) - 1):
                mods += [nn.Linear(sizes[i], sizes[i + 1])] + (
                    [nn.ReLU()] if i < len(sizes) - 2 else []
                )
            net = nn.Sequential(*mods)
        finally:
            torch.random.set_rng_state(state)
        lins = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(lins, self.weights, self.biases):
                lin.weight.copy_(w[r])
                lin.bias.copy_(b[r, 0])
        return net
