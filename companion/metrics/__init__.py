"""Metrics: accuracy on each split, membership-inference attacks, and :func:`evaluate`.

Fractions are stored in [0, 1]; tables format them as percentages.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..config import bad_value
from ..data.splits import Task
from ..training import accuracy, check_model_fits, predict
from .mia import entropy, entropy_lr_mia, loss_threshold_mia, per_sample_loss, tpr_at_fpr

__all__ = [
    "accuracy",
    "entropy",
    "entropy_lr_mia",
    "evaluate",
    "loss_threshold_mia",
    "per_sample_loss",
    "predict",
    "speedup",
    "tpr_at_fpr",
]


def evaluate(
    model_or_result,
    task: Task,
    device: str | torch.device | None = None,
    weighting: str = "sample",
    mia: bool = True,
    seed: int = 0,
) -> dict[str, float]:
    """Scores of a model (or an :class:`~companion.methods.UnlearnResult`) on ``task``.

    Keys
    ----
    retain_acc, forget_acc, test_acc, val_acc
        accuracy on the retain-train set, the forget-train set, the full test set, the validation
        set.
    retain_test_acc, forget_test_acc
        JiT's "Dr" / "Df" for class tasks: test accuracy on the retained and the forgotten class
        (NaN for random forgetting, where JiT's Df is ``forget_acc``).
    Dr, Df
        JiT's reported pair for this kind of task.
    mia_entropy
        JiT's entropy-LR MIA: fraction of the forget set predicted "member"
        (:func:`entropy_lr_mia`).
    mia_entropy_heldout
        The same attack's member rate on held-out test samples (random forgetting: the target
        level).
    mia_loss_auc
        Loss-threshold attack AUC of forget (members) vs held-out non-members of the same kind.
    seconds
        The method's wall-clock time (metrics excluded), when given an UnlearnResult.
    """
    model = getattr(model_or_result, "model", model_or_result)
    if not isinstance(model, nn.Module):
        raise bad_value(
            "model_or_result",
            type(model_or_result).__name__,
            "a torch.nn.Module or an UnlearnResult",
        )
    if not isinstance(task, Task):
        raise bad_value("task", type(task).__name__, "a companion.data.Task with every split")
    if weighting not in ("sample", "batch"):
        raise bad_value("weighting", weighting, "'sample' or 'batch'")
    check_model_fits(model, task)
    out: dict[str, float] = {}
    outs = {}
    for split in ("retain", "forget", "test", "val", "retain_test", "forget_test"):
        data = getattr(task, split)
        if len(data) == 0:
            out[f"{split}_acc"] = math.nan
            continue
        logits = predict(model, data, device)
        outs[split] = logits
        if weighting == "sample":
            out[f"{split}_acc"] = float((logits.argmax(1) == data.y).float().mean())
        else:
            out[f"{split}_acc"] = accuracy(model, data, device, weighting=weighting)
    random_kind = task.forget_spec.kind == "random"
    out["Dr"] = out["test_acc"] if random_kind else out["retain_test_acc"]
    out["Df"] = out["forget_acc"] if random_kind else out["forget_test_acc"]
    if mia:
        probs = {k: torch.softmax(v.double(), 1) for k, v in outs.items()}
        # held-out non-members of the forget set's kind: test samples of the forgotten class
        # (class tasks) or the whole test set (random forgetting)
        held = "test" if random_kind or "forget_test" not in outs else "forget_test"
        r = entropy_lr_mia(
            probs["retain"], probs["test"], probs["forget"], heldout_probs=probs[held]
        )
        out["mia_entropy"] = r["forget_member_rate"]
        out["mia_entropy_heldout"] = r["heldout_member_rate"]
        fl = per_sample_loss(outs["forget"], task.forget.y)
        hl = per_sample_loss(outs[held], getattr(task, held).y)
        if len(fl) >= 2 and len(hl) >= 2:
            out["mia_loss_auc"] = loss_threshold_mia(fl, hl, seed=seed)["auc"]
    seconds = getattr(model_or_result, "seconds", None)
    if seconds is not None:
        out["seconds"] = float(seconds)
    return out


def speedup(retrain_seconds: float, method_seconds: float) -> float:
    """T_retrain / T_unlearn: both wall-clock times exclude the metrics
    (deviations.md#eval-runtime)."""
    return float(retrain_seconds / method_seconds) if method_seconds > 0 else float("inf")


def summarize(rows: list[dict], by: str = "method") -> "object":
    """Mean and standard deviation over seeds of a list of score dicts, as a pandas DataFrame."""
    import pandas as pd

    df = pd.DataFrame(rows)
    num = df.select_dtypes(include=[np.number]).columns.drop(["seed"], errors="ignore")
    g = df.groupby(by, sort=False)[list(num)]
    return g.mean().join(g.std(ddof=1 if len(df) > 1 else 0), rsuffix="_std")
