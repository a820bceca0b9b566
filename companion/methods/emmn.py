"""Error-minimising/-maximising noise (EMMN; Chundawat et al., "Zero-shot machine unlearning",
IEEE TIFS 2023) as the JiT reference code runs it (``emmn`` in
jwf40/Information-Theoretic-Unlearning, ``src/forget_full_class_strategies.py``;
deviations.md#jit-unsir-noise). Zero-shot.

* Forget class: UNSIR's error-*maximising* noise
  (:func:`~companion.methods.unsir.error_maximising_noise`),
  a batch of 4 images, 25 Adam steps (lr 0.1, L2 weight 0.1).
* Every retained class: error-*minimising* noise, 4 images, 30 Adam steps (lr 0.1), cross-entropy
  towards that class.
* Impair: 2 epochs of Adam (lr 1e-4, CE) on all class noises, each labelled with its class and
  repeated 80 times, in batches of **4**: the reference passes the noise batch size as the loader
  batch (``batch_size=256``, the batch of the original zero-shot-unlearning code, is an option). The
  reference code's channel-count loop bound uses only 3 of the 4 noise images per class
  (``noise_images='as_coded'``); the default uses all 4.
* Both noises are optimised with the model in train mode, as the reference code runs it
  (``noise_mode='train'``: dropout active, BatchNorm on batch statistics); ``'eval'`` is an option.

Only the model, the forget set's class and the number of classes are used: no retain sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import bad_value, rate, weight
from ..data.tasks import require_zero_shot
from ._zoo import forget_class
from .base import MethodConfig, positive, register
from .unsir import NOISE_IMAGES, NOISE_MODES, error_maximising_noise, train_epochs, used_noise


@dataclass(frozen=True)
class EmmnConfig(MethodConfig):
    """EMMN settings (deviations.md#jit-unsir-noise). ``batch_size`` (4) is the reference's impair
    batch, the noise batch size it passes to the noisy loader. ``min_l2``: L2 weight of the
    error-minimising noise (0). ``noise_mode``: 'train' (the reference) or 'eval', see
    :func:`~companion.methods.unsir.error_maximising_noise`.

    QUICK: ``repeats`` 20 and ``lr`` 1e-3 (10 digit classes give 200 impair steps per epoch at
    batch 4, against 8,000 for the 100 CIFAR-100 classes).
    """

    noise_batch: int = 4
    max_steps: int = 25
    max_lr: float = 0.1
    max_l2: float = 0.1
    min_steps: int = 30
    min_lr: float = 0.1
    min_l2: float = 0.0
    repeats: int = 80
    noise_images: str = "all"
    noise_mode: str = "train"
    epochs: int = 2
    lr: float = 1e-4
    batch_size: int = 4

    QUICK = {"repeats": 20, "lr": 1e-3}

    def validate(self) -> None:
        for name in ("noise_batch", "max_steps", "min_steps", "repeats", "epochs", "batch_size"):
            positive(name, getattr(self, name))
        for name in ("max_lr", "min_lr", "lr"):
            rate(name, getattr(self, name))
        weight("max_l2", self.max_l2)
        weight("min_l2", self.min_l2)
        if self.noise_images not in NOISE_IMAGES:
            raise bad_value("noise_images", self.noise_images, f"one of {NOISE_IMAGES}")
        if self.noise_mode not in NOISE_MODES:
            raise bad_value("noise_mode", self.noise_mode, f"one of {NOISE_MODES}")


@register(
    "emmn",
    EmmnConfig,
    zero_shot=True,
    paper="jit",
    description=(
        "EMMN: error-max noise for the forget class, error-min noise for the rest (zero-shot)"
    ),
)
def emmn(model: nn.Module, task, cfg: EmmnConfig, *, seed: int, device, **_) -> dict:
    view = require_zero_shot(task, "emmn")
    label = forget_class(view, "emmn")
    gen = torch.Generator().manual_seed(seed)
    xs, ys, ce = [], [], {}
    for c in range(view.num_classes):
        if c == label:
            noise, hist = error_maximising_noise(
                model,
                c,
                view.input_shape,
                cfg.noise_batch,
                cfg.max_steps,
                cfg.max_lr,
                cfg.max_l2,
                gen,
                device,
                mode=cfg.noise_mode,
            )
        else:
            noise, hist = error_maximising_noise(
                model,
                c,
                view.input_shape,
                cfg.noise_batch,
                cfg.min_steps,
                cfg.min_lr,
                cfg.min_l2,
                gen,
                device,
                maximise=False,
                mode=cfg.noise_mode,
            )
        used = used_noise(noise, cfg.noise_images)
        xs.append(used.repeat(cfg.repeats, *([1] * (used.ndim - 1))))
        ys.append(torch.full((len(xs[-1]),), c, dtype=torch.long, device=device))
        ce[c] = hist
    loss = train_epochs(
        model, torch.cat(xs), torch.cat(ys), cfg.epochs, cfg.batch_size, cfg.lr, gen, "emmn impair"
    )
    return {"noise_ce": ce, "forget_class": label, "impair_loss": loss}
