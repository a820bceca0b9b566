"""One stacked engine for K models at once: the noisy fine-tuning of Koloskova et al. (ICML 2025).

:func:`run_stacked` trains K models together with :func:`torch.func.vmap` (one per hyperparameter
setting and seed; the noise of each model is an independent draw), so a budget curve over many
settings costs little more than one run. The certified methods (:mod:`companion.methods.certified`,
:mod:`companion.methods.dpsgd`) call it with K = 1; the budget curves
(:mod:`companion.experiments.cert_curves`) with every setting x seed at once.

Every model runs a *noisy phase* on the retain data, with fresh Gaussian noise at every step, then
noiseless fine-tuning for the rest of the budget (free by post-processing). Update rules, all on
the **whole parameter vector** (the authors' code clips and perturbs every parameter, biases
included):

* gradient clipping (Theorem A): x_0 = clip(x_hat, C0); x_{t+1} = x_t - gamma (clip(g_t, C1) +
  lambda x_t) + xi_t;
* model clipping (Theorem B): y = x_t - gamma u_t with u_t = g_t + lambda x_t (clipped to C1 if
  given);
  x_{t+1} = clip(y, C2) + xi_t (noise after projection) or clip(y + xi_t, C2) (with gradient
  clipping);
* output perturbation: x_0 = clip(x_hat, C0) + N(0, sigma^2 I) once;
* fine-tuning: SGD (momentum 0) on mean CE + 1/2 l2 ||x||^2 with Optax's linear one-cycle schedule
  (peak 0.1 over the whole budget; its step counter restarts after the noisy phase, as in the
  authors' code);
* retrain (curves only): a fresh initialisation, then the same fine-tuning for the whole budget;
* finetune: the fine-tuning alone (DP-SGD's post-processing).

The authors' code reuses one noise vector at every step; that is available only as
``noise='frozen'`` (deviations.md#cert-frozen-noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import threads
from .config import bad_value
from .data.tasks import Split
from .models.nets import build
from .progress import progress
from .stacked_ops import (  # noqa: F401  (re-exported: the operations' home is stacked_ops)
    clip_global,
    global_norm,
    optax_linear_onecycle,
)
from .training import augment_batch
from .vmapped import loss_grads, outputs_of, stack_state

KINDS = ("gradient_clipping", "model_clipping", "output_perturbation", "retrain", "finetune")
NOISE_MODES = ("fresh", "frozen")


# --------------------------------------------------------------------------------------------
# the vectorised engine
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One model's unlearning settings inside :func:`run_stacked`.

    kind : one of :data:`KINDS`.
    c0 : clip radius applied to the start model (inf: none).
    init_sigma : standard deviation of the one noise draw after the start clip (output perturbation,
        or model clipping's sigma_0).
    steps : number of noisy steps T.
    sigma : per-step noise standard deviation (a float, or T floats for a schedule).
    gamma, lam : step size and weight decay of the noisy steps.
    c1 : gradient (gradient clipping) or update (model clipping) clip norm; inf: none.
    c2 : model clipping's projection radius.
    noise_before_projection : model clipping with gradient clipping adds the noise before
        projecting.
    init_seed : retrain: the seed of the fresh initialisation.
    label : free text carried into results (e.g. the hyperparameter group).
    l2 : this model's fine-tuning L2 weight (None: the run's ``l2``).
    """

    kind: str
    c0: float = math.inf
    init_sigma: float = 0.0
    steps: int = 0
    sigma: float | tuple[float, ...] = 0.0
    gamma: float = 0.0
    lam: float = 0.0
    c1: float = math.inf
    c2: float = math.inf
    noise_before_projection: bool = False
    init_seed: int = 0
    label: str = ""
    l2: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise bad_value("kind", self.kind, f"one of {KINDS}")
        if self.steps < 0:
            raise bad_value("steps", self.steps, "an integer >= 0")

    def sigma_at(self, t: int) -> float:
        if isinstance(self.sigma, tuple):
            return self.sigma[min(t, len(self.sigma) - 1)]
        return float(self.sigma)


@dataclass
class StackedResult:
    """What :func:`run_stacked` returns.

    params : dict name -> Tensor (K, ...), the final parameters.
    acc : dict split name -> ndarray (K, epochs), accuracy after each epoch.
    steps_per_epoch : int.
    noisy_steps : ndarray (K,), the noisy steps each model actually ran: min(T, epochs x steps per
        epoch), fewer than its plan's T when the budget ends first.
    planned_steps : ndarray (K,), each plan's T.
    noise_draws : list of the first two noise vectors of model 0 (for tests; flattened, CPU), empty
        if no noisy step ran.
    """

    params: dict[str, torch.Tensor]
    acc: dict[str, np.ndarray]
    steps_per_epoch: int
    noisy_steps: np.ndarray
    planned_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    noise_draws: list[torch.Tensor] = field(default_factory=list)

    def model(self, base: nn.Module, k: int = 0) -> nn.Module:
        """Model ``k`` as a module (a copy of ``base`` with its parameters)."""
        import copy

        m = copy.deepcopy(base)
        with torch.no_grad():
            for name, p in m.named_parameters():
                p.copy_(self.params[name][k])
        return m.eval()


def _kstack(values: Sequence[float], dev: torch.device) -> torch.Tensor:
    return torch.tensor([float(v) for v in values], dtype=torch.float32, device=dev)


def run_stacked(
    starts: nn.Module | Sequence[nn.Module],
    plans: Sequence[Plan],
    retain: Split,
    epochs: int,
    seed: int = 0,
    eval_splits: dict[str, Split] | None = None,
    finetune_lr: float = 0.1,
    l2: float = 5e-4,
    batch_size: int = 128,
    noise: str = "fresh",
    augment: str = "none",
    device: str | torch.device = "cpu",
    show_progress: bool = True,
    cpu_threads: int | None = None,
) -> StackedResult:
    """Run K unlearning procedures at once (vmap over models), each for a budget of ``epochs``
    epochs.

    Parameters
    ----------
    starts : module or K modules
        The start models x_hat = A(D) (one shared, or one per plan); all of one architecture.
    plans : K :class:`Plan`
        What each model does. The noisy steps count toward the budget (Figure 1 counts noisy and
        noiseless steps together); a plan whose T exceeds ``epochs`` x steps per epoch runs only the
        steps the budget holds (the result's ``noisy_steps`` says how many, and certifies only what
        they certify).
    retain : Split
        D minus D_f; every model draws its own shuffled mini-batches of ``batch_size`` each epoch.
    epochs : int
        Budget in epochs over the retain set (noisy + noiseless steps).
    eval_splits : dict name -> Split
        Accuracy on each is recorded after every epoch (eval mode, no augmentation; the authors'
        code validates augmented images: deviations.md#cert-val-transform).
    noise : {'fresh', 'frozen'}
        'fresh' draws new noise at every step (the analyses' assumption); 'frozen' reuses the first
        draw (the authors' code: deviations.md#cert-frozen-noise).
    cpu_threads : int, optional
        Intra-op threads on the CPU during the run (restored afterwards). None: the package's
        thread policy (:mod:`companion.threads`) for the K stacked copies.
    """
    if noise not in NOISE_MODES:
        raise bad_value("noise", noise, f"one of {NOISE_MODES}")
    if not plans:
        raise bad_value("plans", plans, "at least one Plan")
    if epochs < 0:
        raise bad_value("epochs", epochs, "an integer >= 0")
    if len(retain) == 0:
        raise bad_value("retain", "an empty split", "a split with at least one sample")
    dev = torch.device(device)
    K = len(plans)
    mods = [starts] * K if isinstance(starts, nn.Module) else list(starts)
    if len(mods) != K:
        raise bad_value("starts", len(mods), f"one module or {K} modules (one per plan)")
    base = mods[0]
    arch = getattr(base, "companion_arch", None)
    for k, p in enumerate(plans):
        if p.kind == "retrain":
            if arch is None:
                raise ValueError(
                    "a retrain plan needs a start model built by companion.models.build"
                )
            mods[k] = build(
                arch, tuple(retain.x.shape[1:]), _num_classes(base, retain), p.init_seed
            )
    n_total = K * sum(p.numel() for p in base.parameters())
    run = (mods, plans, retain, epochs, seed, eval_splits, finetune_lr, l2, batch_size, noise)
    if cpu_threads is None:
        with threads.policy(n_total, dev):
            return _run(*run, augment, dev, show_progress)
    before = torch.get_num_threads()
    torch.set_num_threads(cpu_threads)
    try:
        return _run(*run, augment, dev, show_progress)
    finally:
        torch.set_num_threads(before)


def _run(
    mods,
    plans,
    retain,
    epochs,
    seed,
    eval_splits,
    finetune_lr,
    l2,
    batch_size,
    noise,
    augment,
    dev,
    show_progress,
) -> StackedResult:
    K = len(plans)
    base = mods[0]
    slot: dict[int, int] = {}  # a module shared by many plans is stacked once, then indexed
    unique: list[nn.Module] = []
    for m in mods:
        if id(m) not in slot:
            slot[id(m)] = len(unique)
            unique.append(m)
    # the nets have no dropout or batch norm
    params, _ = stack_state([m.to(dev).eval() for m in unique])
    which = torch.tensor([slot[id(m)] for m in mods], device=dev)
    params = {k: v.float()[which].clone() for k, v in params.items()}
    base = base.to(dev)
    gen = torch.Generator(device=dev).manual_seed(seed)
    bgen = torch.Generator().manual_seed(seed + 1)

    def randn_like_all(ps: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {
            k: torch.randn(v.shape, generator=gen, device=dev, dtype=v.dtype) for k, v in ps.items()
        }

    def bcast(vec: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return vec.view(-1, *([1] * (v.ndim - 1)))

    # ---- setup: start clip and one-off noise (the authors' unlearning set-up)
    with torch.no_grad():
        params = clip_global(params, _kstack([p.c0 for p in plans], dev))
        s0 = _kstack([p.init_sigma for p in plans], dev)
        if bool((s0 > 0).any()):
            z = randn_like_all(params)
            params = {k: v + bcast(s0, v) * z[k] for k, v in params.items()}

    grad_all = loss_grads(base, F.cross_entropy)
    fwd_all = outputs_of(base)

    kind = [p.kind for p in plans]
    is_gc = torch.tensor([k == "gradient_clipping" for k in kind], device=dev)
    is_mc = torch.tensor([k == "model_clipping" for k in kind], device=dev)
    T = torch.tensor(
        [
            p.steps if k in ("gradient_clipping", "model_clipping") else 0
            for p, k in zip(plans, kind)
        ],
        device=dev,
    )
    gamma = _kstack([p.gamma for p in plans], dev)
    lam = _kstack([p.lam for p in plans], dev)
    c1 = _kstack([p.c1 for p in plans], dev)
    c2 = _kstack([p.c2 for p in plans], dev)
    nbp = torch.tensor([p.noise_before_projection for p in plans], device=dev)
    l2v = _kstack([l2 if p.l2 is None else p.l2 for p in plans], dev)
    x_all, y_all = retain.tensors(dev)
    n = len(retain)
    spe = -(-n // batch_size)
    total = max(1, epochs * spe)
    splits = eval_splits or {}
    eval_data = {name: s.tensors(dev) for name, s in splits.items()}
    accs = {name: np.zeros((K, epochs)) for name in splits}
    draws: list[torch.Tensor] = []
    frozen: dict[str, torch.Tensor] | None = None
    step = 0
    for epoch in progress(range(epochs), desc=f"noisy fine-tuning x{K}", disable=not show_progress):
        order = torch.argsort(torch.rand(K, n, generator=bgen), dim=1).to(dev)
        for i in range(0, n, batch_size):
            idx = order[:, i : i + batch_size]
            xb, yb = x_all[idx], y_all[idx]
            if augment != "none":
                shp = xb.shape
                xb = augment_batch(xb.reshape(-1, *shp[2:]), augment, bgen).reshape(shp)
            g = grad_all(params, xb, yb)
            with torch.no_grad():
                noisy = step < T
                gc_now, mc_now = is_gc & noisy, is_mc & noisy
                lr = optax_linear_onecycle((step - T).clamp_min(0).cpu(), total, finetune_lr).to(
                    dev, torch.float32
                )
                new = {k: v - bcast(lr, v) * (g[k] + bcast(l2v, v) * v) for k, v in params.items()}
                if bool(noisy.any()):
                    sig = _kstack([p.sigma_at(step) if step < p.steps else 0.0 for p in plans], dev)
                    if noise == "fresh" or frozen is None:
                        z = randn_like_all(params)
                        frozen = z if noise == "frozen" else None
                    else:
                        z = frozen
                    if len(draws) < 2 and bool(noisy[0]):
                        draws.append(torch.cat([z[k][0].flatten() for k in z]).cpu())
                    if bool(gc_now.any()):
                        gt = clip_global(g, c1)
                        gc_new = {
                            k: v
                            - bcast(gamma, v) * (gt[k] + bcast(lam, v) * v)
                            + bcast(sig, v) * z[k]
                            for k, v in params.items()
                        }
                        new = {
                            k: torch.where(bcast(gc_now, v), gc_new[k], new[k])
                            for k, v in new.items()
                        }
                    if bool(mc_now.any()):
                        u = clip_global(
                            {k: g[k] + bcast(lam, v) * v for k, v in params.items()}, c1
                        )
                        y = {k: v - bcast(gamma, v) * u[k] for k, v in params.items()}
                        after = {k: w + bcast(sig, w) * z[k] for k, w in clip_global(y, c2).items()}
                        before = clip_global(
                            {k: w + bcast(sig, w) * z[k] for k, w in y.items()}, c2
                        )
                        mc_new = {
                            k: torch.where(bcast(nbp, w), before[k], after[k]) for k, w in y.items()
                        }
                        new = {
                            k: torch.where(bcast(mc_now, v), mc_new[k], new[k])
                            for k, v in new.items()
                        }
                params = new
            step += 1
        with torch.no_grad():
            for name, (xe, ye) in eval_data.items():
                correct = torch.zeros(K, device=dev)
                for j in range(0, len(ye), 2048):
                    correct += (
                        (fwd_all(params, xe[j : j + 2048]).argmax(-1) == ye[j : j + 2048])
                        .float()
                        .sum(1)
                    )
                accs[name][:, epoch] = (correct / max(1, len(ye))).cpu().numpy()
    planned = T.cpu().numpy()
    return StackedResult(params, accs, spe, np.minimum(planned, step), planned, draws)


def _num_classes(model: nn.Module, data: Split) -> int:
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return int(last[-1].out_features) if last else int(data.y.max()) + 1


def load_into(model: nn.Module, res: StackedResult, k: int = 0) -> None:
    """Copy model ``k`` of ``res`` into ``model`` in place (its device and dtype)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(res.params[name][k].to(p.device, p.dtype))
