"""Distances between a model's outputs and a reference's, on the forget set.

Inputs are softmax outputs ``(N, C)`` (rows are probability vectors); results are means over the N
samples, in nats.

* :func:`kl_to_reference`: mean_i KL(p_i || q_i), probabilities clamped at 1e-12.
* :func:`js_to_reference`: the standard Jensen-Shannon divergence, mean_i [KL(p_i||m_i) +
  KL(q_i||m_i)]/2
  with m = (p + q)/2; symmetric and at most ln 2.
* :func:`js_as_coded`: the function of the bad-teacher (Chundawat et al. 2023, arXiv 2205.08096) and
  JiT (Foster et al.) code, 0.5 kl_div(log p, m) + 0.5 kl_div(log q, m) with PyTorch's default
  ``reduction='mean'``: KL(m || p) and KL(m || q) (arguments reversed) averaged over all N x C
  elements, about C times smaller than the standard value. Kept for parity with reported numbers.
* :func:`zrf`: the zero-retrain forgetting score of Chundawat et al. (2023), 1 - mean_i JS(p_i, t_i)
  against the outputs t of an *incompetent teacher* (a randomly initialised network of the same
  architecture); 1 means "outputs like a random network". ``js='as_coded'`` uses the code's JS.
* :func:`activation_distance`: mean_i ||p_i - q_i||_2 (Chundawat et al. 2023, Sec. 4).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from ..config import bad_value

EPS = 1e-12


def _probs(name: str, p) -> torch.Tensor:
    t = (
        torch.as_tensor(np.asarray(p) if not isinstance(p, torch.Tensor) else p)
        .detach()
        .to("cpu", torch.float64)
    )
    if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 2:
        raise bad_value(name, tuple(t.shape), "softmax outputs of shape (N, C) with N >= 1, C >= 2")
    if (
        not torch.isfinite(t).all()
        or (t < 0).any()
        or not torch.allclose(t.sum(1), torch.ones(len(t), dtype=t.dtype), atol=1e-4)
    ):
        raise bad_value(
            name, "rows that are not probability vectors", "non-negative rows summing to 1"
        )
    return t


def _pair(p, q) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _probs("p", p), _probs("q", q)
    if a.shape != b.shape:
        raise bad_value("q", tuple(b.shape), f"outputs of the same shape as p {tuple(a.shape)}")
    return a, b


def _kl_rows(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    p, q = p.clamp_min(EPS), q.clamp_min(EPS)
    return (p * (p.log() - q.log())).sum(1)


def kl_to_reference(p, q) -> float:
    """mean_i KL(p_i || q_i)."""
    a, b = _pair(p, q)
    return float(_kl_rows(a, b).mean())


def _js_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    m = (a + b) / 2
    return 0.5 * (torch.special.xlogy(a, a) - torch.special.xlogy(a, m)).sum(1) + 0.5 * (
        torch.special.xlogy(b, b) - torch.special.xlogy(b, m)
    ).sum(1)


def js_to_reference(p, q) -> float:
    """Standard Jensen-Shannon divergence, averaged over rows (0 ln 0 = 0; at most ln 2)."""
    a, b = _pair(p, q)
    return float(_js_rows(a, b).mean())


def js_as_coded(p, q) -> float:
    """The bad-teacher / JiT code's JSDiv: 0.5 F.kl_div(log p, m) + 0.5 F.kl_div(log q, m), element
    mean."""
    a, b = _pair(p, q)
    m = (a + b) / 2
    n = m.numel()  # reduction='mean' (the code's default): the sum over all N x C elements / (N C)
    return float(
        0.5 * F.kl_div(a.clamp_min(EPS).log(), m, reduction="sum") / n
        + 0.5 * F.kl_div(b.clamp_min(EPS).log(), m, reduction="sum") / n
    )


def zrf(p, teacher, js: str = "standard") -> float:
    """ZRF = 1 - mean JS(model outputs, incompetent-teacher outputs) on the forget set."""
    if js not in ("standard", "as_coded"):
        raise bad_value("js", js, "'standard' or 'as_coded'")
    return 1.0 - (js_to_reference(p, teacher) if js == "standard" else js_as_coded(p, teacher))


def activation_distance(p, q) -> float:
    """mean_i ||p_i - q_i||_2 between two models' softmax outputs."""
    a, b = _pair(p, q)
    return float((a - b).norm(dim=1).mean())


def softmax_outputs(
    model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1024
) -> torch.Tensor:
    """Softmax outputs (float64, eval mode) of ``model`` on prepared inputs ``x``, for the functions
    above."""
    if not isinstance(model, torch.nn.Module):
        raise bad_value("model", type(model).__name__, "a torch.nn.Module")
    was = model.training
    model.eval()
    with torch.no_grad():
        out = torch.cat(
            [model(x[i : i + batch_size]).double() for i in range(0, len(x), batch_size)]
        )
    model.train(was)
    return torch.softmax(out, 1)
