"""Xu & Strohmer's image feature-unlearning experiment: Gaussian and neural-OT barycenters of two
groups.

The authors' CelebA notebook (``Feature_Unlearning_Celeba_Smile.ipynb``,
xushizhou/Machine_Unlearn_via_Info_Reg, ca32703) learns the W2 map between the two attribute groups
with Korotin et al.'s neural optimal transport and shows the McCann midpoint ``0.5 X + 0.5 T(X)``;
here each group moves by the *other* group's weight (deviations.md#xs-celeba-midpoint), the networks
are smaller (deviations.md#xs-neural-ot), QUICK replaces CelebA by a pixel-attribute split of MNIST
(deviations.md#xs-image-standin), and :func:`image_audit` adds probe and utility numbers the paper
does not have (deviations.md#xs-leakage-audits). The groups come from
:func:`companion.data.attributes.image_groups`; the grid figure is
:func:`companion.plotting.xs.image_grid`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import bad_value
from ..methods.barycenter import weights_for
from ..methods.base import MethodConfig, positive
from ..metrics.fairness import probe_auc
from ..models.ot_nets import ResidualMLP, ResNetCritic, Scaled, UNet
from ..progress import progress
from ..theory.transport import FeatureBarycenter


@dataclass(frozen=True)
class NeuralOTConfig(MethodConfig):
    """Korotin et al.'s neural optimal transport with the quadratic cost (the settings of the
    authors' CelebA notebook as defaults; deviations.md#xs-neural-ot).

    arch : 'conv' (UNet map + ResNet critic, for 64x64 CelebA) or 'mlp' (residual MLPs, QUICK)
    steps : f-steps (the reference code runs about 8,400); t_iters : T-steps per f-step (10)
    lr : Adam learning rate for both networks (1e-4); weight_decay : 1e-10; batch_size : 64
    width : base channels (conv, the UNet's base factor 48) or hidden units (mlp)
    """

    arch: str = "conv"
    steps: int = 8400
    t_iters: int = 10
    lr: float = 1e-4
    weight_decay: float = 1e-10
    batch_size: int = 64
    width: int = 48

    QUICK = {"arch": "mlp", "steps": 60, "t_iters": 5, "lr": 1e-3, "width": 128}

    def validate(self) -> None:
        if self.arch not in ("conv", "mlp"):
            raise bad_value("arch", self.arch, "'conv' or 'mlp'")
        for name in ("steps", "t_iters", "batch_size", "width"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad_value(name, v, "a positive integer")
        positive("lr", self.lr)
        positive("weight_decay", self.weight_decay, allow_zero=True)


def neural_ot_map(
    x_src: torch.Tensor, x_tgt: torch.Tensor, cfg: NeuralOTConfig, seed: int = 0, device="cpu"
) -> tuple[nn.Module, dict]:
    """Learn the W2 map T from the source to the target sample (Korotin et al. 2023, quadratic
    cost).

    Per f-step: ``t_iters`` updates of T on ``mean ||x - T(x)||^2 / D - mean f(T(x))`` (a per-pixel
    MSE, a scaled squared Euclidean cost), then one update of f on ``mean f(T(x)) - mean f(y)``.

    Parameters
    ----------
    x_src, x_tgt : (n, C, H, W) or (n, D) float tensors (the two groups)

    Returns
    -------
    T : nn.Module in eval mode on ``device``; log with per-step ``t_loss``, ``f_loss``
    """
    if x_src.shape[1:] != x_tgt.shape[1:] or len(x_src) == 0 or len(x_tgt) == 0:
        raise bad_value(
            "x_src/x_tgt",
            f"shapes {tuple(x_src.shape)} and {tuple(x_tgt.shape)}",
            "two non-empty samples of the same shape",
        )
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    # a global rescaling commutes with the quadratic-cost OT map (T_s(x) = s T(x / s)); train at
    # unit scale
    scale = float(
        torch.cat([x_src.reshape(len(x_src), -1), x_tgt.reshape(len(x_tgt), -1)])
        .float()
        .std()
        .clamp_min(1e-12)
    )
    x_src, x_tgt = x_src / scale, x_tgt / scale
    shape = tuple(x_src.shape[1:])
    dim = int(np.prod(shape))
    if cfg.arch == "mlp":
        t_net, f_net = ResidualMLP(dim, cfg.width), ResidualMLP(dim, cfg.width, out=1)
    else:
        if len(shape) != 3 or shape[1] % 4 or shape[2] % 4:
            raise bad_value(
                "arch", "conv", "images of shape (C, H, W) with H, W divisible by 4 (or arch='mlp')"
            )
        t_net, f_net = UNet(shape[0], cfg.width), ResNetCritic(shape[0], cfg.width, shape[1])
    t_net, f_net = t_net.to(device), f_net.to(device)
    opt_t = torch.optim.Adam(t_net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    opt_f = torch.optim.Adam(f_net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    draw = lambda data: data[torch.randint(len(data), (cfg.batch_size,), generator=gen)].to(device)
    log = {"t_loss": [], "f_loss": []}
    for _ in progress(range(cfg.steps), desc="neural OT"):
        for p in f_net.parameters():
            p.requires_grad_(False)
        for _ in range(cfg.t_iters):
            x = draw(x_src)
            tx = t_net(x)
            t_loss = nn.functional.mse_loss(x, tx) - f_net(tx).mean()
            opt_t.zero_grad(set_to_none=True)
            t_loss.backward()
            opt_t.step()
        for p in f_net.parameters():
            p.requires_grad_(True)
        x, y = draw(x_src), draw(x_tgt)
        with torch.no_grad():
            tx = t_net(x)
        f_loss = f_net(tx).mean() - f_net(y).mean()
        opt_f.zero_grad(set_to_none=True)
        f_loss.backward()
        opt_f.step()
        log["t_loss"].append(t_loss.item())
        log["f_loss"].append(f_loss.item())
    t_net.eval()
    log["scale"] = scale
    return Scaled(t_net, scale), log


@torch.no_grad()
def apply_map(
    t_net: nn.Module, x: torch.Tensor, batch_size: int = 512, device="cpu"
) -> torch.Tensor:
    """``T(x)`` in batches, returned on the CPU."""
    return (
        torch.cat(
            [t_net(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
        )
        if len(x)
        else x.clone()
    )


def two_group_barycenter_images(
    x: torch.Tensor,
    z: np.ndarray,
    t_ab: nn.Module,
    t_ba: nn.Module,
    weights: str = "proportional",
    device="cpu",
) -> tuple[torch.Tensor, float]:
    """Barycenter images of two groups from the two learned maps (deviations.md#xs-celeba-midpoint).

    Group 0 (A) goes to ``p_A x + p_B T_AB(x)``, group 1 (B) to ``p_B y + p_A T_BA(y)``: each group
    moves by the McCann position equal to the *other* group's weight. ``weights='midpoint'`` uses
    1/2 for both (the reference code's choice). Returns the images and the t used for group A.
    """
    z = np.asarray(z)
    if set(np.unique(z)) - {0, 1}:
        raise bad_value("z", "labels other than 0/1", "two groups labelled 0 and 1")
    w = weights_for(weights, z)
    p_b = 0.5 if not isinstance(w, str) else float(np.mean(z == 1)) if w == "proportional" else 0.5
    out = x.clone()
    a, b = torch.as_tensor(z == 0), torch.as_tensor(z == 1)
    out[a] = (1 - p_b) * x[a] + p_b * apply_map(t_ab, x[a], device=device)
    out[b] = p_b * x[b] + (1 - p_b) * apply_map(t_ba, x[b], device=device)
    return out, p_b


def image_feature_unlearning(
    x: torch.Tensor,
    z: np.ndarray,
    n_components: int = 32,
    cfg: NeuralOTConfig | None = None,
    profile: str = "quick",
    seed: int = 0,
    device="cpu",
    ridge: float = 1e-3,
    holdout: float = 0.5,
) -> dict:
    """The image experiment (the authors' CelebA notebook, extended): Gaussian and neural-OT
    barycenters of two attribute groups.

    The Gaussian maps act on the top ``n_components`` PCA coefficients; each image keeps its
    residual ``x - mu - U U^T (x - mu)``, shifted to the target's residual mean (the Gaussian map
    when residual covariances are equal). The neural maps (:func:`neural_ot_map`, one per direction)
    act on the same coefficients with ``cfg.arch='mlp'`` (QUICK) and on the images themselves with
    ``'conv'`` (FULL).

    Returns a dict of (n, C, H, W) tensors ``x``, ``gauss`` (Gaussian barycenter, group weights),
    ``t_ab`` (group-0 images mapped onto group 1 by the neural map; group-1 rows unchanged),
    ``neural`` (neural barycenter with the group weights) and ``neural_mid`` (the reference code's
    midpoint), plus ``heldout`` (n,) bool (the rows *not* used to fit any map: audit these, since on
    the fitting rows the group moments match exactly and a cross-validated probe is biased below
    0.5), ``p1`` (weight of group 1), ``logs`` and ``seconds``.
    """
    import time

    z = np.asarray(z)
    if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
        raise bad_value("n_components", n_components, "a positive integer")
    if not 0.0 <= float(holdout) < 1.0:
        raise bad_value("holdout", holdout, "a number in [0, 1)")
    cfg = cfg or NeuralOTConfig.resolve(profile)
    start = time.perf_counter()
    heldout = np.zeros(len(z), dtype=bool)
    heldout[np.random.default_rng(seed).permutation(len(z))[: int(round(holdout * len(z)))]] = True
    fit = torch.as_tensor(~heldout)
    flat = x.reshape(len(x), -1).double()
    mu = flat[fit].mean(0)
    k = min(n_components, flat.shape[1], int(fit.sum()) - 1)
    basis = torch.linalg.svd(flat[fit][:4000] - mu, full_matrices=False).Vh[:k].T
    coef = (flat - mu) @ basis
    resid = (flat - mu) - coef @ basis.T
    a, b = torch.as_tensor(z == 0), torch.as_tensor(z == 1)
    res_mean = torch.stack([resid[a & fit].mean(0), resid[b & fit].mean(0)])
    zt = torch.as_tensor(z)
    img = lambda c, shift: (mu + c.double() @ basis.T + resid + shift).float().reshape(x.shape)
    fb = FeatureBarycenter.fit(coef[fit].numpy(), z[~heldout], ridge=ridge, seed=seed)
    p1 = float(fb.weights[1])
    pooled = (1 - p1) * res_mean[0] + p1 * res_mean[1]
    out = {"gauss": img(torch.from_numpy(fb.push(coef.numpy(), z)), pooled - res_mean[zt])}
    feats = coef.float() if cfg.arch == "mlp" else x
    t_ab, log_ab = neural_ot_map(feats[a & fit], feats[b & fit], cfg, seed, device)
    t_ba, log_ba = neural_ot_map(feats[b & fit], feats[a & fit], cfg, seed + 1, device)
    neural, _ = two_group_barycenter_images(feats, z, t_ab, t_ba, "proportional", device)
    mid, _ = two_group_barycenter_images(feats, z, t_ab, t_ba, "midpoint", device)
    mapped = feats.clone()
    mapped[a] = apply_map(t_ab, feats[a], device=device)
    if cfg.arch == "mlp":
        out["t_ab"] = img(
            mapped, torch.where(a[:, None], res_mean[1] - res_mean[0], torch.zeros_like(mu))
        )
        out["neural"] = img(neural, pooled - res_mean[zt])
        out["neural_mid"] = img(mid, 0.5 * (res_mean[0] + res_mean[1]) - res_mean[zt])
    else:
        out.update({"t_ab": mapped, "neural": neural, "neural_mid": mid})
    out.update(
        {
            "x": x,
            "p1": p1,
            "heldout": heldout,
            "logs": {"ab": log_ab, "ba": log_ba, "fixed_point": fb.log},
            "seconds": time.perf_counter() - start,
            "n_components": k,
        }
    )
    return out


def image_audit(
    images: dict[str, torch.Tensor],
    z: np.ndarray,
    y: np.ndarray | None = None,
    n_components: int = 32,
    max_pixels_rows: int = 1500,
    seed: int = 0,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """Leakage and utility of each image variant (rows) for the attribute Z.

    Columns: ``probe_auc_pca`` / ``probe_bacc_pca`` (cross-validated logistic probe for Z on the
    top-``n_components`` PCA coefficients of the *original* images, the representation the maps act
    on); ``probe_auc_pixels`` (the same probe on all pixels of at most ``max_pixels_rows`` seeded
    images, which also sees the fine residual statistics); ``digit_acc`` (utility proxy:
    cross-validated logistic accuracy for the digit label ``y`` on the PCA coefficients, when
    given). ``rows`` (bool mask) restricts the audit to those rows, e.g. the ``heldout`` rows of
    :func:`image_feature_unlearning`.
    """
    if rows is not None:
        keep = np.asarray(rows, dtype=bool)
        images = {k: v[torch.as_tensor(keep)] for k, v in images.items()}
        z = np.asarray(z)[keep]
        y = None if y is None else np.asarray(y)[keep]
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score

    z = np.asarray(z)
    ref = images["x"].reshape(len(z), -1).double().numpy()
    mu = ref.mean(0)
    basis = np.linalg.svd(
        ref[np.random.default_rng(seed).permutation(len(ref))[:4000]] - mu, full_matrices=False
    )[2][:n_components].T
    pix = np.sort(np.random.default_rng(seed).permutation(len(z))[:max_pixels_rows])
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    out = {}
    for name, img in images.items():
        flat = img.reshape(len(z), -1).double().numpy()
        coef = (flat - mu) @ basis
        p = cross_val_predict(
            LogisticRegression(max_iter=2000), coef, z, cv=cv, method="predict_proba"
        )[:, 1]
        row = {
            "probe_auc_pca": probe_auc(coef, z, "lr", 3, seed),
            "probe_bacc_pca": balanced_accuracy_score(z, p > np.mean(z)),
            "probe_auc_pixels": probe_auc(flat[pix], z[pix], "lr", 3, seed),
        }
        if y is not None:
            row["digit_acc"] = float(
                cross_val_score(LogisticRegression(max_iter=2000), coef, y, cv=cv).mean()
            )
        out[name] = row
    return pd.DataFrame(out).T
