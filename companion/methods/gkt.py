"""Gated Knowledge Transfer (GKT; Chundawat et al., "Zero-shot machine unlearning", IEEE TIFS 2023)
as the JiT reference code runs it (``gkt`` in jwf40/Information-Theoretic-Unlearning,
``code/gkt.py``). Zero-shot: only the model and the forget class are used.

A generator ``G(z)`` (z_dim 128) and a student (the original with every Conv2d weight
re-initialised, Xavier uniform) play a data-free distillation game against the frozen original
(teacher):

* for each of 1,000 pseudo-batches of 128 ``z``: 2 generator steps maximising the teacher-student
  divergence ``KL(softmax(t) || softmax(s))``, then 15 student steps minimising
  ``KL_T(s, t) + beta * sum_layers AT(s, t)`` (T = 1, beta = 5) on the pseudo-samples that pass the
  **band-pass gate**: teacher probability of the forget class <= 0.01;
* both optimisers SGD lr 0.01, momentum 0.9, gradient-norm clip 5; the student's rate follows a
  OneCycle schedule with maximum 0.1.

Attention transfer (Zagoruyko & Komodakis): ``AT(a) = normalize(mean_c a^2)`` on the output of every
Conv2d; the loss is the mean squared difference of teacher and student maps (0 for conv-free nets).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..config import bad_value, momentum, number_in, rate, weight
from ..data.tasks import require_zero_shot
from ..progress import progress
from ._zoo import forget_class, frozen_copy
from .base import MethodConfig, positive, register


class Generator(nn.Module):
    """The GKT/ZSKT pseudo-data generator for inputs of shape (C, H, W).

    z (B, z_dim) -> Linear -> (128, ceil(H/4), ceil(W/4)) -> BN -> [Upsample x2, Conv 3x3, BN,
    LeakyReLU 0.2] x2 (128, 64 channels) -> Conv 3x3 to C -> Tanh -> BN(affine=False) -> (B, C, H,
    W).
    """

    def __init__(self, z_dim: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        if len(shape) != 3:
            raise bad_value("input_shape", shape, "an image shape (C, H, W)")
        c, h, w = shape
        self.shape = (c, h, w)
        self.h0, self.w0 = math.ceil(h / 4), math.ceil(w / 4)
        self.fc = nn.Linear(z_dim, 128 * self.h0 * self.w0)
        self.net = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, padding=1),
            nn.BatchNorm2d(128),
            nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.LeakyReLU(0.2),
            nn.Conv2d(64, c, 3, padding=1),
            nn.Tanh(),
            nn.BatchNorm2d(c, affine=False),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(self.fc(z).view(z.shape[0], 128, self.h0, self.w0))
        if x.shape[-2:] != self.shape[1:]:
            x = F.interpolate(x, size=self.shape[1:], mode="bilinear", align_corners=False)
        return x


class ConvTaps:
    """Forward hooks collecting the output of every Conv2d of a model (attention-transfer maps)."""

    def __init__(self, model: nn.Module) -> None:
        self.acts: list[torch.Tensor] = []
        self.handles = [
            m.register_forward_hook(self._hook) for m in model.modules() if isinstance(m, nn.Conv2d)
        ]

    def _hook(self, _m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
        self.acts.append(out)

    def take(self) -> list[torch.Tensor]:
        out, self.acts = self.acts, []
        return out

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def attention(a: torch.Tensor) -> torch.Tensor:
    """AT map of activations (B, C, H, W): L2-normalised channel mean of squares, (B, H*W)."""
    return F.normalize(a.pow(2).mean(1).flatten(1))


def at_loss(s_acts: list[torch.Tensor], t_acts: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean squared difference of attention maps."""
    if not s_acts:
        return torch.zeros(())
    return sum((attention(s) - attention(t)).pow(2).mean() for s, t in zip(s_acts, t_acts))


def reinit_convs(model: nn.Module, generator: torch.Generator) -> int:
    """Re-initialise every Conv2d weight Xavier-uniform (from ``generator``); returns how many."""
    k = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.weight[0].numel()
            fan_out = m.weight.shape[0] * m.weight[0, 0].numel()
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            with torch.no_grad():
                m.weight.copy_((torch.rand(m.weight.shape, generator=generator) * 2 - 1) * bound)
            k += 1
    return k


@dataclass(frozen=True)
class GktConfig(MethodConfig):
    """GKT settings (the reference code's VGG values; deviations.md#jit-gkt-budget). QUICK: 10
    pseudo-batches of 32 with 1 generator and 5 student steps (the FULL schedule is 17,000 steps of
    batch 128); a CPU-budget cut, so the re-initialised student cannot recover in QUICK."""

    n_pseudo_batches: int = 1000
    pseudo_batch: int = 128
    generator_steps: int = 2
    student_steps: int = 15
    z_dim: int = 128
    threshold: float = 0.01
    lr_generator: float = 0.01
    lr_student: float = 0.01
    max_lr_student: float = 0.1
    momentum: float = 0.9
    clip: float = 5.0
    beta: float = 5.0
    temperature: float = 1.0

    QUICK = {"n_pseudo_batches": 10, "pseudo_batch": 32, "generator_steps": 1, "student_steps": 5}

    def validate(self) -> None:
        for name in (
            "n_pseudo_batches",
            "pseudo_batch",
            "generator_steps",
            "student_steps",
            "z_dim",
        ):
            positive(name, getattr(self, name))
        number_in("threshold", self.threshold, 0.0, 1.0, high_open=False)
        for name in ("lr_generator", "lr_student", "max_lr_student"):
            rate(name, getattr(self, name))
        number_in("clip", self.clip, 0.0)
        number_in("temperature", self.temperature, 0.0)
        momentum("momentum", self.momentum)
        weight("beta", self.beta)


@register(
    "gkt",
    GktConfig,
    zero_shot=True,
    paper="jit",
    description=(
        "GKT: data-free distillation into a re-initialised student, gated to exclude the forget "
        "class (zero-shot)"
    ),
)
def gkt(model: nn.Module, task, cfg: GktConfig, *, seed: int, device, **_) -> dict:
    view = require_zero_shot(task, "gkt")
    label = forget_class(view, "gkt")
    gen = torch.Generator().manual_seed(seed)
    teacher = frozen_copy(model)
    student = copy.deepcopy(model)
    reinit_convs(student, gen)
    torch.manual_seed(seed)
    g = Generator(cfg.z_dim, view.input_shape).to(device)
    opt_g = torch.optim.SGD(g.parameters(), lr=cfg.lr_generator, momentum=cfg.momentum)
    opt_s = torch.optim.SGD(student.parameters(), lr=cfg.lr_student, momentum=cfg.momentum)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt_s, max_lr=cfg.max_lr_student, total_steps=cfg.n_pseudo_batches * cfg.student_steps
    )
    t_taps, s_taps = ConvTaps(teacher), ConvTaps(student)
    kept, s_losses = [], []
    try:
        for _ in progress(range(cfg.n_pseudo_batches), desc="gkt"):
            z = torch.randn((cfg.pseudo_batch, cfg.z_dim), generator=gen).to(device)
            g.train()
            student.train()
            for _ in range(cfg.generator_steps):
                x = g(z)
                t, s = teacher(x), student(x)
                t_taps.take(), s_taps.take()
                loss_g = -F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction="batchmean")
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                nn.utils.clip_grad_norm_(g.parameters(), cfg.clip)
                opt_g.step()
            x = g(z).detach()
            with torch.no_grad():
                t = teacher(x)
                t_acts = t_taps.take()
            mask = F.softmax(t, 1)[:, label] <= cfg.threshold  # the band-pass gate
            kept.append(int(mask.sum()))
            for _ in range(cfg.student_steps):
                if not mask.any():  # nothing passes the gate: no student step (the schedule waits)
                    break
                s = student(x[mask])
                s_acts = s_taps.take()
                kl = (
                    F.kl_div(
                        F.log_softmax(s / cfg.temperature, 1),
                        F.softmax(t[mask] / cfg.temperature, 1),
                        reduction="batchmean",
                    )
                    * cfg.temperature**2
                )
                loss = kl + cfg.beta * at_loss(s_acts, [a[mask] for a in t_acts]).to(kl.device)
                opt_s.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(student.parameters(), cfg.clip)
                opt_s.step()
                sched.step()
                s_losses.append(float(loss.detach()))
    finally:
        t_taps.remove()
        s_taps.remove()
    model.load_state_dict(student.state_dict())
    model.eval()
    return {
        "forget_class": label,
        "kept_fraction": sum(kept) / (len(kept) * cfg.pseudo_batch),
        "student_loss": s_losses,
    }
