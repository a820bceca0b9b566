"""Feature unlearning by the Wasserstein-2 barycenter (Xu & Strohmer, arXiv 2502.05684), the
registered method.

Feature unlearning acts on *data*, not on a network: the outcome ``X_hat = T_Z(X)`` pushes each
group ``{Z = z}`` onto the W2 barycenter of the groups, and ``X_t = (1 - t) X + t T_Z(X)`` moves
part of the way along the McCann path (partial unlearning); the statement the package follows is
deviations.md#xs-barycenter-theorem. Entry points:

* :func:`companion.theory.transport.feature_barycenter` /
  :class:`~companion.theory.transport.FeatureBarycenter`
  work directly on arrays ``(X, Z) -> X_hat`` (what the chapters use);
* :func:`companion.experiments.xs_tabular.tabular_path` runs the authors' tabular protocol and
  :func:`companion.experiments.xs_images.image_feature_unlearning` the image experiment;
* the registered method ``"barycenter"`` (here) is the harness contract for image tasks. The feature
  Z is a
  binary visual attribute computed from the pixels
  (:func:`companion.data.attributes.pixel_attribute`, thresholded at its training median), so it is
  available at prediction time. The method fits the Gaussian (pseudo-)barycenter maps on the task's
  training inputs (in a PCA subspace when ``n_components`` is set), installs them as a preprocessing
  submodule ``model.feature_unlearning`` run by a forward pre-hook (so every later forward sees
  ``X_t`` instead of ``X``), and, with ``retrain=True`` (default), retrains the network from a fresh
  initialisation on the transformed training data: the learning outcome is then a function of
  ``X_t`` only. The input model and task are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..config import bad_value
from ..data.attributes import ATTRIBUTES, pixel_attribute
from ..data.tasks import Split, Task
from ..models.nets import build
from ..theory.transport import BARYCENTER_METHODS, FeatureBarycenter, check_t
from ..training import TrainRecipe, fit, recipe_for
from .base import MethodConfig, positive, register

WEIGHTS = ("proportional", "equal", "midpoint")


def weights_for(choice: str, z: np.ndarray) -> np.ndarray | str:
    """Barycenter weights: 'proportional' (P(Z=z)), 'equal', or 'midpoint' (the CelebA code's fixed
    0.5, deviations.md#xs-celeba-midpoint)."""
    if choice not in WEIGHTS:
        raise bad_value("weights", choice, f"one of {WEIGHTS}")
    if choice == "midpoint":
        k = len(np.unique(z))
        if k != 2:
            raise bad_value(
                "weights", choice, "'proportional' or 'equal' when Z has more than two groups"
            )
        return np.array([0.5, 0.5])
    return choice


# --------------------------------------------------------------------------------------------
# The preprocessing module installed on the model
# --------------------------------------------------------------------------------------------


class BarycenterPreprocess(nn.Module):
    """``x -> X_t`` on normalised image batches: Z from the pixels, then the group's affine map.

    With a PCA basis ``U`` (D, k) the Gaussian maps act on the coefficients ``U^T (x - mu)`` and the
    residual ``x - mu - U U^T (x - mu)`` is shifted to the pooled residual mean (the Gaussian map
    when the residual covariances are equal); without PCA, ``U`` is the identity.

    Buffers: ``mu`` (D,), ``basis`` (D, k), ``means`` (G, k), ``m_bar`` (k,), ``maps`` (G, k, k),
    ``res_shift`` (G, D), ``threshold`` (), ``t`` ().
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        feature: str,
        threshold: float,
        fb: FeatureBarycenter,
        mu: np.ndarray,
        basis: np.ndarray | None,
        res_shift: np.ndarray,
        t: float,
    ) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.feature = feature
        d = int(np.prod(shape))
        f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)
        self.register_buffer("mu", f(mu))
        self.register_buffer("basis", f(np.eye(d) if basis is None else basis))
        self.register_buffer("means", f(fb.means))
        self.register_buffer("m_bar", f(fb.m_bar))
        self.register_buffer("maps", f(fb.maps))
        self.register_buffer("res_shift", f(res_shift))
        self.register_buffer("threshold", torch.tensor(float(threshold), dtype=torch.float64))
        self.register_buffer("t", torch.tensor(float(t)))

    def group(self, x: torch.Tensor) -> torch.Tensor:
        """Z in {0, 1}: the pixel attribute above its training median; x (n, *shape) -> (n,)."""
        attr = torch.as_tensor(pixel_attribute(x.detach().cpu(), self.feature), device=x.device)
        return (attr > self.threshold).long()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.group(x)
        flat = x.reshape(len(x), -1)
        centred = flat - self.mu
        coef = centred @ self.basis
        resid = centred - coef @ self.basis.T
        a = self.maps[z]  # (n, k, k)
        mapped = self.m_bar + torch.einsum("nij,nj->ni", a, coef - self.means[z])
        target = self.mu + mapped @ self.basis.T + resid + self.res_shift[z]
        return ((1 - self.t) * flat + self.t * target).reshape(x.shape)


def _pre_hook(module: nn.Module, args: tuple) -> tuple:
    return (module.feature_unlearning(args[0]),) + tuple(args[1:])


def install(model: nn.Module, pre: BarycenterPreprocess) -> nn.Module:
    """Make ``pre`` run on every input of ``model`` (in place), as the submodule
    ``feature_unlearning``.

    For ``nn.Sequential`` it becomes the first stage (other layers keep their names and state-dict
    keys); other modules get it as a submodule run by a forward pre-hook.
    """
    if hasattr(model, "feature_unlearning"):
        raise ValueError(
            "this model already has a feature_unlearning stage; unlearn from the original model"
        )
    if isinstance(model, nn.Sequential):
        old = list(model._modules.items())
        model._modules.clear()
        model._modules["feature_unlearning"] = pre
        model._modules.update(old)
    else:
        model.add_module("feature_unlearning", pre)
        model.register_forward_pre_hook(_pre_hook)
    return model


def fit_image_barycenter(
    x: torch.Tensor,
    feature: str = "ink",
    t: float = 1.0,
    weights: str = "proportional",
    n_components: int | None = 32,
    ridge: float = 1e-3,
    method: str = "fixed_point",
    seed: int = 0,
    quantile: float = 0.5,
) -> tuple[BarycenterPreprocess, dict]:
    """Fit :class:`BarycenterPreprocess` on normalised images ``x`` (n, C, H, W).

    Z = 1 where the pixel attribute exceeds its ``quantile`` on ``x`` (0.5: the median, balanced
    groups).

    Returns the module and a log with the threshold, the group weights, the barycenter's fixed-point
    log and the closed-form cost ``sum_z p_z W2^2`` in the mapped coordinates.
    """
    t = check_t(t)
    if not 0.0 < float(quantile) < 1.0:
        raise bad_value("quantile", quantile, "a number in (0, 1)")
    attr = pixel_attribute(x, feature)
    thr = float(np.quantile(attr, quantile))
    z = (attr > thr).astype(np.int64)
    flat = x.reshape(len(x), -1).double().numpy()
    mu = flat.mean(0)
    centred = flat - mu
    basis = None
    if n_components is not None:
        k = min(n_components, flat.shape[1], len(flat) - 1)
        _, _, vt = np.linalg.svd(
            centred[np.random.default_rng(seed).permutation(len(flat))[:4000]], full_matrices=False
        )
        basis = vt[:k].T
    coef = centred if basis is None else centred @ basis
    fb = FeatureBarycenter.fit(
        coef, z, weights=weights_for(weights, z), ridge=ridge, method=method, seed=seed
    )
    if basis is None:
        res_shift = np.zeros((len(fb.groups), flat.shape[1]))
    else:
        resid = centred - coef @ basis.T
        res_means = np.stack([resid[z == g].mean(0) for g in fb.groups])
        res_shift = fb.weights @ res_means - res_means
    pre = BarycenterPreprocess(tuple(x.shape[1:]), feature, thr, fb, mu, basis, res_shift, t)
    return pre, {
        "threshold": thr,
        "weights": fb.weights.tolist(),
        "fixed_point": fb.log,
        "w2_cost": fb.cost(),
        "n_components": None if basis is None else basis.shape[1],
    }


# --------------------------------------------------------------------------------------------
# The registered method
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BarycenterConfig(MethodConfig):
    """Settings of the ``barycenter`` method.

    t : McCann position in [0, 1] (1: the barycenter, full feature unlearning; 0: no change)
    feature : the pixel attribute playing Z (:data:`ATTRIBUTES`)
    weights : 'proportional' (P(Z=z), the theorem), 'equal', or 'midpoint' (the CelebA code's 0.5,
        deviations.md#xs-celeba-midpoint)
    n_components : PCA dimension of the Gaussian maps (None: all pixels)
    ridge : added to group covariances (singular pixel covariances)
    method : barycenter fixed point, 'fixed_point' or 'as_coded'
    retrain : retrain the network from a fresh initialisation on the transformed training inputs
    epochs : epochs of that retraining (None: the task's recipe)
    """

    t: float = 1.0
    feature: str = "ink"
    weights: str = "proportional"
    n_components: int | None = 64
    ridge: float = 1e-3
    method: str = "fixed_point"
    retrain: bool = True
    epochs: int | None = None

    QUICK = {"n_components": 32}

    def validate(self) -> None:
        check_t(self.t)
        if self.feature not in ATTRIBUTES:
            raise bad_value("feature", self.feature, f"one of {ATTRIBUTES}")
        if self.weights not in WEIGHTS:
            raise bad_value("weights", self.weights, f"one of {WEIGHTS}")
        if self.n_components is not None and (
            isinstance(self.n_components, bool)
            or not isinstance(self.n_components, int)
            or self.n_components < 1
        ):
            raise bad_value("n_components", self.n_components, "None or a positive integer")
        positive("ridge", self.ridge, allow_zero=True)
        if self.method not in BARYCENTER_METHODS:
            raise bad_value("method", self.method, f"one of {BARYCENTER_METHODS}")
        if self.epochs is not None and (
            isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1
        ):
            raise bad_value("epochs", self.epochs, "None or a positive integer")


def mapped_split(split: Split, pre: BarycenterPreprocess, batch_size: int = 1024) -> Split:
    """A copy of ``split`` whose stored samples are the transformed inputs (normalisation
    undone)."""
    with torch.no_grad():
        parts = [pre(xb) for xb, _ in split.batches(batch_size)]
    xn = torch.cat(parts) if parts else split.prepare(split.x)
    shape = (1, -1) + (1,) * (xn.ndim - 2)
    raw = xn * split.std.view(shape) + split.mean.view(shape)
    return Split(raw.float(), split.y, split.mean, split.std, split.fine, split.index)


@register(
    "barycenter",
    BarycenterConfig,
    zero_shot=False,
    paper="xs",
    description=(
        "feature unlearning: map the data onto the W2 barycenter of the Z-groups (McCann t), "
        "retrain"
    ),
)
def barycenter(
    model: nn.Module, task: Task, cfg: BarycenterConfig, *, seed: int, device, profile: str, **_
) -> dict:
    """Install the barycenter map on ``model`` and (by default) retrain it on ``X_t`` (module
    docstring)."""
    xn = task.train.prepare(task.train.x)
    pre, log = fit_image_barycenter(
        xn, cfg.feature, cfg.t, cfg.weights, cfg.n_components, cfg.ridge, cfg.method, seed
    )
    arch = getattr(model, "companion_arch", None)
    if cfg.retrain:
        if arch is None:
            raise ValueError(
                "barycenter with retrain=True needs a model built by companion.models.build"
            )
        recipe: TrainRecipe = recipe_for(task.name, arch, profile)
        if cfg.epochs is not None:
            recipe = recipe.with_(epochs=cfg.epochs)
        fresh = build(arch, task.input_shape, task.num_classes, 20_000 + seed).to(device)
        fit(
            fresh,
            mapped_split(task.train, pre),
            recipe,
            seed=seed,
            device=device,
            desc="barycenter retrain",
        )
        model.load_state_dict(fresh.state_dict())
        log["epochs"] = recipe.epochs
    install(model, pre.to(device))
    log["retrained"] = cfg.retrain
    return log
