"""Leakage measures and mutual-information estimators for the regulariser of Xu & Strohmer's data
unlearning (arXiv 2502.05684), beyond the paper's plug-in (:mod:`companion.theory.mi_estimators`).

Every sample function takes model outputs ``logits`` (..., N, C) and binary group labels ``z`` (N,)
(the paper's batch construction, :func:`companion.theory.mi_estimators.marginal_batch`) and returns
one number per leading index, in nats where it is an information:

* the plug-in family on the groups' mean softmax outputs ``P_z`` (a (2, C) conditional table with
  the groups' shares as prior): Shannon MI (the paper's), Sibson's Renyi-MI of order ``alpha``
  (:func:`renyi_mi_table`), the chi^2-MI (:func:`chi2_mi_table`) and the equal-weight
  Jensen-Shannon divergence (:func:`js_table`); :func:`table_measure` applies any of them to
  samples;
* a hard-label plug-in (:func:`mi_hard_plugin`, arg-max counts; not differentiable) and its
  temperature relaxation (:func:`mi_sharpened`);
* nearest-neighbour estimators: Kraskov-Stoegbauer-Grassberger (:func:`mi_ksg`, two continuous
  variables) and Ross's discrete-continuous version (:func:`mi_knn_discrete`); not differentiable
  (counts of neighbours);
* the InfoNCE variational lower bound from a critic's score matrix (:func:`infonce_bound`,
  :func:`binary_critic_scores`);
* the squared maximum mean discrepancy between the groups' softmax outputs (:func:`mmd2`, an
  integral probability metric).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from ..config import bad_value, number_in

TABLE_MEASURES = ("shannon", "renyi", "chi2", "js")


# --------------------------------------------------------------------------------------------
# Measures of a conditional table P(y | z) with prior pi (torch; differentiable)
# --------------------------------------------------------------------------------------------


def _table(cond: torch.Tensor, prior: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cond, prior = torch.as_tensor(cond), torch.as_tensor(prior)
    if cond.ndim < 2 or cond.shape[-2] != prior.shape[-1]:
        raise bad_value(
            "cond", f"shape {tuple(cond.shape)}", f"a (..., {prior.shape[-1]}, C) table"
        )
    if bool((cond < 0).any()) or bool((prior < 0).any()):
        raise bad_value("cond/prior", "negative entries", "probabilities")
    return cond, prior.to(cond.dtype)


def shannon_mi_table(cond: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """``I(Y; Z) = sum_z pi_z KL(P_z || P)``, ``P = sum_z pi_z P_z``.

    cond (..., K, C), prior (K,) -> (...). Equals the paper's plug-in when ``cond`` holds the mean
    softmax outputs (:func:`companion.theory.mi_estimators.mi_softmax_plugin`).
    """
    c, p = _table(cond, prior)
    mix = (p.unsqueeze(-1) * c).sum(-2, keepdim=True)
    terms = torch.where(c > 0, c * (torch.log(c.clamp_min(1e-300)) - torch.log(mix)), 0.0)
    return (p.unsqueeze(-1) * terms).sum((-1, -2))


def renyi_mi_table(cond: torch.Tensor, prior: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    r"""Sibson's Renyi mutual information of order ``alpha`` (Sibson 1969; Verdu 2015):

    .. math::
        I_\alpha(Z; Y) = \frac{\alpha}{\alpha - 1}
            \ln \sum_y \Big(\sum_z \pi_z P(y \mid z)^\alpha\Big)^{1/\alpha}

    cond (..., K, C), prior (K,) -> (...). Non-decreasing in ``alpha``; ``alpha -> 1`` gives the
    Shannon MI (used for ``alpha = 1``), ``alpha -> inf`` the log of the maximal leakage.
    """
    number_in("alpha", alpha, 0.0)
    c, p = _table(cond, prior)
    if alpha == 1.0:
        return shannon_mi_table(c, p)
    inner = (p.unsqueeze(-1) * c.clamp_min(0) ** alpha).sum(-2) ** (1.0 / alpha)
    return alpha / (alpha - 1.0) * torch.log(inner.sum(-1))


def chi2_mi_table(cond: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """The chi^2-information ``sum_z pi_z chi^2(P_z || P) = sum_{z,y} pi_z (P_z(y) - P(y))^2 /
    P(y)``.

    cond (..., K, C), prior (K,) -> (...). It bounds the Shannon MI from above: ``I <= ln(1 +
    chi2)`` (Jensen), and is twice the MI to second order.
    """
    c, p = _table(cond, prior)
    mix = (p.unsqueeze(-1) * c).sum(-2, keepdim=True)
    d2 = torch.where(mix > 0, (c - mix) ** 2 / mix.clamp_min(1e-300), 0.0)
    return (p.unsqueeze(-1) * d2).sum((-1, -2))


def js_table(cond: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
    """Equal-weight Jensen-Shannon divergence ``(KL(P_0 || M) + KL(P_1 || M)) / 2``, ``M = (P_0 +
    P_1) / 2``, of the two rows of ``cond`` (..., 2, C) -> (...); in [0, ln 2].

    The Shannon MI of the construction is the pi-weighted JS divergence; this one ignores the
    group shares (``prior`` is accepted for a common signature and not used).
    """
    c = torch.as_tensor(cond)
    if c.ndim < 2 or c.shape[-2] != 2:
        raise bad_value("cond", f"shape {tuple(c.shape)}", "a (..., 2, C) table")
    half = torch.tensor([0.5, 0.5], dtype=c.dtype, device=c.device)
    return shannon_mi_table(c, half)


def group_means(logits: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean softmax output of each group and the groups' shares.

    logits (..., N, C), z (N,) in {0, 1} -> cond (..., 2, C), prior (2,).
    """
    if logits.ndim < 2:
        raise bad_value("logits", f"shape {tuple(logits.shape)}", "a tensor of shape (..., N, C)")
    zb = torch.as_tensor(z, device=logits.device).reshape(-1)
    if zb.shape[0] != logits.shape[-2]:
        raise bad_value("z", f"{zb.shape[0]} labels", f"{logits.shape[-2]} (one per row)")
    if bool(((zb != 0) & (zb != 1)).any()):
        raise bad_value("z", "labels outside {0, 1}", "binary group labels")
    zb = zb.to(torch.bool)
    n1, n = int(zb.sum()), zb.shape[0]
    if n1 in (0, n):
        raise bad_value("z", f"{n1} of {n} labels equal to 1", "both groups non-empty")
    p = torch.softmax(logits, -1)
    cond = torch.stack([p[..., ~zb, :].mean(-2), p[..., zb, :].mean(-2)], -2)
    prior = torch.tensor([(n - n1) / n, n1 / n], dtype=p.dtype, device=p.device)
    return cond, prior


def table_measure(
    logits: torch.Tensor, z: torch.Tensor, measure: str = "shannon", alpha: float = 2.0
) -> torch.Tensor:
    """A plug-in measure (one of :data:`TABLE_MEASURES`) of the groups' mean softmax outputs.

    logits (..., N, C), z (N,) -> (...). ``'shannon'`` is the paper's plug-in (stable form).
    """
    if measure not in TABLE_MEASURES:
        raise bad_value("measure", measure, f"one of {TABLE_MEASURES}")
    cond, prior = group_means(logits, z)
    if measure == "renyi":
        return renyi_mi_table(cond, prior, alpha)
    return {"shannon": shannon_mi_table, "chi2": chi2_mi_table, "js": js_table}[measure](
        cond, prior
    )


# --------------------------------------------------------------------------------------------
# Hard-label plug-in and its relaxation
# --------------------------------------------------------------------------------------------


def mi_hard_plugin(logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Classical plug-in MI of the arg-max labels and the group: the empirical joint table of
    counts.

    logits (..., N, C), z (N,) -> (...). Its gradient is zero almost everywhere (arg-max), so it
    cannot serve as a regulariser; its bias is about the Miller-Madow ``(C' - 1) / (2N)`` with
    ``C'`` the classes that occur (:func:`companion.theory.mi_estimators.miller_madow_bias`).
    """
    onehot = F.one_hot(logits.argmax(-1), logits.shape[-1]).to(torch.float64)
    return table_measure(torch.log(onehot.clamp_min(1e-300)), z, "shannon")


def mi_sharpened(logits: torch.Tensor, z: torch.Tensor, tau: float = 0.25) -> torch.Tensor:
    """The paper's plug-in on ``softmax(logits / tau)``: a differentiable relaxation of
    :func:`mi_hard_plugin` (``tau -> 0``) that is the paper's estimator at ``tau = 1``.

    logits (..., N, C), z (N,) -> (...).
    """
    number_in("tau", tau, 0.0)
    return table_measure(logits / tau, z, "shannon")


# --------------------------------------------------------------------------------------------
# Nearest-neighbour estimators (not differentiable)
# --------------------------------------------------------------------------------------------


def _maxnorm(a: torch.Tensor) -> torch.Tensor:
    """(..., N, d) -> (..., N, N) Chebyshev distances, +inf on the diagonal."""
    d = (a.unsqueeze(-2) - a.unsqueeze(-3)).abs().amax(-1)
    return d + torch.diag(torch.full((a.shape[-2],), math.inf, dtype=d.dtype, device=d.device))


def _check_k(k: int, n: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < n:
        raise bad_value("k", k, f"an integer in [1, {n - 1}]")


def mi_ksg(x: torch.Tensor, y: torch.Tensor, k: int = 3) -> torch.Tensor:
    r"""Kraskov-Stoegbauer-Grassberger estimator (algorithm 1, max-norm) of ``I(X; Y)``:

    .. math::
        \hat I = \psi(k) + \psi(N) - \big\langle \psi(n_x + 1) + \psi(n_y + 1) \big\rangle

    with ``eps_i`` the distance of sample i to its k-th neighbour in the joint space and
    ``n_x(i)``, ``n_y(i)`` the samples strictly closer than ``eps_i`` in each marginal space.

    x (..., N, dx), y (..., N, dy) -> (...). Consistent for continuous laws; not differentiable.
    Memory is O(N^2) per leading index.
    """
    if x.ndim < 2 or y.shape[:-1] != x.shape[:-1]:
        raise bad_value("x/y", (tuple(x.shape), tuple(y.shape)), "(..., N, dx) and (..., N, dy)")
    n = x.shape[-2]
    _check_k(k, n)
    x, y = x.double(), y.double()
    dx, dy = _maxnorm(x), _maxnorm(y)
    eps = torch.maximum(dx, dy).kthvalue(k, dim=-1, keepdim=True).values
    nx = (dx < eps).sum(-1).double()
    ny = (dy < eps).sum(-1).double()
    dg = torch.special.digamma
    const = float(dg(torch.tensor(float(k))) + dg(torch.tensor(float(n))))
    return const - (dg(nx + 1) + dg(ny + 1)).mean(-1)


def mi_knn_discrete(x: torch.Tensor, z: torch.Tensor, k: int = 3) -> torch.Tensor:
    r"""Ross's (2014) nearest-neighbour estimator of ``I(X; Z)`` for continuous ``X`` and discrete
    ``Z``:

    .. math::
        \hat I = \psi(N) + \psi(k) - \langle \psi(N_{z_i}) \rangle - \langle \psi(m_i) \rangle

    with ``d_i`` the distance of sample i to its k-th neighbour among samples of its own group,
    ``N_{z_i}`` the size of that group and ``m_i`` the samples of either group within ``d_i``
    (excluding i, including the k-th neighbour).

    x (..., N, d), z (N,) integer labels (each group needs more than ``k`` samples) -> (...).
    Not differentiable (counts).
    """
    if x.ndim < 2:
        raise bad_value("x", f"shape {tuple(x.shape)}", "a tensor of shape (..., N, d)")
    n = x.shape[-2]
    z = torch.as_tensor(z, device=x.device).reshape(-1)
    if z.shape[0] != n:
        raise bad_value("z", f"{z.shape[0]} labels", f"{n} labels")
    labels, counts = torch.unique(z, return_counts=True)
    if len(labels) < 2 or int(counts.min()) <= k:
        raise bad_value("z", f"group sizes {counts.tolist()}", f"two or more groups of > k={k}")
    _check_k(k, n)
    d = _maxnorm(x.double())
    same = z.unsqueeze(0) == z.unsqueeze(1)
    radius = d.masked_fill(~same, math.inf).kthvalue(k, dim=-1, keepdim=True).values
    m = (d <= radius).sum(-1).double()
    nz = counts.double()[torch.searchsorted(labels, z)]
    dg = torch.special.digamma
    const = float(dg(torch.tensor(float(n))) + dg(torch.tensor(float(k))))
    return const - dg(nz).mean() - dg(m).mean(-1)


# --------------------------------------------------------------------------------------------
# Variational bound and integral probability metric (differentiable)
# --------------------------------------------------------------------------------------------


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    r"""InfoNCE lower bound (van den Oord et al. 2018; Poole et al. 2019) from a critic's scores
    ``scores[i, j] = f(y_i, z_j)``, the diagonal holding the observed pairs:

    .. math::
        \hat I_{NCE} = \frac1N \sum_i \Big[f(y_i, z_i) - \ln \frac1N \sum_j e^{f(y_i, z_j)}\Big]

    scores (..., N, N) -> (...). In expectation a lower bound of ``I(Y; Z)`` for every critic, and
    never above ``ln N`` (each term is at most ``ln N``).
    """
    if scores.ndim < 2 or scores.shape[-1] != scores.shape[-2]:
        raise bad_value("scores", f"shape {tuple(scores.shape)}", "a (..., N, N) score matrix")
    n = scores.shape[-1]
    diag = torch.diagonal(scores, dim1=-2, dim2=-1)
    return (diag - torch.logsumexp(scores, -1)).mean(-1) + math.log(n)


def binary_critic_scores(g: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Score matrix of a critic ``f(y, z) = g(y)[z]`` for discrete ``z``.

    g (..., N, K) the critic's outputs per sample and group, z (N,) integer labels in [0, K) ->
    scores (..., N, N) with ``scores[i, j] = g[i, z_j]``.
    """
    z = torch.as_tensor(z, device=g.device).reshape(-1).long()
    if z.shape[0] != g.shape[-2] or bool((z < 0).any()) or int(z.max()) >= g.shape[-1]:
        raise bad_value("z", "labels", f"{g.shape[-2]} labels in [0, {g.shape[-1]})")
    return g[..., z]


def infonce_binary(g: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """:func:`infonce_bound` of :func:`binary_critic_scores` without the (N, N) matrix.

    g (..., N, K), z (N,) labels in [0, K) -> (...). Row i's log-sum-exp over j groups the columns
    by label: ``logsumexp_c (g[i, c] + ln N_c)``, so the bound is ``mean_i [g[i, z_i] - logsumexp_c
    (g[i, c] + ln(N_c / N))]``: the variational classifier bound ``E ln q(z | y) / pi_z`` with
    ``q(c | y) proportional to pi_c e^{g_c(y)}``.
    """
    z = torch.as_tensor(z, device=g.device).reshape(-1).long()
    k = g.shape[-1]
    if z.shape[0] != g.shape[-2] or bool((z < 0).any()) or int(z.max()) >= k:
        raise bad_value("z", "labels", f"{g.shape[-2]} labels in [0, {k})")
    counts = torch.bincount(z, minlength=k).to(g.dtype)
    log_pi = torch.where(counts > 0, torch.log(counts / z.shape[0]), -math.inf)
    diag = g.gather(-1, z.view(*([1] * (g.ndim - 2)), -1, 1).expand(*g.shape[:-1], 1))[..., 0]
    return (diag - torch.logsumexp(g + log_pi, -1)).mean(-1)


def mmd2(
    logits: torch.Tensor, z: torch.Tensor, bandwidth: float = 0.5, unbiased: bool = True
) -> torch.Tensor:
    r"""Squared maximum mean discrepancy between the softmax outputs of group 0 and group 1,
    Gaussian kernel ``k(p, q) = exp(-|p - q|^2 / (2 b^2))`` (Gretton et al. 2012):

    .. math::
        \mathrm{MMD}^2 = E\,k(P_0, P_0') + E\,k(P_1, P_1') - 2 E\,k(P_0, P_1)

    logits (..., N, C), z (N,) -> (...). ``unbiased``: the U-statistic (may be slightly negative);
    otherwise the V-statistic (>= 0). Each group needs two or more rows for the U-statistic.
    """
    number_in("bandwidth", bandwidth, 0.0)
    _, _ = group_means(logits, z)  # validates shapes and labels
    zb = torch.as_tensor(z, device=logits.device).reshape(-1).to(torch.bool)
    p = torch.softmax(logits, -1)
    a, b = p[..., ~zb, :], p[..., zb, :]
    if unbiased and min(a.shape[-2], b.shape[-2]) < 2:
        raise bad_value("z", "a group with one row", "two or more rows per group (unbiased)")

    def kmean(u: torch.Tensor, v: torch.Tensor, drop_diag: bool) -> torch.Tensor:
        # squared distances without a square root: finite gradients at coincident points
        d2 = (u * u).sum(-1, keepdim=True) + (v * v).sum(-1).unsqueeze(-2) - 2 * u @ v.mT
        k = torch.exp(-d2.clamp_min(0) / (2 * bandwidth**2))
        if not drop_diag:
            return k.mean((-1, -2))
        m = u.shape[-2]
        return (k.sum((-1, -2)) - torch.diagonal(k, dim1=-2, dim2=-1).sum(-1)) / (m * (m - 1))

    return kmean(a, a, unbiased) + kmean(b, b, unbiased) - 2 * kmean(a, b, False)
