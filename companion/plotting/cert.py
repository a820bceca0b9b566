"""Figures of the certified part (Koloskova et al., ICML 2025): the accountants and the
accuracy-against-budget curves.

Frames and numbers in (the selections of :func:`companion.experiments.cert_curves.select`, the
accountants of :mod:`companion.theory`), matplotlib Figures out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..theory import certified as acc
from ..theory import privacy
from . import house_style, plt  # plt: pyplot under the Agg backend the package sets


def budget_figure(selected: dict[str, pd.DataFrame], title: str = ""):
    """Validation accuracy against budget, one panel per selection protocol (Figure 1's layout)."""
    with house_style():
        fig, axes = plt.subplots(
            1, len(selected), figsize=(5.2 * len(selected), 3.6), sharey=True, squeeze=False
        )
        for ax, (name, df) in zip(axes[0], selected.items()):
            for method, d in df.groupby("method", sort=False):
                (line,) = ax.plot(d["epoch"], d["mean"], marker="o", ms=3, label=method)
                ax.fill_between(
                    d["epoch"],
                    d["mean"] - d["ci"],
                    d["mean"] + d["ci"],
                    color=line.get_color(),
                    alpha=0.15,
                )
            ax.set_xlabel("unlearning budget (epochs over the retain set)")
            ax.set_title(name)
        axes[0][0].set_ylabel("validation accuracy")
        axes[0][-1].legend(fontsize=8, loc="lower right")
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def theta_figure(
    epsilons: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    delta0: float = 1.0,
    r_paths: Sequence[float] = (1.0, 2.0, 3.0),
):
    """Left: theta_eps(r) against r; right: the model-clipping delta recursion for a few r (eps =
    1)."""
    r = np.linspace(0.02, 8, 300)
    with house_style():
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
        for e in epsilons:
            a.plot(r, [privacy.hockey_stick_theta(e, x) for x in r], label=f"eps = {e:g}")
        a.set_xlabel("r = diameter / sigma")
        a.set_ylabel("theta_eps(r)")
        a.set_title("contraction coefficient of project-then-noise")
        a.legend()
        for rr in r_paths:
            T = acc.mc_steps(1.0, 1e-12, rr, delta0)
            path = acc.mc_delta_path(1.0, rr, max(T, 1), delta0)
            b.semilogy(
                np.arange(0, len(path) + 1),
                np.r_[delta0, path[:, 2]],
                marker="o",
                ms=3,
                label=f"r = {rr:g}",
            )
        b.axhline(1e-5, color="grey", ls="--", lw=1)
        b.set_xlabel("noisy step t")
        b.set_ylabel("delta_t (eps = 1)")
        b.set_title("delta recursion")
        b.legend()
        fig.tight_layout()
    return fig
