"""Figures of the one-protocol benchmark of every method (notebooks/audit/03_all_methods)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import PALETTE, house_style, plt


def pareto_panels(points: pd.DataFrame, panels: list[dict], title: str = ""):
    """One scatter panel per entry of ``panels``, the methods of ``points`` (one row each) as dots.

    Each panel is a dict with ``x``, ``y`` (column names), ``front`` (boolean mask over the rows),
    ``xlabel``, ``ylabel`` and optional ``logx``, ``band`` (a y value: the strip [0, band] is
    shaded, e.g. the spread a perfect unlearner shows). Front points are filled and joined by a step
    line; the others are hollow.
    """
    with house_style():
        fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.6), squeeze=False)
        for ax, p in zip(axes[0], panels):
            x, y = points[p["x"]].to_numpy(float), points[p["y"]].to_numpy(float)
            front = np.asarray(p["front"], dtype=bool)
            ax.scatter(
                x[~front],
                y[~front],
                s=28,
                facecolors="none",
                edgecolors=PALETTE[7],
                label="dominated",
            )
            ax.scatter(x[front], y[front], s=40, color=PALETTE[0], label="Pareto front", zorder=3)
            order = np.argsort(x[front])
            ax.step(
                x[front][order], y[front][order], where="post", color=PALETTE[0], lw=1, alpha=0.7
            )
            for name, xi, yi, f in zip(points.index, x, y, front):
                if np.isfinite(xi) and np.isfinite(yi):
                    ax.annotate(
                        name,
                        (xi, yi),
                        fontsize=7,
                        xytext=(3, 3),
                        textcoords="offset points",
                        color=PALETTE[0] if f else PALETTE[7],
                    )
            if p.get("band") is not None:
                ax.axhspan(
                    0, p["band"], color=PALETTE[3], alpha=0.12, label="null band (oracle vs oracle)"
                )
            if p.get("logx"):
                ax.set_xscale("log")
            ax.set_xlabel(p["xlabel"])
            ax.set_ylabel(p["ylabel"])
            ax.legend(loc="best", fontsize=8)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def audit_bars(summary: pd.DataFrame, floor: dict, columns: dict[str, str]):
    """Horizontal bars of audit columns (``columns``: name -> label), one panel each, methods sorted
    as given; a dashed line marks the oracle-vs-oracle value of each column (``floor``)."""
    with house_style():
        fig, axes = plt.subplots(
            1,
            len(columns),
            figsize=(3.4 * len(columns), 0.28 * len(summary) + 1.2),
            sharey=True,
            squeeze=False,
        )
        ypos = np.arange(len(summary))
        for ax, (col, label) in zip(axes[0], columns.items()):
            ax.barh(ypos, summary[col].to_numpy(float), color=PALETTE[0], alpha=0.8)
            if col in floor:
                ax.axvline(floor[col], ls="--", color=PALETTE[3], lw=1)
            ax.set_xlabel(label)
        axes[0][0].set_yticks(ypos, summary.index)
        axes[0][0].invert_yaxis()
        fig.tight_layout()
    return fig
