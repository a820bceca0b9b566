"""Bad Teacher (BT; Chundawat et al., AAAI 2023) as the JiT reference code runs it
(``blindspot`` in jwf40/Information-Theoretic-Unlearning, ``src/forget_full_class_strategies.py``;
deviations.md#jit-bad-teacher).

The student (the model) is distilled from two teachers at once: the original model on retain
samples and an *incompetent* teacher, a freshly initialised network of the same architecture, on
forget samples. Per sample the target is ``softmax(teacher(x) / T)`` of the teacher its tag picks
(tag 1 = forget: incompetent; tag 0 = retain: original), and the loss is

    KL(target || softmax(student(x) / T))

with PyTorch's ``kl_div`` default reduction, the **mean over all B x C elements** (as coded;
``kl_reduction='batchmean'`` gives the per-sample KL). Data: a random 30 % of the retain set
(tag 0) plus all of D_f (tag 1), shuffled, batch 256; Adam lr 1e-4, one epoch; T = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..config import bad_value, number_in, rate
from ..data.tasks import Task
from ..progress import progress
from ._zoo import fresh_like, frozen_copy, mixed_split, split_batches
from .base import MethodConfig, positive, register


@dataclass(frozen=True)
class BadTeacherConfig(MethodConfig):
    """BT settings (the reference code's; deviations.md#jit-bad-teacher).

    Parameters
    ----------
    retain_fraction : float in (0, 1]
        Share of the retain set drawn (seeded) for the retain half of the data (0.3).
    batch_size, lr, epochs : int, float, int
        256, 1e-4 (Adam), 1.
    temperature : float
        T of both softmaxes (1).
    kl_reduction : {'mean', 'batchmean'}
        'mean' (the code: mean over B x C elements) or 'batchmean' (KL per sample).

    QUICK: digits give 2 steps per epoch at batch 256, so batch 32 and lr 1e-3.
    """

    retain_fraction: float = 0.3
    batch_size: int = 256
    lr: float = 1e-4
    epochs: int = 1
    temperature: float = 1.0
    kl_reduction: str = "mean"

    QUICK = {"batch_size": 32, "lr": 1e-3}

    def validate(self) -> None:
        number_in("retain_fraction", self.retain_fraction, 0.0, 1.0, high_open=False)
        positive("batch_size", self.batch_size)
        rate("lr", self.lr)
        positive("epochs", self.epochs)
        number_in("temperature", self.temperature, 0.0)
        if self.kl_reduction not in ("mean", "batchmean"):
            raise bad_value("kl_reduction", self.kl_reduction, "'mean' (as coded) or 'batchmean'")


def bad_teacher_loss(
    student: torch.Tensor,
    full: torch.Tensor,
    bad: torch.Tensor,
    tag: torch.Tensor,
    temperature: float,
    reduction: str = "mean",
) -> torch.Tensor:
    """The BT loss of a batch.

    Parameters
    ----------
    student, full, bad : Tensor (B, C)
        Logits of the student, the original (competent) teacher and the incompetent teacher.
    tag : Tensor (B,)
        1 for forget samples (target: incompetent teacher), 0 for retain samples.
    """
    t = tag.to(student.dtype).unsqueeze(1)
    target = t * F.softmax(bad / temperature, 1) + (1 - t) * F.softmax(full / temperature, 1)
    total = F.kl_div(F.log_softmax(student / temperature, 1), target, reduction="sum")
    # 'mean' = PyTorch's legacy elementwise mean (the reference code's default), written out so it
    # does not change when PyTorch makes 'mean' behave like 'batchmean'
    return total / (student.numel() if reduction == "mean" else student.shape[0])


@register(
    "bad_teacher",
    BadTeacherConfig,
    zero_shot=False,
    paper="jit",
    description="BT: distil from the original on retain and a random teacher on forget",
)
def bad_teacher(
    model: nn.Module, task: Task, cfg: BadTeacherConfig, *, seed: int, device, **_
) -> dict:
    gen = torch.Generator().manual_seed(seed)
    full = frozen_copy(model)
    bad = frozen_copy(
        fresh_like(model, task.input_shape, task.num_classes, 20_000 + seed).to(device)
    )
    n_keep = max(1, int(round(cfg.retain_fraction * len(task.retain))))
    keep = torch.randperm(len(task.retain), generator=gen)[:n_keep]
    data, src = mixed_split([(task.retain.subset(keep), None), (task.forget, None)])
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    losses = []
    for _ in progress(range(cfg.epochs), desc="bad_teacher"):
        model.train()
        for xb, _yb, tag in split_batches(data, src, cfg.batch_size, gen, device):
            with torch.no_grad():
                f_out, b_out = full(xb), bad(xb)
            loss = bad_teacher_loss(model(xb), f_out, b_out, tag, cfg.temperature, cfg.kl_reduction)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    model.eval()
    return {"loss": losses, "n_retain_used": n_keep}
