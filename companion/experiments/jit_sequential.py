"""Sequential and overlapping forget requests (an open question of Foster et al., TMLR 2025;
``notebooks/jit/06``).

A server receives ``k`` forget requests ``F_1, ..., F_k``: whole classes (``kind='class'``, request
``i`` = every training sample of ``classes[i]``) or random training samples (``kind='random'``),
request ``i + 1`` repeating ``overlap`` samples of request ``i`` (a user asking again, or two users
with common data). After request ``i`` the removed set is the union ``U_i = F_1 u ... u F_i``.
Three ways to serve them:

* **sequential**: unlearn ``F_i`` on the model left by request ``i - 1`` (JiT sees ``F_i`` only, as
  a zero-shot method must; a retain-based method also gets the retain set ``D \\ U_i``);
* **union**: unlearn ``U_i`` at once from the original model;
* **retrain**: a fresh model trained on ``D \\ U_i`` (the target; cached per removed set).

After every request each model is scored (:func:`score_state`): retained accuracy (test samples of
classes not yet forgotten, and ``D \\ U_i``), and for each earlier request ``F_j`` (``j <= i``) its
accuracy, JiT's entropy attack (member rate; :func:`companion.metrics.entropy_lr_mia`), the loss
attack's AUC against the test set (:func:`companion.metrics.loss_threshold_mia`) and, for class
requests, the test accuracy on the request's class (JiT's D_f).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import data, methods, metrics, models
from ..checks import bad_value, integer
from ..config import ForgetSpec, ProfileSetting
from ..models import cached_state
from ..training import fit, predict, recipe_for
from .jit_settings import jit_settings

#: Baselines the experiment may compare with JiT: retain-based methods of the registry that take a
#: few passes over the forget set (cheap next to fine-tuning or retraining).
BASELINES = ("graddiff", "finetune", "scrub")


@dataclass(frozen=True)
class SequentialSetting(ProfileSetting):
    """What the sequential-requests experiment runs per profile.

    QUICK: 8x8 digits and the small CNN (the JiT tables' network and cached original), three class
    requests (digits 3, 8, 5), each repeating 20 samples of the one before, GradDiff as the
    retain-based baseline, one seed. ``kind='random'`` draws ``n_requests`` requests of
    ``request_size`` random samples instead. FULL: full MNIST, five class requests, three seeds.
    """

    profile: str = "quick"
    task: str = "digits"
    arch: str = "small_cnn"
    kind: str = "class"
    classes: tuple[int, ...] = (3, 8, 5)
    n_requests: int = 3
    request_size: int = 60
    overlap: int = 20
    baseline: str = "graddiff"
    seed: int = 0
    n_seeds: int = 1

    QUICK = {}
    FULL = {"task": "mnist", "classes": (3, 8, 5, 1, 7), "n_seeds": 3}

    @property
    def seeds(self) -> list[int]:
        """``seed, ..., seed + n_seeds - 1``."""
        return list(range(self.seed, self.seed + self.n_seeds))

    def __post_init__(self) -> None:
        if self.task not in data.TASKS:
            raise bad_value("task", self.task, f"one of {', '.join(data.TASKS)}")
        if self.arch not in models.ARCHS:
            raise bad_value("arch", self.arch, f"one of {', '.join(models.ARCHS)}")
        if self.kind not in ("class", "random"):
            raise bad_value("kind", self.kind, "'class' or 'random'")
        if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            raise bad_value("classes", self.classes, "at least two distinct class ids")
        for c in self.classes:
            integer("classes", c, 0)
        integer("n_requests", self.n_requests, 2)
        integer("request_size", self.request_size, 2)
        integer("overlap", self.overlap, 0)
        if self.kind == "random" and self.overlap >= self.request_size:
            raise bad_value(
                "overlap", self.overlap, f"an integer < request_size={self.request_size}"
            )
        if self.baseline not in BASELINES:
            raise bad_value("baseline", self.baseline, f"one of {BASELINES}")
        integer("seed", self.seed, 0)
        integer("n_seeds", self.n_seeds, 1)

    def requests(self, task: data.Task, seed: int) -> list[np.ndarray]:
        """The requests (positions in ``task.train``) for ``seed``: :func:`class_requests` or
        :func:`make_requests`."""
        if self.kind == "class":
            return class_requests(task.train.y.numpy(), self.classes, self.overlap, seed)
        return make_requests(
            len(task.train), self.n_requests, self.request_size, self.overlap, seed
        )

    def request_classes(self) -> list[int] | None:
        """The class of each request (class kind), else None."""
        return list(self.classes) if self.kind == "class" else None


def class_requests(
    y: np.ndarray, classes: tuple[int, ...], overlap: int, seed: int
) -> list[np.ndarray]:
    """Request ``i`` = every position with ``y == classes[i]``, plus (for ``i > 0``) ``overlap``
    positions drawn at random from request ``i - 1``.

    Returns
    -------
    list of sorted int arrays; the union is exactly the positions of ``classes``.
    """
    y = np.asarray(y)
    overlap = integer("overlap", overlap, 0)
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    for c in classes:
        own = np.flatnonzero(y == integer("classes", c, 0))
        if len(own) == 0:
            raise bad_value("classes", classes, f"classes present in the labels (no {c})")
        if out and overlap > len(out[-1]):
            raise bad_value("overlap", overlap, f"an integer <= {len(out[-1])} (request size)")
        extra = rng.choice(out[-1], size=overlap, replace=False) if out else own[:0]
        out.append(np.sort(np.concatenate([own, extra])))
    return out


def make_requests(
    n_train: int, n_requests: int, size: int, overlap: int, seed: int
) -> list[np.ndarray]:
    """Draw ``n_requests`` forget requests of ``size`` positions in ``range(n_train)``; request
    ``i + 1`` repeats ``overlap`` samples of request ``i`` (drawn at random from it) and adds
    ``size - overlap`` samples never requested before.

    Returns
    -------
    list of int arrays (sorted), each of length ``size``; the union has
    ``n_requests * size - (n_requests - 1) * overlap`` positions.
    """
    n_requests = integer("n_requests", n_requests, 1)
    size = integer("size", size, 1)
    overlap = integer("overlap", overlap, 0)
    if overlap >= size:
        raise bad_value("overlap", overlap, f"an integer < size={size}")
    need = n_requests * size - (n_requests - 1) * overlap
    if integer("n_train", n_train, 1) < need:
        raise bad_value("n_train", n_train, f"at least {need} samples for these requests")
    rng = np.random.default_rng(seed)
    fresh = rng.permutation(n_train)
    out, used = [], 0
    for i in range(n_requests):
        new = size if i == 0 else size - overlap
        part = fresh[used : used + new]
        used += new
        if i > 0:
            part = np.concatenate([rng.choice(out[-1], size=overlap, replace=False), part])
        out.append(np.sort(part))
    return out


def task_for(task: data.Task, forget: np.ndarray, removed: np.ndarray) -> data.Task:
    """``task`` with forget set ``train[forget]`` and retain set ``train`` without ``removed``
    (positions in ``task.train``; ``forget`` must lie in ``removed``)."""
    forget, removed = np.unique(forget), np.unique(removed)
    if not np.isin(forget, removed).all():
        raise bad_value("forget", "positions outside removed", "a subset of the removed positions")
    keep = np.setdiff1d(np.arange(len(task.train)), removed)
    return dataclasses.replace(
        task,
        forget_spec=ForgetSpec("random", int(len(forget))),
        forget=task.train.subset(forget),
        retain=task.train.subset(keep),
    )


def retrain_without(
    task: data.Task,
    removed: np.ndarray,
    arch: str,
    profile: str,
    seed: int,
    device: str = "cpu",
) -> nn.Module:
    """A fresh ``arch`` (initialisation seed ``10_000 + seed``, as the registered retrain) trained
    on ``task.train`` without the positions ``removed``, cached under a key that names the removed
    set itself (its hash), so no two removed sets of equal size share a checkpoint."""
    removed = np.unique(removed)
    t = task_for(task, removed, removed)
    recipe = recipe_for(task.name, arch, profile)
    init_seed = 10_000 + seed
    config = {
        "task": task.name,
        "task_seed": task.seed,
        "removed_sha": hashlib.sha256(np.asarray(t.forget.index).tobytes()).hexdigest()[:16],
        "n": len(t.retain),
        "arch": arch,
        "recipe": recipe.__dict__,
        "seed": seed,
        "init_seed": init_seed,
        "method": "retrain_without",
    }
    model, _ = cached_state(
        config,
        lambda: models.build(arch, task.input_shape, task.num_classes, init_seed),
        lambda m: {"loss": fit(m, t.retain, recipe, seed, device, show_progress=False)["loss"]},
        name=f"{task.name}-{arch}-retrain-union",
    )
    return model.to(device)


def score_state(
    model: nn.Module,
    task: data.Task,
    requests: list[np.ndarray],
    step: int,
    device: str = "cpu",
    seed: int = 0,
    classes: list[int] | None = None,
) -> list[dict]:
    """Scores of ``model`` after request ``step`` (0-based): one row per earlier request ``j <=
    step`` and one for the union (``request = 'union'``).

    Every row has ``retain_acc`` (on ``D \\ U_step``) and ``test_acc`` (test samples of the
    classes not in ``classes[: step + 1]``; the whole test set without ``classes``, i.e. random
    requests); per forget set: ``acc`` (its training samples), ``mia_entropy`` (JiT's entropy
    attack, fit on ``D \\ U_step`` against the test set), ``loss_auc`` (loss attack, forget set
    against the test set) and ``class_test_acc`` (test accuracy on the request's classes; NaN
    without ``classes``).
    """
    removed = np.unique(np.concatenate(requests[: step + 1]))
    t = task_for(task, removed, removed)
    logit = {k: predict(model, getattr(t, k), device) for k in ("retain", "test")}
    probs = {k: torch.softmax(v.double(), 1) for k, v in logit.items()}
    hit_test = (logit["test"].argmax(1) == t.test.y).float()
    gone = classes[: step + 1] if classes is not None else []
    kept = ~torch.isin(t.test.y, torch.tensor(gone, dtype=torch.long))
    base = {
        "test_acc": float(hit_test[kept].mean()),
        "retain_acc": float((logit["retain"].argmax(1) == t.retain.y).float().mean()),
    }
    test_loss = metrics.per_sample_loss(logit["test"], t.test.y)
    rows = []
    for j in list(range(step + 1)) + ["union"]:
        idx = removed if j == "union" else requests[j]
        f = task.train.subset(idx)
        lf = predict(model, f, device)
        mia = metrics.entropy_lr_mia(probs["retain"], probs["test"], torch.softmax(lf.double(), 1))
        auc = metrics.loss_threshold_mia(metrics.per_sample_loss(lf, f.y), test_loss, seed=seed)
        cls = gone if j == "union" else ([classes[j]] if classes is not None else [])
        in_cls = torch.isin(t.test.y, torch.tensor(cls, dtype=torch.long))
        rows.append(
            {
                "step": step + 1,
                "request": j if j == "union" else j + 1,
                **base,
                "acc": float((lf.argmax(1) == f.y).float().mean()),
                "mia_entropy": mia["forget_member_rate"],
                "loss_auc": auc["auc"],
                "class_test_acc": float(hit_test[in_cls].mean()) if cls else float("nan"),
            }
        )
    return rows


def run_sequential(
    setting: SequentialSetting,
    device: str = "cpu",
    data_root: str | None = None,
    show_progress: bool = False,
) -> pd.DataFrame:
    """Serve the requests of ``setting`` sequentially, as unions and by retraining; score every
    state.

    JiT runs with the random-forgetting table's settings for the profile
    (:func:`.jit_settings.jit_settings`); the baseline with its registry config for the profile.

    Returns
    -------
    DataFrame, one row per (seed, method, mode, step, request) with :func:`score_state`'s columns;
    ``method`` in {'original', 'jit', baseline, 'retrain'}, ``mode`` in {'none', 'sequential',
    'union', 'retrain'}; step 0 is the original model before any request.
    """
    if not isinstance(setting, SequentialSetting):
        raise bad_value("setting", type(setting).__name__, "a SequentialSetting")
    p = setting.profile
    jit_kw = jit_settings(setting.kind, p, setting.task, setting.arch)
    cls = setting.request_classes()
    rows: list[dict] = []
    for seed in setting.seeds:
        task = data.load_task(setting.task, forget="random:1", seed=seed, data_root=data_root)
        reqs = setting.requests(task, seed)
        original = models.train_or_load(
            task, setting.arch, p, seed, device=device, show_progress=show_progress
        )
        for r in score_state(original, task, reqs[:1], 0, device, seed, cls):
            rows.append({"seed": seed, "method": "original", "mode": "none", **r, "step": 0})
        for method, kw in (("jit", jit_kw), (setting.baseline, {})):
            current = original
            for i in range(len(reqs)):
                union = np.unique(np.concatenate(reqs[: i + 1]))
                seq_task = task_for(task, reqs[i], union)
                current = methods.unlearn(
                    method, current, seq_task, p, seed + i, device, **kw
                ).model
                at_once = methods.unlearn(
                    method, original, task_for(task, union, union), p, seed, device, **kw
                ).model
                for mode, m in (("sequential", current), ("union", at_once)):
                    for r in score_state(m, task, reqs, i, device, seed, cls):
                        rows.append({"seed": seed, "method": method, "mode": mode, **r})
        for i in range(len(reqs)):
            union = np.unique(np.concatenate(reqs[: i + 1]))
            m = retrain_without(task, union, setting.arch, p, seed, device)
            for r in score_state(m, task, reqs, i, device, seed, cls):
                rows.append({"seed": seed, "method": "retrain", "mode": "retrain", **r})
    return pd.DataFrame(rows)


def drift(frame: pd.DataFrame, column: str = "test_acc") -> pd.DataFrame:
    """Mean of ``column`` over seeds per step (rows) and (method, mode) (columns), read from the
    union rows; step 0 is the original."""
    if column not in ("test_acc", "retain_acc", "acc", "mia_entropy", "loss_auc", "class_test_acc"):
        raise bad_value("column", column, "a score column of run_sequential")
    u = frame[frame.request == "union"]
    out = u.groupby(["step", "method", "mode"])[column].mean().unstack(["method", "mode"])
    return out


def residual(frame: pd.DataFrame, column: str = "acc", request: int = 1) -> pd.DataFrame:
    """``column`` on the forget set of ``request`` after each later request (rows: step >=
    request), per (method, mode) (columns), mean over seeds."""
    integer("request", request, 1)
    r = frame[(frame.request == request) & (frame.step >= request)]
    if r.empty:
        raise bad_value("request", request, "a request number of the run")
    return r.groupby(["step", "method", "mode"])[column].mean().unstack(["method", "mode"])
