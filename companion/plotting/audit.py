"""Figures of the auditing chapters: ROC curves on log-log axes, per-example score spreads, KLoM."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import PALETTE, house_style


def roc_loglog(panels: dict[str, dict[str, object]], floor: float = 1e-3, title: str = ""):
    """One log-log ROC panel per entry of ``panels`` (panel title -> {curve label: AttackReport}).

    Low false-positive rates are where a membership attack matters (Carlini et al. 2022,
    arXiv 2112.03570, Sec. III-B); the diagonal is a guessing attacker.
    """
    with house_style():
        fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.4), squeeze=False)
        for ax, (name, curves) in zip(axes[0], panels.items()):
            grid = np.geomspace(floor, 1, 50)
            ax.plot(grid, grid, color="0.6", lw=0.8, ls="--", label="chance")
            for i, (label, rep) in enumerate(curves.items()):
                fpr, tpr = np.maximum(rep.fpr, floor / 2), np.maximum(rep.tpr, floor / 2)
                ax.step(
                    fpr,
                    tpr,
                    where="post",
                    color=PALETTE[i % len(PALETTE)],
                    lw=1.3,
                    label=f"{label} (AUC {rep.auc:.2f})",
                )
            ax.set(
                xscale="log",
                yscale="log",
                xlim=(floor, 1),
                ylim=(floor, 1.05),
                xlabel="false-positive rate",
                title=name,
            )
            ax.legend(fontsize=7, loc="lower right")
        axes[0][0].set_ylabel("true-positive rate")
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def per_example_spread(values: dict[str, np.ndarray], reference: float, xlabel: str):
    """Empirical distribution functions of per-example attack scores for several models, with a
    reference line.

    (Distribution functions rather than histograms: per-example AUCs over a few models take a few
    discrete values, which histogram bins alias.)
    """
    with house_style():
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        for i, (label, v) in enumerate(values.items()):
            v = np.sort(np.asarray(v, dtype=float)[np.isfinite(v)])
            ax.step(
                np.r_[0.0, v, 1.0],
                np.r_[0.0, np.arange(1, len(v) + 1) / max(len(v), 1), 1.0],
                where="post",
                lw=1.5,
                color=PALETTE[i % len(PALETTE)],
                label=label,
            )
        ax.axvline(reference, color="0.4", ls="--", lw=0.8)
        ax.set(
            xlabel=xlabel, ylabel="share of examples at or below", xlim=(0, 1.01), ylim=(0, 1.02)
        )
        ax.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
    return fig


def klom_boxes(values: dict[str, dict[str, np.ndarray]]):
    """Per-point KLoM by split (x axis) for several unlearned ensembles (one box colour each)."""
    with house_style():
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        names = list(values)
        splits = list(next(iter(values.values())))
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            pos = np.arange(len(splits)) + (i - (len(names) - 1) / 2) * width
            bp = ax.boxplot(
                [values[name][s] for s in splits],
                positions=pos,
                widths=width * 0.9,
                whis=(5, 95),
                showfliers=False,
                patch_artist=True,
            )
            for patch in bp["boxes"]:
                patch.set(facecolor=PALETTE[i % len(PALETTE)], alpha=0.5)
            ax.plot([], [], color=PALETTE[i % len(PALETTE)], lw=6, alpha=0.5, label=name)
        ax.set_xticks(np.arange(len(splits)), splits)
        ax.set(ylabel="KLoM per point (nats)")
        ax.legend(fontsize=8, loc="upper right")
        fig.tight_layout()
    return fig
