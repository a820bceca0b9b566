"""Glue helpers for the notebooks: profile banner, glued numbers, ours-vs-reported tables, provenance.

Results reach the book's prose only through myst-nb ``glue``; :func:`glue` is a thin wrapper that
also works outside a notebook, where it does nothing.
"""

from __future__ import annotations

import math
import platform
from pathlib import Path
from typing import Any, Iterable

from . import __version__
from .config import RunContext
from .reported import Reported, get


def glue(name: str, value: Any, display: bool = False) -> None:
    """``myst_nb.glue`` when available (a no-op outside a notebook).

    Returns None, so a cell that ends with a glue call does not print the value a second time.

    A matplotlib Figure is glued as a PNG image (independent of the kernel's plotting backend) and
    closed, so it appears once, where the prose places it.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - the book extras are not installed
        return None
    payload = value
    if type(value).__name__ == "Figure" and hasattr(value, "savefig"):
        import io

        import matplotlib.pyplot as plt
        from IPython.display import Image

        buf = io.BytesIO()
        value.savefig(buf, format="png", bbox_inches="tight")
        plt.close(value)
        payload = Image(data=buf.getvalue(), format="png")
    _glue(name, payload, display=display)


def pct(x: float, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage string; NaN as an em dash."""
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}%"


def num(x: float, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def banner(ctx: RunContext) -> str:
    """The profile banner printed at the top of every chapter."""
    import torch

    line = "=" * 78
    return (
        f"{line}\n{ctx.banner()}\n"
        f"companion {__version__} | torch {torch.__version__} | python {platform.python_version()} | "
        f"{torch.get_num_threads()} CPU threads{' | GPU ' + torch.cuda.get_device_name(0) if ctx.device.startswith('cuda') else ''}\n"
        f"{line}"
    )


def provenance() -> dict[str, str]:
    import numpy
    import torch

    return {
        "companion": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
    }


def compare(rows: Iterable[tuple[str, float, str | Reported]], fmt=pct, quick: bool = True):
    """An ours-vs-reported table.

    ``rows`` holds ``(label, ours, reported)`` where ``reported`` is a :class:`Reported` or a key
    ``"paper:key"`` of :mod:`companion.reported`. In the QUICK profile the column says "QUICK
    analogue" and the match column is left out: a stand-in is not a reproduction. When the notebook
    runs under the pipeline, the rows are also recorded for the reproduction scorecard.
    """
    import pandas as pd

    out, record = [], []
    for label, ours, rep in rows:
        r = get(rep) if isinstance(rep, str) else rep
        row = {"quantity": label, ("ours (QUICK analogue)" if quick else "ours"): fmt(ours), "paper": fmt(r.value), "source": r.source}
        if not quick:
            row["within tolerance"] = "yes" if r.matches(ours) else "no"
        out.append(row)
        record.append(scorecard_row(label, ours, rep, quick, fmt))
    record_scorecard(record)
    return pd.DataFrame(out).set_index("quantity")


def key_of(rep: Reported) -> str | None:
    """The ``"paper:key"`` under which ``rep`` is stored in :mod:`companion.reported`."""
    from .reported import all_reported

    return next((k for k, v in all_reported().items() if v is rep or v == rep), None)


def scorecard_row(label: str, ours: float, rep: str | Reported, quick: bool, fmt=pct) -> dict:
    """One comparison as the scorecard stores it (see :func:`record_scorecard`)."""
    key = rep if isinstance(rep, str) else key_of(rep)
    r = get(rep) if isinstance(rep, str) else rep
    return {"quantity": label, "ours": float(ours), "paper": r.value, "tolerance": r.tolerance, "key": key,
            "source": r.source, "quick": bool(quick), "match": None if quick else bool(r.matches(ours)),
            "ours_text": fmt(ours), "paper_text": fmt(r.value)}


SCORECARD_ENV = "COMPANION_NOTEBOOK"


def scorecard_file(notebook: str) -> Path:
    """Where the rows compared by ``notebook`` (a path relative to the project root) are recorded."""
    from .config import default_cache_dir

    return default_cache_dir() / "scorecard" / (notebook.replace("/", "__").removesuffix(".py") + ".json")


def record_scorecard(rows: list[dict]) -> None:
    """Record comparisons for the scorecard page when running under the pipeline (else nothing)."""
    import json
    import os

    notebook = os.environ.get(SCORECARD_ENV)
    if not notebook or not rows:
        return
    path = scorecard_file(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else {"notebook": notebook, "rows": []}
    kept = [r for r in old["rows"] if r["quantity"] not in {n["quantity"] for n in rows}]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"notebook": notebook, "rows": kept + rows}, default=str))
    os.replace(tmp, path)


def scorecard():
    """Every ours-vs-reported row recorded by the last pipeline run, as one DataFrame."""
    import json

    import pandas as pd

    from .config import default_cache_dir

    rows = []
    for f in sorted((default_cache_dir() / "scorecard").glob("*.json")):
        blob = json.loads(f.read_text())
        rows += [{"notebook": blob["notebook"], **r} for r in blob["rows"]]
    return pd.DataFrame(rows)


def _default_fmt(column: str):
    if "seconds" in column or column == "speedup":
        return lambda v: f"{v:.2f}"
    if "auc" in column:
        return lambda v: f"{v:.3f}"
    return pct


def mean_std_table(summary, columns: dict[str, str], formats: dict | None = None):
    """Format a :func:`companion.metrics.summarize` frame as "mean ± std" strings.

    ``columns`` maps summary columns to display labels; ``formats`` maps a column to a formatter
    (default: percentages, 3 decimals for AUCs, 2 for seconds and speed-ups).
    """
    import pandas as pd

    out = pd.DataFrame(index=summary.index)
    for col, label in columns.items():
        f = (formats or {}).get(col) or _default_fmt(col)
        std = summary[f"{col}_std"] if f"{col}_std" in summary else [float("nan")] * len(summary)
        out[label] = [f(m) if sd != sd else f"{f(m)} ± {f(sd)}" for m, sd in zip(summary[col], std)]
    return out
