"""Figures of the JiT part (Foster et al., TMLR 2025): the geometry toys and the forgetting tables.

Results in (the dicts of :mod:`companion.experiments.jit_geometry`, the summary frame of
:func:`companion.experiments.jit_tables.run_table`), matplotlib Figures out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# plt: pyplot under the Agg backend the package sets
from . import (
    bar_with_errors,
    house_style,
    plt,
)


def figure_sigmoid(res: dict):
    """Curves before/after JiT for the flat and the steep forget sample (red: the sample before,
    black: the same input on the new curve); ``res`` from ``jit_geometry.sigmoid_experiment``."""
    with house_style():
        fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.2), sharey=True)
        for ax, name in zip(axes, ("flat", "steep")):
            ax.plot(res["grid"][:, 0], res["before"], label="original", color="#1b6ca8")
            ax.plot(
                res["grid"][:, 0], res["after"][name], label="after JiT", color="#e07b39", ls="--"
            )
            ax.scatter(res["x"][:, 0], res["y"], s=6, color="#6b6b6b", alpha=0.5)
            xv, p0, p1 = res["samples"][name]
            ax.scatter([xv], [p0], color="#c23b3b", zorder=3, label="forget sample")
            ax.scatter([xv], [p1], color="black", zorder=3, label="after JiT")
            ax.set_title(f"{name} sample (x = {xv:.2f})")
            ax.set_xlabel("x")
        axes[0].set_ylabel("P(class 1 | x)")
        axes[1].legend(loc="lower right", fontsize=8)
        fig.tight_layout()
    return fig


def figure_boundaries(res: dict):
    """A 2 x 4 grid: rows high/low-curvature forget sample, columns original/retrain/JiT/mislabel;
    ``res`` from ``jit_geometry.boundary_experiment`` (each outcome's ``grid_prob`` on
    ``res['grid']``)."""
    pts, gx, gy = res["grid"]
    x, y = res["x"].numpy(), res["y"].numpy()
    with house_style():
        fig, axes = plt.subplots(2, 4, figsize=(10.0, 5.0), sharex=True, sharey=True)
        for row, name in enumerate(("high", "low")):
            o = res[name]
            for col, k in enumerate(("original", "retrain", "JiT", "mislabel")):
                ax = axes[row, col]
                p = o.grid_prob[k].view(gx.shape).numpy()
                ax.contourf(gx, gy, p, levels=[0, 0.5, 1], colors=["#dbe8f3", "#f6e0cf"], alpha=0.8)
                ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.2)
                ax.scatter(x[:, 0], x[:, 1], c=np.where(y == 1, "#e07b39", "#1b6ca8"), s=6)
                ax.scatter(
                    [x[o.index, 0]],
                    [x[o.index, 1]],
                    s=70,
                    facecolors="none",
                    edgecolors="#c23b3b",
                    linewidths=1.8,
                )
                ax.grid(False)
                if row == 0:
                    ax.set_title(k)
                if col == 0:
                    ax.set_ylabel(f"{name} curvature\n(kappa = {o.kappa:.2f})")
        fig.tight_layout()
    return fig


def table_figure(summary: pd.DataFrame, title: str):
    """Bars of D_r, D_f and the entropy MIA of every row (mean and standard deviation over seeds);
    ``summary`` is a table result's summary frame (``TableResult.summary``)."""
    s = summary.rename(columns={"mia_entropy": "MIA", "mia_entropy_std": "MIA_std"})
    fig = bar_with_errors(s, ["Dr", "Df", "MIA"], title=title)
    fig.axes[0].tick_params(axis="x", labelrotation=60)
    return fig
