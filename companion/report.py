"""Glue helpers for the notebooks: profile banner, glued numbers, ours-vs-reported tables,
provenance.

Results reach the book's prose only through myst-nb ``glue``; :func:`glue` is a thin wrapper that
also works outside a notebook, where it does nothing.
"""

from __future__ import annotations

import math
import platform
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from . import __version__
from .config import RunContext, default_cache_dir
from .reported import Reported, Setting, all_reported, get

#: The mime prefix of a glued value: myst-nb reads outputs stored under it (and metadata
#: ``{'scrapbook': {'name', 'mime_prefix'}}``) as glue, and so does :func:`companion.records.glued`.
GLUE_MIME = "application/papermill.record/"


def glue(name: str, value: Any, display: bool = False) -> None:
    """Store ``value`` as a named output of the running notebook, in myst-nb's glue format (a no-op
    outside a kernel).

    The output is written here rather than by ``myst_nb.glue`` so that a recorded run needs only the
    kernel (a machine without the book's extras once recorded FULL chapters with no value at all);
    myst-nb reads it in the book build exactly as its own. Returns None, so a cell that ends with a
    glue call does not print the value a second time.

    A numpy or torch scalar is glued as the plain Python number it holds (myst-nb's ``{glue:text}``
    formats cannot parse ``np.float64(...)``). A matplotlib Figure is glued as a PNG image
    (independent of the kernel's plotting backend) and closed, so it appears once, where the prose
    places it.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - no kernel can run without IPython
        return None
    if get_ipython() is None:
        return None
    payload = value
    # numpy / torch scalars: myst-nb formats
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        payload = value.item()  # only plain Python numbers (it cannot parse 'np.float64(...)')
    if type(value).__name__ == "Figure" and hasattr(value, "savefig"):
        import io

        import matplotlib.pyplot as plt
        from IPython.display import Image

        buf = io.BytesIO()
        value.savefig(buf, format="png", bbox_inches="tight")
        plt.close(value)
        payload = Image(data=buf.getvalue(), format="png")
    _publish(name, payload, display)


def _publish(name: str, payload: Any, display: bool) -> None:
    """Display ``payload``'s mime bundle under :data:`GLUE_MIME` (or shown, with ``display``) with
    the scrapbook metadata that names it."""
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    bundle, metadata = format_display_data(payload)
    prefix = "" if display else GLUE_MIME
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def pct(x: float, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage string; NaN as an em dash."""
    return (
        "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}%"
    )


def num(x: float, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def banner(ctx: RunContext) -> str:
    """The profile banner printed at the top of every chapter."""
    import torch

    line = "=" * 78
    gpu = f" | GPU {torch.cuda.get_device_name(0)}" if ctx.device.startswith("cuda") else ""
    return (
        f"{line}\n{ctx.banner()}\n"
        f"companion {__version__} | torch {torch.__version__} | python {platform.python_version()} "
        f"| {torch.get_num_threads()} CPU threads{gpu}\n"
        f"{line}"
    )


def provenance() -> dict[str, str]:
    import numpy
    import torch

    return {
        "companion": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def _setting(setting) -> Setting | None:
    if setting is None or isinstance(setting, Setting):
        return setting
    if isinstance(setting, dict):
        return Setting(**setting)
    raise TypeError(
        f"setting={setting!r}: expected a companion.reported.Setting, a dict of its fields or None"
    )


def _row_setting(base: Setting | None, quick: bool, extra=None) -> Setting:
    """Our setting for one row: the table's ``base``, updated by the row's ``extra`` (Setting or
    dict)."""
    out = base or Setting(scale="quick" if quick else None)
    if extra:
        fields = extra.as_dict() if isinstance(extra, Setting) else dict(extra)
        out = replace(
            out,
            **{k: v for k, v in fields.items() if v is not None or not isinstance(extra, Setting)},
        )
    if quick and out.scale != "quick":
        out = replace(out, scale="quick")
    return out


def verdict(row: dict) -> str:
    """A scorecard row's column text: 'yes', 'no', or why it is not judged."""
    if row.get("match") is None:
        return row.get("status") or (
            "not judged (QUICK analogue)" if row.get("quick") else "not comparable"
        )
    return "yes" if row["match"] else "no"


def compare(
    rows: Iterable[tuple], fmt=pct, quick: bool = True, setting: Setting | dict | None = None
):
    """An ours-vs-reported table.

    ``rows`` holds ``(label, ours, reported)`` or ``(label, ours, reported, row_setting)``, where
    ``reported`` is a :class:`Reported` or a key ``"paper:key"`` of :mod:`companion.reported`.
    ``setting`` is ours (a :class:`~companion.reported.Setting`, e.g. ``Setting.of(task, model,
    profile=ctx.profile)``); a row's ``row_setting`` (a dict or Setting, e.g. ``{"variant":
    "as_coded"}``) updates it for that row. A row is judged only when ours agrees with the reported
    number's setting (dataset, architecture, variant, forget set, scale); otherwise its "within
    tolerance" cell says why not ("not comparable: ours vgg11, paper vit_b16"). In the QUICK profile
    the column says "QUICK analogue" and the match column is left out: a stand-in is not a
    reproduction. When the notebook runs under the pipeline, the rows are also recorded for the
    reproduction scorecard.
    """
    import pandas as pd

    base = _setting(setting)
    out, record = [], []
    for label, ours, rep, *extra in rows:
        r = get(rep) if isinstance(rep, str) else rep
        rec = scorecard_row(
            label,
            ours,
            rep,
            quick,
            fmt,
            setting=_row_setting(base, quick, extra[0] if extra else None),
        )
        row = {
            "quantity": label,
            ("ours (QUICK analogue)" if quick else "ours"): fmt(ours),
            "paper": fmt(r.value),
            "source": r.source,
        }
        if not quick:
            row["within tolerance"] = verdict(rec)
        out.append(row)
        record.append(rec)
    record_scorecard(record)
    return pd.DataFrame(out).set_index("quantity")


def key_of(rep: Reported) -> str | None:
    """The ``"paper:key"`` under which ``rep`` is stored in :mod:`companion.reported`."""

    return next((k for k, v in all_reported().items() if v is rep or v == rep), None)


def scorecard_row(
    label: str,
    ours: float,
    rep: str | Reported,
    quick: bool,
    fmt=pct,
    setting: Setting | dict | None = None,
) -> dict:
    """One comparison as the scorecard stores it (see :func:`record_scorecard`).

    ``setting`` is ours (see :func:`compare`). ``match`` is True/False only for a judged row: never
    in QUICK, and only when ours agrees with the reported number's setting; otherwise it is None and
    ``status`` says why ("not judged (QUICK analogue)", "not comparable: ours ..., paper ...").
    """
    key = rep if isinstance(rep, str) else key_of(rep)
    r = get(rep) if isinstance(rep, str) else rep
    ours_setting = _row_setting(_setting(setting), quick)
    match, status = r.judge(ours, ours_setting, quick)
    return {
        "quantity": label,
        "ours": float(ours),
        "paper": r.value,
        "tolerance": r.tolerance,
        "key": key,
        "source": r.source,
        "quick": bool(quick),
        "match": match,
        "status": status,
        "setting": ours_setting.as_dict(),
        "paper_setting": (r.setting or Setting()).as_dict(),
        "ours_text": fmt(ours),
        "paper_text": fmt(r.value),
    }


SCORECARD_ENV = "COMPANION_NOTEBOOK"


def scorecard_file(notebook: str) -> Path:
    """Where the rows compared by ``notebook`` (a path relative to the project root) are
    recorded."""

    return (
        default_cache_dir()
        / "scorecard"
        / (notebook.replace("/", "__").removesuffix(".py") + ".json")
    )


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
