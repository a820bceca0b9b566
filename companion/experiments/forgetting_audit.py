"""The protocol of the chapter "How to tell whether a model forgot": shadow ensembles on one pool.

One pool of training examples; K models, each trained on a random half of it (every example IN
for exactly K/2 models, Carlini et al. 2022, arXiv 2112.03570, Sec. VI-A); a fixed set T of
*target* examples of the pool plays the forget set of random forgetting: model k forgets T ∩ S_k,
so every target is unlearned by K/2 models and never seen by the other K/2, the design U-LiRA
needs (Hayes et al. 2024, arXiv 2403.01218, Sec. 4). Five ensembles, all trained at once with
:func:`companion.ensemble.train_ensemble` and sharing the masks and seeds:

* ``original``: model k on S_k;
* ``retrained``: model k from scratch on S_k minus T (the oracle of random forgetting);
* ``retrained_b``: the same with other seeds (a second set of oracles: KLoM's noise floor);
* ``finetuned``: model k's original fine-tuned on S_k minus T with the ``finetune`` method's
  settings (:class:`companion.methods.reference.FinetuneConfig`: SGD, lr 0.02, momentum 0.9,
  weight decay 5e-4, batch 128), the cheap unlearning method the chapter audits;
* ``class_retrained``: model k from scratch on S_k minus the forget class (full-class forgetting).

Every ensemble's logits on the pool and on held-out test points are kept as float64 signals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..config import ProfileSetting, bad_value
from ..data import load_task
from ..ensemble import balanced_masks, train_ensemble
from ..methods.reference import FinetuneConfig
from ..metrics.attacks import EntropyLR
from ..metrics.klom import klom
from ..metrics.signals import logit_scaled_confidence, margin
from ..training import TrainRecipe, recipe_for

#: FULL's sizes (the chapter's QUICK sizes are its parameters): pool, test points, least models and
#: epochs
FULL_POOL, FULL_TEST, FULL_MIN_MODELS, FULL_MIN_EPOCHS = 50_000, 10_000, 64, 30

ENSEMBLES = ("original", "retrained", "retrained_b", "finetuned", "class_retrained")


@dataclass(frozen=True)
class AuditConfig(ProfileSetting):
    """Sizes of one audit run (QUICK defaults: MNIST-5k, the 784-128-64-10 MLP).

    ``AuditConfig.for_profile('full', ...)``: full MNIST, a pool of :data:`FULL_POOL` and
    :data:`FULL_TEST` test points, and at least :data:`FULL_MIN_MODELS` models trained for at least
    :data:`FULL_MIN_EPOCHS` epochs whatever smaller numbers are asked for.
    """

    FULL = {"task": "mnist", "pool": FULL_POOL, "n_test": FULL_TEST}

    task: str = "mnist5k"
    arch: str = "mlp"
    pool: int = 1000
    n_targets: int = 200
    n_models: int = 16
    epochs: int = 10
    finetune_epochs: int = 2
    forget_class: int = 3
    n_test: int = 1000
    seed: int = 0

    @classmethod
    def for_profile(cls, profile: str, **given) -> "AuditConfig":
        cfg = super().for_profile(profile, **given)
        if profile == "full":
            cfg = replace(
                cfg,
                n_models=max(cfg.n_models, FULL_MIN_MODELS),
                epochs=max(cfg.epochs, FULL_MIN_EPOCHS),
            )
        return cfg

    def __post_init__(self) -> None:
        if self.n_models < 8 or self.n_models % 4:
            raise bad_value(
                "n_models",
                self.n_models,
                "a multiple of 4, at least 8 (two balanced folds of shadows)",
            )
        if not 2 <= self.n_targets < self.pool:
            raise bad_value("n_targets", self.n_targets, f"an integer in [2, pool = {self.pool})")
        for name in ("pool", "epochs", "finetune_epochs", "n_test"):
            if getattr(self, name) < 1:
                raise bad_value(name, getattr(self, name), "a positive integer")


@dataclass
class AuditRun:
    """Masks, labels and logits ``(K, N, C)`` of every ensemble on the pool and on the test
    points."""

    config: AuditConfig
    in_mask: np.ndarray  # (K, P) bool: example in model k's training set S_k
    target: np.ndarray  # (P,) bool: the target / forget examples T
    pool_y: np.ndarray
    test_y: np.ndarray
    logits_pool: dict[str, np.ndarray] = field(default_factory=dict)
    logits_test: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def unlearned(self) -> np.ndarray:
        """(K, P): model k trained on the example and then unlearned it (random forgetting)."""
        return self.in_mask & self.target[None, :]

    @property
    def never(self) -> np.ndarray:
        """(K, P): a target example model k never trained on."""
        return ~self.in_mask & self.target[None, :]

    @property
    def class_member(self) -> np.ndarray:
        """(K, P): a training example of the forget class that the original model k trained on."""
        return self.in_mask & (self.pool_y == self.config.forget_class)[None, :]


def run_audit(cfg: AuditConfig, data_root=None, device: str = "cpu") -> AuditRun:
    """Train the five ensembles of the module doc (on ``device``) and record their logits."""
    task = load_task(
        cfg.task, forget=f"class:{cfg.forget_class}", seed=cfg.seed, data_root=data_root
    )
    if cfg.pool > len(task.train):
        raise bad_value("pool", cfg.pool, f"at most {len(task.train)} examples of {cfg.task}")
    rng = np.random.default_rng(cfg.seed)
    pool = task.train.subset(np.sort(rng.choice(len(task.train), cfg.pool, replace=False)))
    test = task.test.subset(
        np.sort(rng.choice(len(task.test), min(cfg.n_test, len(task.test)), replace=False))
    )
    in_mask = balanced_masks(cfg.n_models, cfg.pool, cfg.seed, folds=2).astype(bool)
    target = np.zeros(cfg.pool, dtype=bool)
    target[rng.choice(cfg.pool, cfg.n_targets, replace=False)] = True
    seeds = [cfg.seed * 1000 + k for k in range(cfg.n_models)]
    recipe = recipe_for(cfg.task, cfg.arch, "quick").with_(
        epochs=cfg.epochs, schedule="constant", augment="none"
    )
    ft = FinetuneConfig()
    ft_recipe = TrainRecipe(
        ft.optimizer, ft.lr, cfg.finetune_epochs, ft.batch_size or 128, ft.momentum, ft.weight_decay
    )
    y = pool.y.numpy()
    run = AuditRun(cfg, in_mask, target, y, test.y.numpy())
    C = task.num_classes
    ens = {
        "original": train_ensemble(pool, in_mask, seeds, cfg.arch, C, recipe, device=device),
        "retrained": train_ensemble(
            pool, in_mask & ~target, seeds, cfg.arch, C, recipe, device=device
        ),
        "retrained_b": train_ensemble(
            pool, in_mask & ~target, [s + 500 for s in seeds], cfg.arch, C, recipe, device=device
        ),
        "class_retrained": train_ensemble(
            pool, in_mask & (y != cfg.forget_class), seeds, cfg.arch, C, recipe, device=device
        ),
    }
    ens["finetuned"] = train_ensemble(
        pool, in_mask & ~target, seeds, cfg.arch, C, ft_recipe, init=ens["original"], device=device
    )
    xp, xt = pool.tensors()[0], test.tensors()[0]
    for name in ENSEMBLES:
        run.logits_pool[name] = ens[name].logits(xp).double().numpy()
        run.logits_test[name] = ens[name].logits(xt).double().numpy()
    return run


def pairs(
    logits: np.ndarray, labels: np.ndarray, mask: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (logits, targets) of the (model, example) pairs selected by ``mask (K, N)``, for the
    attacks."""
    k, i = np.nonzero(mask)
    return torch.as_tensor(logits[k, i]), torch.as_tensor(labels[i])


def signal(run: AuditRun, name: str, kind: str = "phi", where: str = "pool") -> np.ndarray:
    """``(K, N)`` per-example signals of ensemble ``name``: ``kind='phi'`` the logit-scaled
    confidence (LiRA's), ``'margin'`` the true-class margin (KLoM's; the same number, computed as a
    margin)."""
    if name not in ENSEMBLES:
        raise bad_value("name", name, f"one of {ENSEMBLES}")
    if where not in ("pool", "test"):
        raise bad_value("where", where, "'pool' or 'test'")
    z = run.logits_pool[name] if where == "pool" else run.logits_test[name]
    y = run.pool_y if where == "pool" else run.test_y
    K, N, C = z.shape
    f = {"phi": logit_scaled_confidence, "margin": margin}.get(kind)
    if f is None:
        raise bad_value("kind", kind, "'phi' or 'margin'")
    return f(z.reshape(K * N, C), np.tile(y, K)).reshape(K, N)


def entropy_member_rates(
    run: AuditRun, name: str, forget: np.ndarray, heldout: np.ndarray, retain: np.ndarray
) -> dict:
    """JiT's entropy-LR attack on every model k of ensemble ``name``: fitted on its retained members
    ``retain[k]`` (member) vs all its test outputs (non-member), the member rate on its forget
    examples ``forget[k]`` and on held-out examples ``heldout[k]``; counts pooled over the K
    models."""
    z, zt = run.logits_pool[name], run.logits_test[name]
    hit_f = hit_h = n_f = n_h = 0
    for k in range(z.shape[0]):
        att = EntropyLR().fit((z[k][retain[k]], run.pool_y[retain[k]]), (zt[k], run.test_y))
        r = att.evaluate(
            (z[k][forget[k]], run.pool_y[forget[k]]), (z[k][heldout[k]], run.pool_y[heldout[k]])
        )
        hit_f += r.extra["member_rate"] * forget[k].sum()
        hit_h += r.extra["nonmember_rate"] * heldout[k].sum()
        n_f, n_h = n_f + int(forget[k].sum()), n_h + int(heldout[k].sum())
    pf, ph = hit_f / n_f, hit_h / n_h
    p = (hit_f + hit_h) / (n_f + n_h)
    se = float(np.sqrt(p * (1 - p) * (1 / n_f + 1 / n_h)))
    return {
        "forget_rate": float(pf),
        "heldout_rate": float(ph),
        "diff_se": se,
        "n_forget": n_f,
        "n_heldout": n_h,
    }


def klom_points(run: AuditRun, unlearned: str, oracle: str) -> dict[str, np.ndarray]:
    """Per-point KLoM of ensemble ``unlearned`` against ``oracle`` (margins,
    :func:`companion.metrics.klom.klom`):

    * forget: each target x, over the models that trained on x and then forgot it;
    * retain: each other pool example, over the models that trained on it (and kept it);
    * validation: each test point, over all K models.
    """
    mu, mo = signal(run, unlearned, "margin"), signal(run, oracle, "margin")
    tu, to = signal(run, unlearned, "margin", "test"), signal(run, oracle, "margin", "test")

    def per_point(cols):
        return np.array(
            [
                klom(mu[run.in_mask[:, i], i][:, None], mo[run.in_mask[:, i], i][:, None])[0]
                for i in cols
            ]
        )

    return {
        "forget": per_point(np.flatnonzero(run.target)),
        "retain": per_point(np.flatnonzero(~run.target)),
        "validation": klom(tu, to),
    }
