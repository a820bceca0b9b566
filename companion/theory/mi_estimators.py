"""Plug-in estimates of the information a network's outputs carry about a group, as Xu & Strohmer
regularise with it (arXiv 2502.05684): the softmax-averaging estimator, the paper's batch
construction, its bias and its bootstrap over batches. Everything is in nats.
:mod:`companion.theory.information` holds the exact measures, the bounds and the population values,
and re-exports every name.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..config import bad_value

FORMULATIONS = ("clamped", "stable")


def mi_softmax_plugin(
    logits: torch.Tensor, z: torch.Tensor, eps: float = 1e-10, formulation: str = "clamped"
) -> torch.Tensor:
    r"""Plug-in estimate of the information the predictions carry about the group, from logits and
    binary group labels (the authors' ``Data_Unlearning_MNIST_Plot.py``;
    deviations.md#xs-mi-estimator).

    .. math::
        \hat I(\hat Y; Z) = \sum_{z \in \{0, 1\}} \pi_z\,
            \mathrm{KL}\big(\bar P_z \,\|\, \bar P\big),
        \qquad \bar P = \pi_0 \bar P_0 + \pi_1 \bar P_1

    where

    - :math:`\bar P_z` is the mean softmax output over the rows of group :math:`z`;
    - :math:`\pi_z` is the share of rows in group :math:`z`;
    - the estimate is bounded by :math:`H(Z) \le \ln 2`.

    Parameters
    ----------
    logits : Tensor (..., N, C)
        Model outputs; leading dimensions (e.g. R stacked models) are kept.
    z : Tensor (N,)
        Group labels in {0, 1}; both groups must be non-empty.
    eps : float
        The reference code's guard (``formulation='clamped'`` only).
    formulation : {'clamped', 'stable'}
        ``'clamped'`` (default; the paper's code): softmax clamped to ``[eps, 1 - eps]``, joint
        ``J(c, z) = (1/N) sum_i P_ic [z_i = z]`` and ``sum J ln(J / (q pi_z + eps) + eps)``.
        ``'stable'``: the same quantity without guards, from log-softmax with log-sum-exp, so
        saturated outputs give exact values and finite gradients.

    Returns
    -------
    Tensor (...,)
        Estimates in nats.

    References
    ----------
    Xu & Strohmer, "Machine unlearning via information theoretic regularization", 2025: the
    regulariser of data unlearning (section "Data unlearning").
    """
    if formulation not in FORMULATIONS:
        raise bad_value("formulation", formulation, f"one of {FORMULATIONS}")
    if logits.ndim < 2:
        raise bad_value(
            "logits", f"a tensor of shape {tuple(logits.shape)}", "a tensor of shape (..., N, C)"
        )
    z = torch.as_tensor(z, device=logits.device).reshape(-1)
    n = logits.shape[-2]
    if z.shape[0] != n:
        raise bad_value("z", f"{z.shape[0]} labels", f"{n} labels (one per row of logits)")
    zb = z.to(torch.bool) if z.dtype == torch.bool else z.round().to(torch.long)
    if z.dtype != torch.bool and bool(((zb != 0) & (zb != 1)).any()):
        raise bad_value("z", "labels outside {0, 1}", "binary group labels")
    zb = zb.to(torch.bool)
    n1 = int(zb.sum())
    if n1 == 0 or n1 == n:
        raise bad_value("z", f"{n1} of {n} labels equal to 1", "both groups non-empty")
    if formulation == "clamped":
        p = torch.softmax(logits, dim=-1).clamp(eps, 1 - eps)
        w1 = zb.to(p.dtype).unsqueeze(-1) / n
        w0 = (~zb).to(p.dtype).unsqueeze(-1) / n
        j1, j0 = (p * w1).sum(-2), (p * w0).sum(-2)
        q = j0 + j1
        pi1 = n1 / n
        pi0 = 1.0 - pi1
        return (
            j0 * torch.log(j0 / (q * pi0 + eps) + eps) + j1 * torch.log(j1 / (q * pi1 + eps) + eps)
        ).sum(-1)
    logp = torch.log_softmax(logits, dim=-1)
    pis = torch.tensor([(n - n1) / n, n1 / n], dtype=logp.dtype, device=logp.device)
    # (..., 2, C)
    log_bar = torch.stack(
        [
            torch.logsumexp(logp[..., ~zb, :], dim=-2) - math.log(n - n1),
            torch.logsumexp(logp[..., zb, :], dim=-2) - math.log(n1),
        ],
        dim=-2,
    )
    log_mix = torch.logsumexp(log_bar + torch.log(pis).unsqueeze(-1), dim=-2, keepdim=True)
    return (pis.unsqueeze(-1) * torch.exp(log_bar) * (log_bar - log_mix)).sum((-1, -2))


def marginal_batch(
    logits_r: torch.Tensor, logits_u: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's MI batch (the authors' MNIST code): ``Z = 0`` for ``[D_r batch; D_u batch]``,
    ``Z = 1`` for the D_r batch.

    The retain outputs appear once in each group (the reference code forwards ``x_r`` twice; for a
    network without dropout that is the same tensor). The reference code's random permutation of
    the 144 rows is omitted: the estimator is permutation invariant.

    Parameters
    ----------
    logits_r : Tensor (..., n_r, C)
    logits_u : Tensor (..., n_u, C)

    Returns
    -------
    logits : Tensor (..., 2 n_r + n_u, C); z : Tensor (2 n_r + n_u,) float
    """
    n_r, n_u = logits_r.shape[-2], logits_u.shape[-2]
    if n_r == 0 or n_u == 0:
        raise bad_value("batch", f"n_r={n_r}, n_u={n_u}", "non-empty retain and unlearn batches")
    logits = torch.cat([logits_r, logits_u, logits_r], dim=-2)
    z = torch.cat([torch.zeros(n_r + n_u), torch.ones(n_r)]).to(logits.device)
    return logits, z


def marginal_mi(
    logits_r: torch.Tensor, logits_u: torch.Tensor, eps: float = 1e-10, formulation: str = "clamped"
) -> torch.Tensor:
    """``I_hat`` of the paper's batch construction (:func:`marginal_batch`,
    :func:`mi_softmax_plugin`)."""
    logits, z = marginal_batch(logits_r, logits_u)
    return mi_softmax_plugin(logits, z, eps=eps, formulation=formulation)


def miller_madow_bias(n_outcomes: int, n: int, n_groups: int = 2) -> float:
    """First-order bias ``(C - 1)(K - 1) / (2N)`` of the plug-in MI of ``C`` outcomes, ``K`` groups,
    ``N`` samples."""
    if n_outcomes < 1 or n < 1 or n_groups < 1:
        raise bad_value("n_outcomes/n/n_groups", (n_outcomes, n, n_groups), "positive integers")
    return (n_outcomes - 1) * (n_groups - 1) / (2 * n)


def bootstrap_marginal_mi(
    probs_r: torch.Tensor,
    probs_u: torch.Tensor,
    n_r: int = 64,
    n_u: int = 16,
    n_boot: int = 1000,
    seed: int = 0,
    formulation: str = "clamped",
    chunk: int = 256,
) -> np.ndarray:
    """Sampling distribution of the batch estimate :func:`marginal_mi` over random batches.

    Batches of ``n_r`` retain and ``n_u`` unlearn outputs are drawn as a shuffling data loader draws
    them (consecutive chunks of random permutations of each pool); compare with
    :func:`marginal_mi_population` of the pools' means (estimator bias,
    deviations.md#xs-estimator-bias).

    Parameters
    ----------
    probs_r : Tensor (M_r, C), probs_u : Tensor (M_u, C)
        Softmax outputs of a fixed model on D_r and D_u (or synthetic outputs).

    Returns
    -------
    array (n_boot,) of estimates in nats.
    """
    if probs_r.ndim != 2 or probs_u.ndim != 2 or probs_r.shape[1] != probs_u.shape[1]:
        raise bad_value(
            "probs_r/probs_u",
            (tuple(probs_r.shape), tuple(probs_u.shape)),
            "two (M, C) tensors with the same C",
        )
    if not (1 <= n_r <= len(probs_r) and 1 <= n_u <= len(probs_u)):
        raise bad_value(
            "n_r/n_u", (n_r, n_u), f"batch sizes in [1, {len(probs_r)}] and [1, {len(probs_u)}]"
        )
    if n_boot < 1:
        raise bad_value("n_boot", n_boot, "a positive integer")
    gen = torch.Generator().manual_seed(seed)
    lr = torch.log(probs_r.double().clamp_min(1e-300))
    lu = torch.log(probs_u.double().clamp_min(1e-300))
    ir, iu = _loader_batches(len(lr), n_r, n_boot, gen), _loader_batches(len(lu), n_u, n_boot, gen)
    out = [
        marginal_mi(lr[ir[s : s + chunk]], lu[iu[s : s + chunk]], formulation=formulation)
        for s in range(0, n_boot, chunk)
    ]
    return torch.cat(out).numpy()


def _loader_batches(m: int, n: int, count: int, gen: torch.Generator) -> torch.Tensor:
    """``count`` index batches of size ``n`` as a shuffling loader draws them: consecutive chunks of
    fresh permutations of ``range(m)`` (incomplete last chunks dropped). Returns (count, n)
    int64."""
    per = m // n
    perms = -(-count // per)
    return torch.stack(
        [torch.randperm(m, generator=gen)[: per * n].view(per, n) for _ in range(perms)]
    ).view(-1, n)[:count]
