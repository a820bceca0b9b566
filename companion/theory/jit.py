"""The information-gain view of Foster et al. (TMLR 2025): information content and curvature.

* :func:`neighbourhood_agreement` -- the information content alpha(x): the share of the samples in
  the ball ``B_r(x) = {z : ||z - x|| <= r}`` that share x's class (Foster et al. (2025), Sec. 3,
  "information gain"); x is *low information* when ``alpha(x) >= tau``
  (:func:`is_high_information`). The paper states neither r nor tau
  (deviations.md#jit-information-content).
* :func:`model_agreement` -- the same quantity with the model's own classes ``c(z)`` of points drawn
  uniformly from the ball (usable when no other data are at hand, the zero-shot situation).
* :func:`curvature` -- ``kappa(x) = ||Hess f(x)||_F / ||grad f(x)||`` of a scalar model output
  (Foster et al. (2025), Sec. 3, "curvature and decision boundaries"), exact or by Hutchinson
  probes.

The low-dimensional toys that train models on these quantities live in
:mod:`companion.experiments.jit_geometry`.
"""

from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn
from torch.func import grad, hessian, jvp, vmap

from ..config import bad_value

# --------------------------------------------------------------------------------------------
# Information content alpha(x)
# --------------------------------------------------------------------------------------------


def _check_r_tau(r: float, tau: float | None = None) -> None:
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not r > 0 or r != r:
        raise bad_value("r", r, "a radius > 0")
    if tau is not None and (
        isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0.0 <= tau <= 1.0
    ):
        raise bad_value("tau", tau, "a threshold in [0, 1]")


def neighbourhood_agreement(
    x: torch.Tensor,
    labels_x: torch.Tensor,
    points: torch.Tensor,
    labels: torch.Tensor,
    r: float,
    exclude_self: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """alpha(x) = (1/|B_r(x)|) sum_{z in B_r(x)} 1[c(z) = c(x)] over a reference sample set.

    Parameters
    ----------
    x : Tensor (B, ...)
        Query samples (flattened internally).
    labels_x : Tensor (B,)
        Their classes c(x).
    points : Tensor (M, ...)
        The reference samples z (e.g. the training set).
    labels : Tensor (M,)
        Their classes c(z).
    r : float
        Radius of the Euclidean ball B_r(x).
    exclude_self : bool
        Leave out reference points at distance 0 (x itself when x is in ``points``).

    Returns
    -------
    alpha : Tensor (B,)
        NaN where the ball holds no reference point.
    count : Tensor (B,)
        ``|B_r(x)|``.
    """
    _check_r_tau(r)
    if x.shape[0] != labels_x.shape[0] or points.shape[0] != labels.shape[0]:
        raise bad_value(
            "labels", (tuple(labels_x.shape), tuple(labels.shape)), "one label per sample"
        )
    # (B, M), exact 0 for self
    d = torch.cdist(
        x.flatten(1).double(),
        points.flatten(1).double(),
        compute_mode="donot_use_mm_for_euclid_dist",
    )
    inside = d <= r
    if exclude_self:
        inside &= d > 0
    same = labels_x.view(-1, 1) == labels.view(1, -1)
    count = inside.sum(1)
    agree = (inside & same).sum(1)
    alpha = torch.where(
        count > 0,
        agree.double() / count.clamp_min(1).double(),
        torch.full_like(count, float("nan"), dtype=torch.float64),
    )
    return alpha, count


def knn_radius(x: torch.Tensor, points: torch.Tensor, k: int = 10, scale: float = 1.0) -> float:
    """A data-scaled radius for alpha(x): ``scale`` times the median, over the rows of ``x``, of the
    distance to the k-th nearest point of ``points`` (points at distance 0, x itself, left out).

    Pixel-space distances have no natural unit, so the chapters set r relative to the data's own
    neighbour distances. Shapes: x (B, ...), points (M, ...).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise bad_value("k", k, "an integer >= 1")
    _check_r_tau(scale)
    d = torch.cdist(
        x.flatten(1).double(),
        points.flatten(1).double(),
        compute_mode="donot_use_mm_for_euclid_dist",
    )
    d = torch.where(d > 0, d, torch.full_like(d, float("inf")))
    if d.shape[1] < k:
        raise bad_value("k", k, f"at most the number of reference points ({d.shape[1]})")
    return float(scale * d.kthvalue(k, dim=1).values.quantile(0.5))


def sample_ball(
    x: torch.Tensor, r: float, n: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` points uniform in the ball ``B_r(x)`` around each row of ``x`` (B, ...) -> (n, B,
    ...)."""
    _check_r_tau(r)
    d = x[0].numel()
    u = torch.randn((n, *x.shape), generator=generator, dtype=x.dtype, device=x.device)
    u = u / u.flatten(2).norm(dim=-1).view(n, x.shape[0], *([1] * (x.ndim - 1)))
    rad = r * torch.rand((n, x.shape[0]), generator=generator, dtype=x.dtype, device=x.device) ** (
        1.0 / d
    )
    return x.unsqueeze(0) + rad.view(n, x.shape[0], *([1] * (x.ndim - 1))) * u


@torch.no_grad()
def model_agreement(
    classify: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    r: float,
    n: int = 256,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """alpha(x) with the model's classes: the share of ``n`` uniform draws z in B_r(x) with c(z) =
    c(x).

    Parameters
    ----------
    classify : callable
        Maps a batch (K, ...) to class indices (K,) (e.g. ``lambda z: model(z).argmax(1)``).
    x : Tensor (B, ...)
    r : float
    n : int
        Monte-Carlo draws per sample.

    Returns
    -------
    Tensor (B,)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise bad_value("n", n, "an integer >= 1")
    z = sample_ball(x, r, n, generator)  # (n, B, ...)
    cz = classify(z.reshape(-1, *x.shape[1:])).view(n, x.shape[0])
    cx = classify(x).view(1, -1)
    return (cz == cx).double().mean(0)


def is_high_information(alpha: torch.Tensor, tau: float) -> torch.Tensor:
    """True where alpha(x) < tau (high information gain); alpha(x) >= tau is low information."""
    _check_r_tau(1.0, tau)
    return alpha < tau


# --------------------------------------------------------------------------------------------
# Curvature
# --------------------------------------------------------------------------------------------


def scalar_output(
    model: nn.Module, input_shape: tuple[int, ...], kind: str = "margin", cls: int = 1
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A scalar function of one flattened input, for :func:`curvature`.

    ``kind``: 'margin' (logit of ``cls`` minus the largest other logit), 'logit' (the logit of
    ``cls``) or 'prob' (softmax probability of ``cls``). The returned function maps (D,) -> ().
    Logits of a ReLU network are piecewise linear (zero Hessian almost everywhere); use a smooth
    activation or ``kind='prob'`` there.
    """
    if kind not in ("margin", "logit", "prob"):
        raise bad_value("kind", kind, "'margin', 'logit' or 'prob'")

    def f(v: torch.Tensor) -> torch.Tensor:
        z = model(v.view(1, *input_shape))[0]
        if kind == "prob":
            return torch.softmax(z, -1)[cls]
        if kind == "logit":
            return z[cls]
        others = torch.cat([z[:cls], z[cls + 1 :]])
        return z[cls] - others.max()

    return f


def curvature(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    method: str = "exact",
    n_probes: int = 64,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """kappa(x) = ||Hess f(x)||_F / ||grad f(x)|| for each row of ``x``.

    Parameters
    ----------
    fn : callable
        Scalar function of one sample, (D,) -> () (see :func:`scalar_output`); must be
        ``torch.func``-transformable (no in-place ops on inputs, no dropout randomness).
    x : Tensor (B, D)
    method : {'exact', 'hutchinson'}
        'exact' forms each (D, D) Hessian with ``torch.func.hessian``; 'hutchinson' estimates
        ``||H||_F^2 = E ||H v||^2`` with ``n_probes`` Gaussian probes (forward-over-reverse HVPs),
        for inputs too large for a dense Hessian.

    Returns
    -------
    dict with ``kappa`` (B,), ``hess_fro`` (B,), ``grad_norm`` (B,).
    """
    if method not in ("exact", "hutchinson"):
        raise bad_value("method", method, "'exact' or 'hutchinson'")
    if x.ndim != 2:
        raise bad_value("x", tuple(x.shape), "a (B, D) tensor (flatten the inputs first)")
    # torch.func's hessian path emits a torch.jit deprecation notice
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
        return _curvature(fn, x, method, n_probes, generator)


def _curvature(fn, x, method, n_probes, generator) -> dict[str, torch.Tensor]:
    g = vmap(grad(fn))(x)  # (B, D)
    if method == "exact":
        h = vmap(hessian(fn))(x)  # (B, D, D)
        hf = h.flatten(1).norm(dim=1)
    else:
        if isinstance(n_probes, bool) or not isinstance(n_probes, int) or n_probes < 1:
            raise bad_value("n_probes", n_probes, "an integer >= 1")
        v = torch.randn((n_probes, *x.shape), generator=generator, dtype=x.dtype, device=x.device)

        def hvp(xi: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
            return jvp(grad(fn), (xi,), (vi,))[1]

        hv = vmap(vmap(hvp), in_dims=(None, 0))(x, v)  # (P, B, D)
        hf = hv.pow(2).sum(-1).mean(0).sqrt()
    gn = g.norm(dim=1)
    return {"kappa": (hf / gn).detach(), "hess_fro": hf.detach(), "grad_norm": gn.detach()}
