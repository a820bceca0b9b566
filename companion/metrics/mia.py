"""Population membership-inference attacks (Foster et al. (2025), Sec. 5; Yeom et al. (2018)).

* :func:`entropy_lr_mia`: the entropy attack exactly as the JiT / SSD / bad-teacher code computes
  it.
* :func:`loss_threshold_mia`: Yeom et al.'s loss attack, reported as ROC-AUC, balanced accuracy at
  a threshold chosen on a separate half, and TPR at low FPR.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from torch.nn import functional as F


def entropy(probs: torch.Tensor | np.ndarray) -> np.ndarray:
    """Shannon entropy in nats of each row of ``probs`` (N, C), with 0 ln 0 = 0."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    return (-torch.special.xlogy(p, p).sum(dim=1)).numpy()


def entropy_lr_mia(
    retain_probs: torch.Tensor | np.ndarray,
    test_probs: torch.Tensor | np.ndarray,
    forget_probs: torch.Tensor | np.ndarray,
    heldout_probs: torch.Tensor | np.ndarray | None = None,
) -> dict[str, float]:
    """JiT's entropy MIA.

    Fits ``LogisticRegression(class_weight='balanced', solver='lbfgs')`` on the 1-D entropy of the
    retain-train outputs (label 1, member) against the full test set (label 0), then returns the
    fraction of forget samples predicted "member" (``forget_member_rate``). With ``heldout_probs``
    (test samples not used for fitting) it also returns ``heldout_member_rate``, the rate a
    well-unlearned model should match under random forgetting.

    Parameters
    ----------
    retain_probs, test_probs, forget_probs : (N, C) softmax outputs.
    """
    hr, ht, hf = entropy(retain_probs), entropy(test_probs), entropy(forget_probs)
    if len(hr) == 0 or len(ht) == 0 or len(hf) == 0:
        raise ValueError("entropy_lr_mia needs non-empty retain, test and forget outputs")
    x = np.concatenate([hr, ht]).reshape(-1, 1)
    y = np.concatenate([np.ones(len(hr)), np.zeros(len(ht))])
    clf = LogisticRegression(class_weight="balanced", solver="lbfgs")
    clf.fit(x, y)
    out = {"forget_member_rate": float(clf.predict(hf.reshape(-1, 1)).mean())}
    if heldout_probs is not None:
        hh = entropy(heldout_probs)
        out["heldout_member_rate"] = (
            float(clf.predict(hh.reshape(-1, 1)).mean()) if len(hh) else float("nan")
        )
    return out


def per_sample_loss(logits: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    """Cross-entropy of each sample, float64 numpy array (N,)."""
    return F.cross_entropy(logits.double(), targets, reduction="none").numpy()


def tpr_at_fpr(member_scores: np.ndarray, nonmember_scores: np.ndarray, fpr: float) -> float:
    """Largest TPR achievable with FPR <= ``fpr`` (higher score = member)."""
    y = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
    f, t, _ = roc_curve(y, np.r_[member_scores, nonmember_scores])
    ok = f <= fpr
    return float(t[ok].max()) if ok.any() else 0.0


def loss_threshold_mia(
    member_loss: np.ndarray, nonmember_loss: np.ndarray, seed: int = 0
) -> dict[str, float]:
    """Yeom et al.'s loss attack with score ``-loss`` (members have lower loss).

    Returns the ROC-AUC, TPR at FPR 1 % and 0.1 %, and the balanced accuracy of the threshold that
    maximises balanced accuracy on a random half of each set, evaluated on the other half.
    """
    m = -np.asarray(member_loss, dtype=float)
    n = -np.asarray(nonmember_loss, dtype=float)
    if len(m) < 2 or len(n) < 2:
        raise ValueError(
            f"loss_threshold_mia needs at least 2 members and 2 non-members, got {len(m)} and "
            f"{len(n)}"
        )
    y = np.r_[np.ones(len(m)), np.zeros(len(n))]
    out = {
        "auc": float(roc_auc_score(y, np.r_[m, n])),
        "tpr_at_1pct_fpr": tpr_at_fpr(m, n, 0.01),
        "tpr_at_0.1pct_fpr": tpr_at_fpr(m, n, 0.001),
    }
    rng = np.random.default_rng(seed)
    pm, pn = rng.permutation(len(m)), rng.permutation(len(n))
    sel_m, ev_m = m[pm[: len(m) // 2]], m[pm[len(m) // 2 :]]
    sel_n, ev_n = n[pn[: len(n) // 2]], n[pn[len(n) // 2 :]]
    cands = np.unique(np.r_[sel_m, sel_n])
    bal = [((sel_m >= c).mean() + (sel_n < c).mean()) / 2 for c in cands]
    thr = cands[int(np.argmax(bal))]
    out["balanced_accuracy"] = float(((ev_m >= thr).mean() + (ev_n < thr).mean()) / 2)
    return out
