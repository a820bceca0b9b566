"""Figure builders (arrays and frames in, matplotlib Figures out); :func:`house_style` sets the
book's look.

One module a part (:mod:`companion.plotting.xs`, ...); the shared helpers live here.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402

PALETTE = [
    "#1b6ca8",
    "#e07b39",
    "#3a9e5c",
    "#c23b3b",
    "#7c5cb5",
    "#8c6d31",
    "#d16ba5",
    "#6b6b6b",
    "#17becf",
    "#bcbd22",
]

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "font.size": 10,
    "legend.frameon": False,
}


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """Context manager applying the companion's plot style."""
    with plt.rc_context(STYLE):
        yield


def bar_with_errors(
    df, metrics: list[str], labels: dict[str, str] | None = None, title: str = "", ylim=(0, 1)
):
    """Grouped bars of ``metrics`` (columns of ``df``, one row per method) with ``<metric>_std``
    error bars."""
    import numpy as np

    labels = labels or {}
    with house_style():
        fig, ax = plt.subplots(figsize=(max(6.4, 1.2 * len(df)), 3.6))
        width = 0.8 / len(metrics)
        x = np.arange(len(df))
        for i, m in enumerate(metrics):
            err = df[f"{m}_std"] if f"{m}_std" in df else None
            ax.bar(
                x + (i - (len(metrics) - 1) / 2) * width,
                df[m],
                width,
                yerr=err,
                capsize=2,
                label=labels.get(m, m),
            )
        ax.set_xticks(x, df.index)
        if ylim:
            ax.set_ylim(*ylim)
        ax.set_title(title)
        ax.legend(ncols=min(4, len(metrics)), loc="upper center", bbox_to_anchor=(0.5, -0.12))
        fig.tight_layout()
    return fig
