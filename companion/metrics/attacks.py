"""Membership-inference attacks behind one interface, every one reporting an :class:`AttackReport`.

An attack is *fit* on reference outputs (members and non-members it may learn from) and then
*evaluated* on a model's members and non-members; higher scores mean "member". Inputs are model
outputs as ``(logits (N, C), targets (N,))`` pairs.

Population attacks (one rule for every example):

* :class:`LossThreshold`: Yeom et al. (2018), score -CE; wraps
  :func:`companion.metrics.mia.loss_threshold_mia`
  (its balanced accuracy at a threshold chosen on a separate half lands in ``report.extra``).
* :class:`EntropyLR`: the JiT / SSD / bad-teacher entropy attack, wrapping
  :func:`companion.metrics.mia.entropy_lr_mia` (member rates in ``extra``); its ROC is that of the
  entropy itself, which a 1-d logistic regression only rescales monotonically.
* :class:`LROnLoss`: the NeurIPS 2023 unlearning challenge starting kit's attack: logistic
  regression
  on the per-sample loss, members (1) against an equal-size sample of non-members (0), stratified
  5-fold cross-validation; ``extra['cv_accuracy']`` is the kit's number (0.5 ideal), the ROC is
  built from out-of-fold probabilities.
* :class:`Confidence`: a threshold on the true-class probability or on the logit-scaled confidence
  ln p_y - ln(1 - p_y) of Carlini et al. (2022, arXiv 2112.03570, Sec. IV-C).

The per-example attacks (LiRA, U-LiRA) live in :mod:`companion.metrics.lira` and report the same
dataclass through :func:`report_from_scores`.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from ..config import bad_value
from . import mia
from .signals import logit_scaled_confidence


@dataclass(frozen=True, eq=False)
class AttackReport:
    """What every attack reports (members are the positive class).

    auc : ROC-AUC. tpr_at_1pct, tpr_at_01pct : the largest TPR with FPR <= 1 % and <= 0.1 %.
    advantage : max over thresholds of TPR - FPR (Yeom et al. 2018's membership advantage).
    fpr, tpr : the ROC curve (``sklearn.metrics.roc_curve``), for plotting.
    n_members, n_nonmembers : sample sizes. extra : attack-specific numbers (e.g. a member rate).
    """

    auc: float
    tpr_at_1pct: float
    tpr_at_01pct: float
    advantage: float
    fpr: np.ndarray
    tpr: np.ndarray
    n_members: int
    n_nonmembers: int
    extra: dict = field(default_factory=dict)

    def auc_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Normal interval for the AUC with Hanley & McNeil's (1982) standard error."""
        if not 0 < level < 1:
            raise bad_value("level", level, "a number in (0, 1)")
        a, n1, n0 = self.auc, self.n_members, self.n_nonmembers
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)
        var = max(var, 0.0)  # at AUC = 0.5 it is about (n1 + n0 + 1) / (12 n1 n0)
        z = float(norm.ppf(0.5 + level / 2))
        return a - z * math.sqrt(var), a + z * math.sqrt(var)

    def summary(self, digits: int = 3) -> dict[str, float]:
        """The scalar fields, rounded (for tables)."""
        return {
            k: round(float(getattr(self, k)), digits)
            for k in ("auc", "tpr_at_1pct", "tpr_at_01pct", "advantage")
        }


def report_from_scores(member_scores, nonmember_scores, extra: dict | None = None) -> AttackReport:
    """An :class:`AttackReport` from attack scores (higher = member)."""
    m = np.asarray(member_scores, dtype=float).ravel()
    n = np.asarray(nonmember_scores, dtype=float).ravel()
    if len(m) < 1 or len(n) < 1:
        raise bad_value("scores", (len(m), len(n)), "at least one member and one non-member score")
    if not (np.isfinite(m).all() and np.isfinite(n).all()):
        raise bad_value("scores", "non-finite values", "finite attack scores")
    y = np.r_[np.ones(len(m)), np.zeros(len(n))]
    s = np.r_[m, n]
    fpr, tpr, _ = roc_curve(y, s)
    return AttackReport(
        auc=float(roc_auc_score(y, s)),
        tpr_at_1pct=mia.tpr_at_fpr(m, n, 0.01),
        tpr_at_01pct=mia.tpr_at_fpr(m, n, 0.001),
        advantage=float(np.max(tpr - fpr)),
        fpr=fpr,
        tpr=tpr,
        n_members=len(m),
        n_nonmembers=len(n),
        extra=dict(extra or {}),
    )


def _outputs(name: str, pair) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise bad_value(name, type(pair).__name__, "a (logits (N, C), targets (N,)) pair")
    z = torch.as_tensor(pair[0]).detach().to("cpu", torch.float64)
    y = torch.as_tensor(pair[1]).detach().to("cpu", torch.long)
    if z.ndim != 2 or z.shape[1] < 2 or y.ndim != 1 or len(y) != len(z) or len(z) == 0:
        raise bad_value(
            name,
            (tuple(z.shape), tuple(y.shape)),
            "logits (N, C) with C >= 2 and N >= 1, and targets (N,)",
        )
    if int(y.min()) < 0 or int(y.max()) >= z.shape[1] or not torch.isfinite(z).all():
        raise bad_value(
            name,
            "targets out of range or non-finite logits",
            f"finite logits and class indices in [0, {z.shape[1] - 1}]",
        )
    return z, y


class Attack(abc.ABC):
    """Base class: ``fit(members, nonmembers)`` on reference outputs, ``score(outputs)``,
    ``evaluate``."""

    name = "attack"

    def fit(self, members=None, nonmembers=None) -> "Attack":
        """Threshold attacks learn nothing: every threshold is swept by the ROC."""
        return self

    @abc.abstractmethod
    def score(self, outputs) -> np.ndarray:
        """Per-example membership scores (higher: more likely a member) of ``outputs``."""

    def evaluate(self, members, nonmembers) -> AttackReport:
        """Score a model's members and non-members and report."""
        return report_from_scores(
            self.score(_check_pair("members", members)),
            self.score(_check_pair("nonmembers", nonmembers)),
        )


def _check_pair(name, pair):
    _outputs(name, pair)
    return pair


class LossThreshold(Attack):
    """Yeom et al. (2018): score -CE(f(x), y)."""

    name = "loss threshold"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def score(self, outputs) -> np.ndarray:
        z, y = _outputs("outputs", outputs)
        return -mia.per_sample_loss(z, y)

    def evaluate(self, members, nonmembers) -> AttackReport:
        sm, sn = (
            self.score(_check_pair("members", members)),
            self.score(_check_pair("nonmembers", nonmembers)),
        )
        extra = (
            mia.loss_threshold_mia(-sm, -sn, seed=self.seed) if min(len(sm), len(sn)) >= 2 else {}
        )
        return report_from_scores(
            sm, sn, {"balanced_accuracy": extra.get("balanced_accuracy", math.nan)}
        )


class EntropyLR(Attack):
    """The entropy-LR attack (JiT code): fit on retain-train (member) vs test (non-member)
    outputs."""

    name = "entropy LR"

    def __init__(self) -> None:
        self._ref: tuple[torch.Tensor, torch.Tensor] | None = None

    def fit(self, members=None, nonmembers=None) -> "EntropyLR":
        zm, _ = _outputs("members", members)
        zn, _ = _outputs("nonmembers", nonmembers)
        self._ref = (torch.softmax(zm, 1), torch.softmax(zn, 1))
        return self

    def score(self, outputs) -> np.ndarray:
        z, _ = _outputs("outputs", outputs)
        return -mia.entropy(torch.softmax(z, 1))

    def evaluate(self, members, nonmembers) -> AttackReport:
        if self._ref is None:
            raise bad_value(
                "EntropyLR",
                "unfitted",
                "an attack fitted with .fit(retain_outputs, test_outputs) first",
            )
        zm, _ = _outputs("members", members)
        zn, _ = _outputs("nonmembers", nonmembers)
        rates = mia.entropy_lr_mia(
            self._ref[0], self._ref[1], torch.softmax(zm, 1), torch.softmax(zn, 1)
        )
        return report_from_scores(
            self.score(members),
            self.score(nonmembers),
            {
                "member_rate": rates["forget_member_rate"],
                "nonmember_rate": rates["heldout_member_rate"],
            },
        )


class LROnLoss(Attack):
    """The challenge starting kit's LR-on-loss attack (module doc); trained on the sets it
    evaluates, by CV."""

    name = "LR on loss"

    def __init__(self, folds: int = 5, seed: int = 0) -> None:
        if not isinstance(folds, int) or folds < 2:
            raise bad_value("folds", folds, "an integer >= 2")
        self.folds, self.seed = folds, seed

    def score(self, outputs) -> np.ndarray:
        z, y = _outputs("outputs", outputs)
        return -mia.per_sample_loss(z, y)

    def evaluate(self, members, nonmembers) -> AttackReport:
        lm, ln = (
            -self.score(_check_pair("members", members)),
            -self.score(_check_pair("nonmembers", nonmembers)),
        )
        n = min(len(lm), len(ln))
        if n < self.folds:
            raise bad_value(
                "members/nonmembers",
                (len(lm), len(ln)),
                f"at least {self.folds} of each (one per fold)",
            )
        rng = np.random.default_rng(self.seed)
        lm = lm[rng.choice(len(lm), n, replace=False)] if len(lm) > n else lm
        ln = ln[rng.choice(len(ln), n, replace=False)] if len(ln) > n else ln
        x = np.r_[lm, ln].reshape(-1, 1)
        y = np.r_[np.ones(n), np.zeros(n)]
        cv = StratifiedKFold(self.folds, shuffle=True, random_state=self.seed)
        prob = cross_val_predict(LogisticRegression(), x, y, cv=cv, method="predict_proba")[:, 1]
        fold_acc = [float(((prob[te] >= 0.5) == y[te]).mean()) for _, te in cv.split(x, y)]
        return report_from_scores(prob[:n], prob[n:], {"cv_accuracy": float(np.mean(fold_acc))})


class Confidence(Attack):
    """Threshold on the true-class probability (``signal='probability'``) or the logit-scaled
    confidence."""

    name = "confidence"
    SIGNALS = ("probability", "logit")

    def __init__(self, signal: str = "logit") -> None:
        if signal not in self.SIGNALS:
            raise bad_value("signal", signal, f"one of {self.SIGNALS}")
        self.signal = signal

    def score(self, outputs) -> np.ndarray:
        z, y = _outputs("outputs", outputs)
        if self.signal == "logit":
            return logit_scaled_confidence(z, y)
        return torch.softmax(z, 1).gather(1, y.view(-1, 1)).squeeze(1).numpy()


def population_attacks(seed: int = 0) -> dict[str, Attack]:
    """One instance of each population attack, by name."""
    return {
        a.name: a
        for a in (LossThreshold(seed), EntropyLR(), LROnLoss(seed=seed), Confidence("logit"))
    }


def clustered_auc_interval(
    member_scores,
    nonmember_scores,
    member_groups,
    nonmember_groups,
    level: float = 0.95,
    n_boot: int = 400,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the AUC when scores come in correlated clusters.

    Pooling (model, example) pairs over K models repeats every example K times, so the pairs are not
    independent and :meth:`AttackReport.auc_interval` is too narrow. Here the *groups* (e.g. example
    ids; a group may hold both member and non-member pairs) are resampled with replacement and every
    pair is weighted by how often its group was drawn (Efron and Tibshirani's cluster bootstrap).
    """
    m, n = np.asarray(member_scores, float).ravel(), np.asarray(nonmember_scores, float).ravel()
    gm, gn = np.asarray(member_groups).ravel(), np.asarray(nonmember_groups).ravel()
    if len(m) != len(gm) or len(n) != len(gn) or len(m) < 1 or len(n) < 1:
        raise bad_value(
            "groups",
            (len(m), len(gm), len(n), len(gn)),
            "one group id per score, and scores on both sides",
        )
    if not 0 < level < 1:
        raise bad_value("level", level, "a number in (0, 1)")
    if not isinstance(n_boot, int) or n_boot < 20:
        raise bad_value("n_boot", n_boot, "an integer >= 20")
    ids, inv = np.unique(np.r_[gm, gn], return_inverse=True)
    vals, rank = np.unique(np.r_[m, n], return_inverse=True)  # tied scores share a rank
    pos = np.r_[np.ones(len(m), bool), np.zeros(len(n), bool)]
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n_boot):
        w = np.bincount(rng.integers(0, len(ids), len(ids)), minlength=len(ids))[inv].astype(float)
        wp, wn = w[pos].sum(), w[~pos].sum()
        if wp == 0 or wn == 0:
            continue
        neg_at = np.bincount(rank[~pos], weights=w[~pos], minlength=len(vals))
        below = np.cumsum(neg_at) - neg_at  # weight of non-members scoring strictly lower
        r = rank[pos]
        # weighted Mann-Whitney AUC
        stats.append(float((w[pos] * (below[r] + 0.5 * neg_at[r])).sum() / (wp * wn)))
    lo, hi = np.percentile(stats, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)
