"""Certified unlearning by noisy fine-tuning (Koloskova et al., ICML 2025): gradient clipping,
model clipping and output perturbation, on one vectorised engine.

Every method is a *noisy phase* on the retain data, with fresh Gaussian noise at every step, then
noiseless fine-tuning for the rest of the budget (free by post-processing). The engine
:func:`run_stacked` trains K models at once with :func:`torch.func.vmap` (one per hyperparameter
setting and seed; the noise of each model is an independent draw), so a budget curve over many
settings costs little more than one run. The registered methods call it with K = 1.

Update rules (spec ``certified.md`` 3.1, 4.1, 5.1, 6), all on the **whole parameter vector**:

* gradient clipping (Theorem A): x_0 = clip(x_hat, C0); x_{t+1} = x_t - gamma (clip(g_t, C1) + lambda x_t) + xi_t;
* model clipping (Theorem B): y = x_t - gamma u_t with u_t = g_t + lambda x_t (clipped to C1 if given);
  x_{t+1} = clip(y, C2) + xi_t (noise after projection) or clip(y + xi_t, C2) (with gradient clipping);
* output perturbation: x_0 = clip(x_hat, C0) + N(0, sigma^2 I) once;
* fine-tuning: SGD (momentum 0) on mean CE + 1/2 l2 ||x||^2 with Optax's linear one-cycle schedule
  (peak 0.1 over the whole budget; its step counter restarts after the noisy phase, as coded);
* retrain (curves only): a fresh initialisation, then the same fine-tuning for the whole budget.

The reference code's frozen noise (one vector reused at every step, defect 1) is available only
as ``noise='frozen'``; such a run carries no certificate.

A certificate holds only for the noisy steps that ran: the registered methods refuse a budget
(``epochs`` x steps per epoch) shorter than the noisy phase, and every log reports the steps run
(``noisy_steps_run``, ``finetune_steps_run``) with the (eps, delta) the accountant gives for them
(:func:`certificate`). Output perturbation logs the exact eps of the noise it draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap
from torch.nn import functional as F

from ..config import bad_value
from ..data.tasks import Split, Task
from ..models.nets import build
from ..theory import certified as acc
from ..training import augment_batch, progress
from .base import MethodConfig, register

KINDS = ("gradient_clipping", "model_clipping", "output_perturbation", "retrain", "finetune")
NOISE_MODES = ("fresh", "frozen")
GC_CALIBRATIONS = ("theorem", "as_coded")


# --------------------------------------------------------------------------------------------
# whole-vector norms, clipping and the fine-tuning schedule
# --------------------------------------------------------------------------------------------


def global_norm(tensors: dict[str, torch.Tensor], stacked: bool = True) -> torch.Tensor:
    """L2 norm of the concatenation of all tensors; with ``stacked`` the leading dim is the model
    index and the result has shape (K,), else a scalar."""
    if stacked:
        return torch.sqrt(sum(t.pow(2).flatten(1).sum(1) for t in tensors.values()))
    return torch.sqrt(sum(t.pow(2).sum() for t in tensors.values()))


def clip_global(tensors: dict[str, torch.Tensor], radius: torch.Tensor | float, stacked: bool = True) -> dict[str, torch.Tensor]:
    """clip(v, C) = v min(1, C / ||v||_2) on the whole vector (spec 3.1); ``radius`` (K,) or scalar.

    An infinite radius leaves v unchanged.
    """
    norm = global_norm(tensors, stacked)
    radius = torch.as_tensor(radius, dtype=norm.dtype, device=norm.device)
    scale = torch.clamp(radius / norm.clamp_min(1e-30), max=1.0)
    if stacked:
        return {k: v * scale.view(-1, *([1] * (v.ndim - 1))) for k, v in tensors.items()}
    return {k: v * scale for k, v in tensors.items()}


def optax_linear_onecycle(step: torch.Tensor | float, total: int, peak: float) -> torch.Tensor:
    """Optax ``linear_onecycle_schedule`` (spec 6): peak/25 -> peak over the first 30 % of ``total``
    steps, back to peak/25 by 85 %, then to peak/25/1e4 at the end; constant afterwards."""
    s = torch.as_tensor(step, dtype=torch.float64)
    init, end = peak / 25.0, peak / 25.0 / 1e4
    b1, b2, b3 = 0.3 * total, 0.85 * total, float(total)
    up = init + (peak - init) * s / max(b1, 1e-12)
    down = peak + (init - peak) * (s - b1) / max(b2 - b1, 1e-12)
    tail = init + (end - init) * (s - b2) / max(b3 - b2, 1e-12)
    return torch.where(s < b1, up, torch.where(s < b2, down, torch.where(s < b3, tail, torch.full_like(s, end))))


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
    noise_before_projection : model clipping with gradient clipping adds the noise before projecting.
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
    """Run K unlearning procedures at once (vmap over models), each for a budget of ``epochs`` epochs.

    Parameters
    ----------
    starts : module or K modules
        The start models x_hat = A(D) (one shared, or one per plan); all of one architecture.
    plans : K :class:`Plan`
        What each model does. The noisy steps count toward the budget (spec 6, 12); a plan whose T
        exceeds ``epochs`` x steps per epoch runs only the steps the budget holds (the result's
        ``noisy_steps`` says how many, and certifies only what they certify).
    retain : Split
        D minus D_f; every model draws its own shuffled mini-batches of ``batch_size`` each epoch.
    epochs : int
        Budget in epochs over the retain set (noisy + noiseless steps).
    eval_splits : dict name -> Split
        Accuracy on each is recorded after every epoch (eval mode, no augmentation: the spec's
        ``val_transform='test'``).
    noise : {'fresh', 'frozen'}
        'fresh' draws new noise at every step (the analyses' assumption); 'frozen' reuses the first
        draw (the reference code's defect 1).
    cpu_threads : int, optional
        Intra-op threads on the CPU during the run (restored afterwards). None: 1 thread when the
        stacked model is small (K x parameters <= 4M), where thread start-up costs more than it saves.
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
                raise ValueError("a retrain plan needs a start model built by companion.models.build")
            mods[k] = build(arch, tuple(retain.x.shape[1:]), _num_classes(base, retain), p.init_seed)
    n_total = K * sum(p.numel() for p in base.parameters())
    threads = cpu_threads if cpu_threads is not None else (1 if n_total <= 4_000_000 else None)
    if dev.type != "cpu" or threads is None:
        return _run(mods, plans, retain, epochs, seed, eval_splits, finetune_lr, l2, batch_size, noise, augment, dev, show_progress)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _run(mods, plans, retain, epochs, seed, eval_splits, finetune_lr, l2, batch_size, noise, augment, dev, show_progress)
    finally:
        torch.set_num_threads(before)


def _run(mods, plans, retain, epochs, seed, eval_splits, finetune_lr, l2, batch_size, noise, augment, dev, show_progress) -> StackedResult:
    K = len(plans)
    base = mods[0]
    slot: dict[int, int] = {}  # a module shared by many plans is stacked once, then indexed
    unique: list[nn.Module] = []
    for m in mods:
        if id(m) not in slot:
            slot[id(m)] = len(unique)
            unique.append(m)
    params, _ = stack_module_state([m.to(dev).eval() for m in unique])  # the nets have no dropout or batch norm
    which = torch.tensor([slot[id(m)] for m in mods], device=dev)
    params = {k: v.detach().float()[which].clone() for k, v in params.items()}
    base = base.to(dev)
    gen = torch.Generator(device=dev).manual_seed(seed)
    bgen = torch.Generator().manual_seed(seed + 1)

    def randn_like_all(ps: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: torch.randn(v.shape, generator=gen, device=dev, dtype=v.dtype) for k, v in ps.items()}

    def bcast(vec: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return vec.view(-1, *([1] * (v.ndim - 1)))

    # ---- setup: start clip and one-off noise (spec 6, step 2)
    with torch.no_grad():
        params = clip_global(params, _kstack([p.c0 for p in plans], dev))
        s0 = _kstack([p.init_sigma for p in plans], dev)
        if bool((s0 > 0).any()):
            z = randn_like_all(params)
            params = {k: v + bcast(s0, v) * z[k] for k, v in params.items()}

    def loss_fn(p: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(functional_call(base, p, (x,)), y)

    grad_all = vmap(grad(loss_fn), in_dims=(0, 0, 0))
    fwd_all = vmap(lambda p, x: functional_call(base, p, (x,)), in_dims=(0, None))

    kind = [p.kind for p in plans]
    is_gc = torch.tensor([k == "gradient_clipping" for k in kind], device=dev)
    is_mc = torch.tensor([k == "model_clipping" for k in kind], device=dev)
    T = torch.tensor([p.steps if k in ("gradient_clipping", "model_clipping") else 0 for p, k in zip(plans, kind)], device=dev)
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
                lr = optax_linear_onecycle((step - T).clamp_min(0).cpu(), total, finetune_lr).to(dev, torch.float32)
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
                        gc_new = {k: v - bcast(gamma, v) * (gt[k] + bcast(lam, v) * v) + bcast(sig, v) * z[k] for k, v in params.items()}
                        new = {k: torch.where(bcast(gc_now, v), gc_new[k], new[k]) for k, v in new.items()}
                    if bool(mc_now.any()):
                        u = clip_global({k: g[k] + bcast(lam, v) * v for k, v in params.items()}, c1)
                        y = {k: v - bcast(gamma, v) * u[k] for k, v in params.items()}
                        after = {k: w + bcast(sig, w) * z[k] for k, w in clip_global(y, c2).items()}
                        before = clip_global({k: w + bcast(sig, w) * z[k] for k, w in y.items()}, c2)
                        mc_new = {k: torch.where(bcast(nbp, w), before[k], after[k]) for k, w in y.items()}
                        new = {k: torch.where(bcast(mc_now, v), mc_new[k], new[k]) for k, v in new.items()}
                params = new
            step += 1
        with torch.no_grad():
            for name, (xe, ye) in eval_data.items():
                correct = torch.zeros(K, device=dev)
                for j in range(0, len(ye), 2048):
                    correct += (fwd_all(params, xe[j : j + 2048]).argmax(-1) == ye[j : j + 2048]).float().sum(1)
                accs[name][:, epoch] = (correct / max(1, len(ye))).cpu().numpy()
    planned = T.cpu().numpy()
    return StackedResult(params, accs, spe, np.minimum(planned, step), planned, draws)


def _num_classes(model: nn.Module, data: Split) -> int:
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return int(last[-1].out_features) if last else int(data.y.max()) + 1


def _load(model: nn.Module, res: StackedResult, k: int = 0) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(res.params[name][k].to(p.device, p.dtype))


# --------------------------------------------------------------------------------------------
# configs and certificates
# --------------------------------------------------------------------------------------------


def finite(name: str, value: float, allow_zero: bool = False) -> float:
    """A finite number > 0 (>= 0 with ``allow_zero``), else the standard ``ValueError`` naming ``name``.

    Every numeric setting of the certified methods goes through it: an infinite radius or budget
    would pass a plain ``> 0`` check and fail (or certify nothing) only later.
    """
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise bad_value(name, value, "a finite number >= 0" if allow_zero else "a finite number > 0")
    return float(value)


def integer(name: str, value: int, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (bools and floats such as 1.5 are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise bad_value(name, value, f"an integer >= {minimum}")
    return int(value)


def budget_steps(n_retain: int, epochs: int, batch_size: int) -> int:
    """Steps in a budget of ``epochs`` epochs over ``n_retain`` samples in batches of ``batch_size``."""
    return int(epochs) * -(-int(n_retain) // int(batch_size))


def check_budget(method: str, T: int, epochs: int, steps_per_epoch: int) -> None:
    """Refuse a run whose noisy phase (T steps) does not fit the budget: its certificate would not hold.

    The error says how many steps the budget allows and how many epochs the noisy phase needs.
    """
    allowed = int(epochs) * int(steps_per_epoch)
    if T > allowed:
        need = -(-int(T) // int(steps_per_epoch))
        raise ValueError(
            f"epochs={epochs!r} is not allowed for {method}: its noisy phase needs T={T} steps, but a budget of {epochs} "
            f"epoch(s) x {steps_per_epoch} steps per epoch allows only {allowed} steps; expected epochs >= {need} "
            f"(or settings with fewer noisy steps)."
        )


def _common_validate(cfg: "_Common") -> None:
    finite("epsilon", cfg.epsilon)
    finite("delta", cfg.delta)
    if not 0 < cfg.delta < 1:
        raise bad_value("delta", cfg.delta, "a number in (0, 1)")
    integer("epochs", cfg.epochs, 0)
    finite("finetune_lr", cfg.finetune_lr)
    finite("l2", cfg.l2, allow_zero=True)
    integer("batch_size", cfg.batch_size, 1)
    if cfg.noise not in NOISE_MODES:
        raise bad_value("noise", cfg.noise, f"one of {NOISE_MODES}")
    if cfg.augment not in ("none", "cifar", "mnist"):
        raise bad_value("augment", cfg.augment, "'none', 'cifar' or 'mnist'")


@dataclass(frozen=True)
class _Common(MethodConfig):
    epsilon: float = 1.0
    delta: float = 1e-5
    epochs: int = 50
    finetune_lr: float = 0.1
    l2: float = 5e-4
    batch_size: int = 128
    noise: str = "fresh"
    augment: str = "none"


@dataclass(frozen=True)
class GradientClippingConfig(_Common):
    """Gradient clipping (Theorem A). Defaults: the paper's Figure 2 CIFAR-10 setting
    (C0 20, C1 10, gamma 0.01, lambda 50); QUICK: its MNIST setting (C0 0.01, C1 100, gamma 1e-4,
    lambda 10) with a 6-epoch budget.

    calibration : 'theorem' (default) picks eps_R so that the alpha-dependent conversion certifies
        (epsilon, delta); 'as_coded' sets eps_R = epsilon as the reference code does (which then
        certifies only about 7.08 at eps_R = 1, delta = 1e-5).
    steps : T (None: the reference rule :func:`~companion.theory.certified.gc_steps`). The budget
        ``epochs`` must hold all T noisy steps (the method refuses a shorter one).
    sigma : explicit per-step noise (None: calibrated); the certificate is computed from it.
    schedule : 'constant' or 'decreasing' noise.
    """

    c0: float = 20.0
    c1: float = 10.0
    gamma: float = 1e-2
    lam: float = 50.0
    calibration: str = "theorem"
    steps: int | None = None
    sigma: float | None = None
    schedule: str = "constant"
    epochs: int = 30

    QUICK = dict(c0=0.01, c1=100.0, gamma=1e-4, lam=10.0, epochs=6)

    def validate(self) -> None:
        _common_validate(self)
        finite("c0", self.c0)
        finite("c1", self.c1)
        finite("gamma", self.gamma)
        finite("lam", self.lam, allow_zero=True)
        if self.gamma * self.lam >= 1:
            raise bad_value("gamma*lam", self.gamma * self.lam, "gamma * lam < 1 (Theorem A needs the contraction 1 - gamma*lambda > 0)")
        if self.calibration not in GC_CALIBRATIONS:
            raise bad_value("calibration", self.calibration, f"one of {GC_CALIBRATIONS}")
        if self.schedule not in acc.SCHEDULES:
            raise bad_value("schedule", self.schedule, f"one of {acc.SCHEDULES}")
        if self.steps is not None and (isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1):
            raise bad_value("steps", self.steps, "None or an integer >= 1")
        if self.sigma is not None:
            finite("sigma", self.sigma)


def gc_certificate(cfg: GradientClippingConfig, steps_run: int | None = None) -> dict:
    """T, the noise and the certificate of a gradient-clipping run with ``cfg`` (spec 3.2-3.3).

    The certified eps is the alpha-dependent conversion of the general-sum eps_R of the run's
    actual (C0, C1, gamma, lambda, sigma_t) over the ``steps_run`` noisy steps actually run
    (default: all T); the reference code's value is reported beside it. ``certified`` is True only
    when all T steps ran with fresh noise.
    """
    T = cfg.steps or acc.gc_steps(cfg.c0, cfg.c1, cfg.gamma, cfg.lam)
    eps_r_target = acc.required_eps_r(cfg.epsilon, cfg.delta) if cfg.calibration == "theorem" else cfg.epsilon
    if cfg.sigma is not None:
        sigma: float | tuple = float(cfg.sigma)
    else:
        s = acc.gc_sigma(eps_r_target, T, cfg.gamma, cfg.lam, cfg.c0, cfg.c1, schedule=cfg.schedule)
        sigma = tuple(float(v) for v in s) if isinstance(s, np.ndarray) else float(s)
    run = T if steps_run is None else integer("steps_run", steps_run, 0)
    if run > T:
        raise bad_value("steps_run", steps_run, f"an integer in [0, T={T}]")
    eps, eps_r = acc.gc_epsilon(cfg.c0, cfg.c1, cfg.gamma, cfg.lam, sigma, run, cfg.delta)
    alpha = acc.rdp_to_dp(eps_r, cfg.delta)[1] if run else math.nan
    eps_coded = acc.rdp_to_dp(eps_r, cfg.delta, "as_coded")[0] if run else math.inf
    fresh = cfg.noise == "fresh"
    return {
        "T": T, "noisy_steps_run": run, "sigma": sigma, "eps_r": eps_r, "alpha": alpha, "delta": cfg.delta,
        "epsilon": eps if fresh else math.inf, "epsilon_as_coded": eps_coded, "certified": fresh and run == T,
    }


@dataclass(frozen=True)
class ModelClippingConfig(_Common):
    """Model clipping (Theorem B). Defaults: CIFAR-10 (C0 30, C2 = sigma = 0.5, gamma 0.01,
    lambda 100); QUICK: the MNIST setting (C0 7, C2 = sigma = 0.01, gamma 1e-3, lambda 900), 6 epochs.

    c1 : optional clip of the update u = g + lambda x; with it the noise is added before the
        projection and r = 2 (C2 + gamma C1) / sigma, except at the first step, which starts in the
        C0 ball: r_0 = 2 (C0 + gamma C1) / sigma (inf with start noise;
        :func:`~companion.theory.certified.mc_first_radius`). Without it r = 2 C2 / sigma throughout.
    init_sigma : sigma_0 of a noisy start (delta_0 = theta_eps(2 C0 / sigma_0)); 0 gives delta_0 = 1.
    """

    c0: float = 30.0
    c2: float = 0.5
    sigma: float = 0.5
    gamma: float = 1e-2
    lam: float = 100.0
    c1: float | None = None
    init_sigma: float = 0.0

    QUICK = dict(c0=7.0, c2=0.01, sigma=0.01, gamma=1e-3, lam=900.0, epochs=6)

    def validate(self) -> None:
        _common_validate(self)
        for name in ("c0", "c2", "sigma", "gamma"):
            finite(name, getattr(self, name))
        finite("lam", self.lam, allow_zero=True)
        finite("init_sigma", self.init_sigma, allow_zero=True)
        if self.c1 is not None:
            finite("c1", self.c1)


def mc_certificate(cfg: ModelClippingConfig, steps_run: int | None = None) -> dict:
    """T (first step with delta_T <= delta), r, r_0, delta_0 and the accountant's certificate for the
    ``steps_run`` noisy steps actually run (default all T): (epsilon, delta) = (the target eps, the
    delta the recursion reaches), and ``epsilon_at_delta``, the eps certified at the target delta."""
    r = acc.mc_radius(cfg.c2, cfg.sigma, cfg.gamma, cfg.c1)
    r0 = acc.mc_first_radius(cfg.c0, cfg.c2, cfg.sigma, cfg.gamma, cfg.c1, cfg.init_sigma)
    d0 = acc.mc_init_delta(cfg.epsilon, cfg.c0, cfg.init_sigma)
    T = acc.mc_steps(cfg.epsilon, cfg.delta, r, d0, r_first=r0)
    run = T if steps_run is None else integer("steps_run", steps_run, 0)
    if run > T:
        raise bad_value("steps_run", steps_run, f"an integer in [0, T={T}]")
    reached = float(acc.mc_delta_path(cfg.epsilon, r, run, d0, r_first=r0)[-1, 2]) if run else d0
    at_delta = acc.mc_epsilon(cfg.delta, r, run, cfg.c0, cfg.init_sigma, r_first=r0)
    fresh = cfg.noise == "fresh"
    return {"T": T, "noisy_steps_run": run, "r": r, "r_first": r0, "sigma": cfg.sigma, "delta0": d0,
            "delta_reached": reached, "delta_target": cfg.delta,
            "epsilon": cfg.epsilon if fresh else math.inf, "delta": reached if fresh else 1.0,
            "epsilon_at_delta": at_delta if fresh else math.inf, "certified": fresh and run == T}


@dataclass(frozen=True)
class OutputPerturbationConfig(_Common):
    """Output perturbation: clip to C0, one Gaussian draw (sensitivity 2 C0), then fine-tune.

    calibration : 'classic' (default, as coded: sqrt(2 ln(1.25/delta)) 2 C0 / eps, applied only for
        eps <= 1, its range; above that the analytic calibration is used and logged) or 'analytic'
        (exact, Balle & Wang 2018). The log's ``epsilon`` is the exact eps of the noise drawn.
    The input model should be pretrained with weight decay 0.05 (:data:`OP_PRETRAIN_WEIGHT_DECAY`).
    """

    c0: float = 0.01
    calibration: str = "classic"

    QUICK = dict(epochs=6)

    def validate(self) -> None:
        _common_validate(self)
        finite("c0", self.c0)
        if self.calibration not in acc.OP_CALIBRATIONS:
            raise bad_value("calibration", self.calibration, f"one of {acc.OP_CALIBRATIONS}")


#: The paper pretrains the model for output perturbation with weight decay 0.05 (spec 8).
OP_PRETRAIN_WEIGHT_DECAY = 0.05


def op_certificate(cfg: OutputPerturbationConfig, steps_run: int | None = None) -> dict:
    """The noise of output perturbation and the exact (eps, delta) of that noise (no noisy steps: T = 0).

    ``epsilon`` is what the drawn noise certifies exactly (at most the requested eps; e.g. 0.751
    at a requested 1 with the classic formula), ``epsilon_requested`` the config's value.
    """
    sigma, used, exact = acc.op_calibrate(cfg.c0, cfg.epsilon, cfg.delta, cfg.calibration)
    return {"T": 0, "noisy_steps_run": 0, "sigma": sigma, "calibration_used": used, "epsilon": exact,
            "epsilon_requested": cfg.epsilon, "delta": cfg.delta, "certified": True}


def certificate(cfg: MethodConfig, steps_run: int | None = None) -> dict:
    """The certificate of a certified method's config after ``steps_run`` noisy steps (default: all T)."""
    if isinstance(cfg, GradientClippingConfig):
        return gc_certificate(cfg, steps_run)
    if isinstance(cfg, ModelClippingConfig):
        return mc_certificate(cfg, steps_run)
    if isinstance(cfg, OutputPerturbationConfig):
        return op_certificate(cfg, steps_run)
    raise bad_value("cfg", type(cfg).__name__, "a GradientClippingConfig, ModelClippingConfig or OutputPerturbationConfig")


def epsilon_at(cfg: MethodConfig, steps_run: int | None = None) -> float:
    """The eps certified at the config's delta after ``steps_run`` noisy steps (inf: no certificate)."""
    cert = certificate(cfg, steps_run)
    return float(cert["epsilon_at_delta"] if "epsilon_at_delta" in cert else cert["epsilon"])


def plan_for(cfg: MethodConfig, label: str = "") -> tuple[Plan, dict]:
    """The engine :class:`Plan` and the (planned, all T steps) certificate of a method config."""
    cert = certificate(cfg)
    if isinstance(cfg, GradientClippingConfig):
        return Plan("gradient_clipping", c0=cfg.c0, steps=cert["T"], sigma=cert["sigma"], gamma=cfg.gamma, lam=cfg.lam, c1=cfg.c1, label=label), cert
    if isinstance(cfg, ModelClippingConfig):
        return Plan(
            "model_clipping", c0=cfg.c0, init_sigma=cfg.init_sigma, steps=cert["T"], sigma=cfg.sigma, gamma=cfg.gamma,
            lam=cfg.lam, c1=math.inf if cfg.c1 is None else cfg.c1, c2=cfg.c2, noise_before_projection=cfg.c1 is not None, label=label,
        ), cert
    return Plan("output_perturbation", c0=cfg.c0, init_sigma=cert["sigma"], label=label), cert


def _run_one(model: nn.Module, task: Task, cfg: _Common, seed: int, device, name: str) -> dict:
    plan, cert = plan_for(cfg)
    spe = -(-len(task.retain) // cfg.batch_size)
    check_budget(name, plan.steps, cfg.epochs, spe)  # before any work: a cut-short noisy phase certifies less
    res = run_stacked(
        model, [plan], task.retain, cfg.epochs, seed=seed, eval_splits={"val": task.val}, finetune_lr=cfg.finetune_lr,
        l2=cfg.l2, batch_size=cfg.batch_size, noise=cfg.noise, augment=cfg.augment, device=device, show_progress=False,
    )
    _load(model, res)
    run = int(res.noisy_steps[0])
    cert = certificate(cfg, run)  # the accountant's (eps, delta) for the steps that actually ran
    if run != plan.steps:  # pragma: no cover - check_budget makes the whole noisy phase fit
        raise AssertionError(f"{name} ran {run} of its T={plan.steps} noisy steps")
    return {**cert, "noisy_steps_run": run, "finetune_steps_run": cfg.epochs * res.steps_per_epoch - run,
            "steps_per_epoch": res.steps_per_epoch, "val_acc_per_epoch": res.acc["val"][0].tolist()}


@register("gradient_clipping", GradientClippingConfig, zero_shot=False, paper="cert",
          description="noisy clipped-gradient fine-tuning on the retain set, then noiseless fine-tuning (Theorem A)")
def gradient_clipping(model: nn.Module, task: Task, cfg: GradientClippingConfig, *, seed: int, device, **_) -> dict:
    return _run_one(model, task, cfg, seed, device, "gradient_clipping")


@register("model_clipping", ModelClippingConfig, zero_shot=False, paper="cert",
          description="noisy projected fine-tuning on the retain set, then noiseless fine-tuning (Theorem B)")
def model_clipping(model: nn.Module, task: Task, cfg: ModelClippingConfig, *, seed: int, device, **_) -> dict:
    return _run_one(model, task, cfg, seed, device, "model_clipping")


@register("output_perturbation", OutputPerturbationConfig, zero_shot=False, paper="cert",
          description="clip the model, add one Gaussian draw (sensitivity 2 C0), then noiseless fine-tuning")
def output_perturbation(model: nn.Module, task: Task, cfg: OutputPerturbationConfig, *, seed: int, device, **_) -> dict:
    return _run_one(model, task, cfg, seed, device, "output_perturbation")
