"""Networks of the neural optimal-transport maps (Korotin et al.'s NOT, quadratic cost).

The transport map ``T`` and the potential (critic) ``f`` of
:func:`companion.experiments.xs_images.neural_ot_map`: residual MLPs for QUICK (maps on PCA
coefficients) and a small UNet / ResNet-style critic for 64x64 images (FULL). They are smaller than
the reference networks of the authors' CelebA notebook (deviations.md#xs-neural-ot).
"""

from __future__ import annotations

import torch
from torch import nn


class Scaled(nn.Module):
    """``x -> scale * net(x / scale)``."""

    def __init__(self, net: nn.Module, scale: float) -> None:
        super().__init__()
        self.net = net
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.net(x / self.scale)


class ResidualMLP(nn.Module):
    """Two hidden ReLU layers of ``hidden`` units on flattened inputs (n, *shape).

    ``out=None``: a residual map ``x + net(x)`` of the input's shape; ``out=1``: a scalar potential
    (n,).
    """

    def __init__(self, dim: int, hidden: int, out: int | None = None) -> None:
        super().__init__()
        self.out = out
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out or dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(len(x), -1)
        y = self.net(flat)
        return y.squeeze(1) if self.out == 1 else (flat + y).reshape(x.shape)


class UNet(nn.Module):
    """A small UNet (C -> C channels, two down/up levels, ``base`` channels), residual output; (n,
    C, H, W) with H, W divisible by 4."""

    def __init__(self, channels: int, base: int) -> None:
        super().__init__()
        c = channels
        block = lambda i, o: nn.Sequential(
            nn.Conv2d(i, o, 3, padding=1),
            nn.GroupNorm(8, o),
            nn.SiLU(),
            nn.Conv2d(o, o, 3, padding=1),
            nn.SiLU(),
        )
        self.d1, self.d2, self.mid = (
            block(c, base),
            block(base, 2 * base),
            block(2 * base, 4 * base),
        )
        self.u2, self.u1 = block(6 * base, 2 * base), block(3 * base, base)
        self.out = nn.Conv2d(base, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = self.d1(x)
        h2 = self.d2(nn.functional.avg_pool2d(h1, 2))
        m = self.mid(nn.functional.avg_pool2d(h2, 2))
        u2 = self.u2(torch.cat([nn.functional.interpolate(m, scale_factor=2), h2], 1))
        u1 = self.u1(torch.cat([nn.functional.interpolate(u2, scale_factor=2), h1], 1))
        return x + self.out(u1)


class ResNetCritic(nn.Module):
    """A ResNet-style potential f: image (n, C, size, size) -> scalar (n,) (conv blocks with
    downsampling)."""

    def __init__(self, channels: int, base: int, size: int) -> None:
        super().__init__()
        layers, c = [nn.Conv2d(channels, base, 3, padding=1)], base
        s = size
        while s > 4:
            layers += [nn.LeakyReLU(0.2), nn.Conv2d(c, 2 * c, 3, padding=1), nn.AvgPool2d(2)]
            c, s = 2 * c, s // 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c * s * s, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).squeeze(1)
