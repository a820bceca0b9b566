"""Figures of the Xu & Strohmer chapters: the tabular Pareto plot and image grids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from . import house_style, plt  # plt: pyplot under the Agg backend the package sets


def pareto_figure(
    paths: dict[str, pd.DataFrame],
    reference: dict[str, tuple[list[float], list[float]]] | None = None,
):
    """AUC-versus-discrimination figure of :func:`~companion.experiments.xs_tabular.tabular_path`
    results.

    The paper's Adult figures, in the layout of the authors' ``test Adult.py``. ``paths`` maps a
    table name to its ``tabular_path`` frame; one row of panels per table, one column per classifier
    (LR, RF): the McCann path (line, coloured by t), the ``original`` and ``drop_z`` baselines, and
    optional ``reference`` points ``{label: (discriminations, aucs)}`` (drawn on the first table
    only). Returns a matplotlib Figure.
    """
    with house_style():
        fig, axes = plt.subplots(len(paths), 2, figsize=(8, 2.8 * len(paths)), squeeze=False)
        for r, (name, df) in enumerate(paths.items()):
            path = df[df.point == "path"]
            for c, clf in enumerate(("lr", "rf")):
                ax = axes[r, c]
                ax.plot(path[f"disc_{clf}"], path[f"auc_{clf}"], "-", color="0.6", zorder=1)
                sc = ax.scatter(
                    path[f"disc_{clf}"],
                    path[f"auc_{clf}"],
                    c=path["t"],
                    cmap="viridis",
                    zorder=2,
                    label="McCann path",
                )
                for point, marker in (("original", "s"), ("drop_z", "D")):
                    row = df[df.point == point]
                    ax.scatter(
                        row[f"disc_{clf}"],
                        row[f"auc_{clf}"],
                        marker=marker,
                        s=40,
                        color="C3" if point == "original" else "C1",
                        label="Z as a feature" if point == "original" else "Z column dropped",
                        zorder=3,
                    )
                if reference and r == 0:
                    for label, (disc, auc) in reference.items():
                        ax.scatter(disc, auc, marker="x", color="k", label=label, zorder=3)
                ax.set(xlabel="discrimination", ylabel="ROC-AUC", title=f"{name}, {clf.upper()}")
            fig.colorbar(sc, ax=axes[r, 1], label="t")
        axes[0, 0].legend(fontsize=7, loc="lower right")
        fig.tight_layout()
    return fig


def image_grid(
    images: dict[str, torch.Tensor], idx: np.ndarray, titles: dict[str, str] | None = None
):
    """A grid figure: one row per image variant, one column per sample index (the CelebA notebook's
    X / Bary(X) / T(X))."""
    titles = titles or {}
    with house_style():
        fig, axes = plt.subplots(
            len(images), len(idx), figsize=(1.0 * len(idx), 1.1 * len(images)), squeeze=False
        )
        for r, (name, img) in enumerate(images.items()):
            for c, i in enumerate(idx):
                im = img[i].detach().float().clamp(0, 1)
                ax = axes[r, c]
                ax.imshow(
                    im[0] if im.shape[0] == 1 else im.permute(1, 2, 0),
                    cmap="gray_r" if im.shape[0] == 1 else None,
                    vmin=0,
                    vmax=1,
                )
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
            axes[r, 0].set_ylabel(
                titles.get(name, name), rotation=0, ha="right", va="center", fontsize=8
            )
        fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig
