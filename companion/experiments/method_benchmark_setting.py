"""What the all-methods benchmark (:mod:`companion.experiments.method_benchmark`) runs: its
setting per profile, the forget requests, the pool it cuts the task to, and the methods it
passes special settings or none (with the reason). The benchmark re-exports every name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import data
from ..config import ProfileSetting, bad_value

#: Methods that are not data-point unlearning methods: they keep a row with this reason.
NOT_APPLICABLE = {
    "barycenter": (
        "feature unlearning (Xu & Strohmer): it removes an attribute Z from every sample, "
        "not a set of training points"
    ),
}


#: Settings the benchmark passes to a method, by profile: GKT's QUICK schedule is cut to fit the CPU
#: budget.
OVERRIDES = {
    "quick": {"gkt": {"n_pseudo_batches": 1}},
    "full": {},
}


KLOM_POINTS = 100  # retain and test points scored by KLoM besides the forget set


@dataclass(frozen=True)
class Setting(ProfileSetting):
    """One benchmark configuration: task, network, pool size and ensemble sizes.

    ``Setting.for_profile``: QUICK cuts the pool to 400 points and the eps estimate to 10 thresholds
    per unit; FULL uses 3,000 points, the challenge's 100 thresholds and at least 16 runs.
    """

    QUICK = {"n_pool": 400, "per_unit": 10}
    FULL = {"n_pool": 3000, "per_unit": 100}

    task: str = "mnist5k"
    arch: str = "tiny_mlp"
    n_pool: int = 600
    n_runs: int = 8
    profile: str = "quick"
    seed: int = 0
    per_unit: int = (
        100  # thresholds per unit of the signal in the eps estimate (the challenge's 100)
    )
    n_null: int = 20  # random halvings of the 2N oracles: the null distribution of U-LiRA

    @classmethod
    def for_profile(cls, profile: str, **given) -> "Setting":
        s = super().for_profile(profile, **given)
        return dataclasses.replace(s, n_runs=max(16, s.n_runs)) if profile == "full" else s

    def __post_init__(self) -> None:
        if self.profile not in ("quick", "full"):
            raise bad_value("profile", self.profile, "'quick' or 'full'")
        for name, low in (("n_pool", 20), ("seed", 0), ("per_unit", 1), ("n_null", 2)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise bad_value(name, v, f"an integer >= {low}")
        n = self.n_runs
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4 or n % 2:
            raise bad_value(
                "n_runs", n, "an even integer >= 4 (U-LiRA's two folds need two runs of each group)"
            )


def forget_requests(forget: str, profile: str) -> list[str]:
    """The forget sets a benchmark run covers: ``forget`` in QUICK; in FULL also one of each other
    kind (class 3, subclass 8, 100 random points)."""
    kind = forget.split(":")[0]
    other = {"class": "class:3", "subclass": "subclass:8", "random": "random:100"}
    return [forget] + ([v for k, v in other.items() if k != kind] if profile == "full" else [])


def pooled_task(task: data.Task, n_pool: int, seed: int) -> data.Task:
    """``task`` with its training set cut to ``n_pool`` samples (retain / forget cut alike).

    Class and sub-class forgetting draw the pool uniformly (the forget set keeps its share); random
    forgetting keeps the whole forget set and fills the pool with random retain samples."""
    n_train = len(task.train)
    if (
        isinstance(n_pool, bool)
        or not isinstance(n_pool, (int, np.integer))
        or not len(task.forget) < n_pool <= n_train
    ):
        raise bad_value(
            "n_pool",
            n_pool,
            f"an integer in ({len(task.forget)}, {n_train}] (forget-set size, training-set size)",
        )
    rng = np.random.default_rng(seed)
    is_f = np.isin(task.train.index.numpy(), task.forget.index.numpy())
    if task.forget_spec.kind == "random":
        fill = rng.choice(np.flatnonzero(~is_f), n_pool - int(is_f.sum()), replace=False)
        keep = np.sort(np.r_[np.flatnonzero(is_f), fill])
    else:
        keep = np.sort(rng.choice(n_train, n_pool, replace=False))
    forget = keep[is_f[keep]]
    if len(forget) < 2:
        raise bad_value("n_pool", n_pool, "a pool holding at least 2 forget samples")
    return dataclasses.replace(
        task,
        train=task.train.subset(keep),
        retain=task.train.subset(keep[~is_f[keep]]),
        forget=task.train.subset(forget),
    )
