"""Glue helpers for the notebooks: profile banner, glued numbers, ours-vs-reported tables, provenance.

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
from .config import RunContext
from .reported import Reported, Setting, get


def glue(name: str, value: Any, display: bool = False) -> None:
    """``myst_nb.glue`` when available (a no-op outside a notebook).

    Returns None, so a cell that ends with a glue call does not print the value a second time.

    A numpy or torch scalar is glued as the plain Python number it holds (myst-nb's ``{glue:text}``
    formats cannot parse ``np.float64(...)``). A matplotlib Figure is glued as a PNG image (independent of the kernel's plotting backend) and
    closed, so it appears once, where the prose places it.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - the book extras are not installed
        return None
    payload = value
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy / torch scalars: myst-nb formats
        payload = value.item()  # only plain Python numbers (it cannot parse 'np.float64(...)')
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


def _setting(setting) -> Setting | None:
    if setting is None or isinstance(setting, Setting):
        return setting
    if isinstance(setting, dict):
        return Setting(**setting)
    raise TypeError(f"setting={setting!r}: expected a companion.reported.Setting, a dict of its fields or None")


def _row_setting(base: Setting | None, quick: bool, extra=None) -> Setting:
    """Our setting for one row: the table's ``base``, updated by the row's ``extra`` (Setting or dict)."""
    out = base or Setting(scale="quick" if quick else None)
    if extra:
        fields = extra.as_dict() if isinstance(extra, Setting) else dict(extra)
        out = replace(out, **{k: v for k, v in fields.items() if v is not None or not isinstance(extra, Setting)})
    if quick and out.scale != "quick":
        out = replace(out, scale="quick")
    return out


def verdict(row: dict) -> str:
    """A scorecard row's column text: 'yes', 'no', or why it is not judged."""
    if row.get("match") is None:
        return row.get("status") or ("not judged (QUICK analogue)" if row.get("quick") else "not comparable")
    return "yes" if row["match"] else "no"


def compare(rows: Iterable[tuple], fmt=pct, quick: bool = True, setting: Setting | dict | None = None):
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
        rec = scorecard_row(label, ours, rep, quick, fmt, setting=_row_setting(base, quick, extra[0] if extra else None))
        row = {"quantity": label, ("ours (QUICK analogue)" if quick else "ours"): fmt(ours), "paper": fmt(r.value), "source": r.source}
        if not quick:
            row["within tolerance"] = verdict(rec)
        out.append(row)
        record.append(rec)
    record_scorecard(record)
    return pd.DataFrame(out).set_index("quantity")


def key_of(rep: Reported) -> str | None:
    """The ``"paper:key"`` under which ``rep`` is stored in :mod:`companion.reported`."""
    from .reported import all_reported

    return next((k for k, v in all_reported().items() if v is rep or v == rep), None)


def scorecard_row(label: str, ours: float, rep: str | Reported, quick: bool, fmt=pct, setting: Setting | dict | None = None) -> dict:
    """One comparison as the scorecard stores it (see :func:`record_scorecard`).

    ``setting`` is ours (see :func:`compare`). ``match`` is True/False only for a judged row: never
    in QUICK, and only when ours agrees with the reported number's setting; otherwise it is None and
    ``status`` says why ("not judged (QUICK analogue)", "not comparable: ours ..., paper ...").
    """
    key = rep if isinstance(rep, str) else key_of(rep)
    r = get(rep) if isinstance(rep, str) else rep
    ours_setting = _row_setting(_setting(setting), quick)
    match, status = r.judge(ours, ours_setting, quick)
    return {"quantity": label, "ours": float(ours), "paper": r.value, "tolerance": r.tolerance, "key": key,
            "source": r.source, "quick": bool(quick), "match": match, "status": status,
            "setting": ours_setting.as_dict(), "paper_setting": (r.setting or Setting()).as_dict(),
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


# --------------------------------------------------------------------------------------------
# Recorded FULL runs: "At the paper's scale" sections and the scorecard's FULL rows
# --------------------------------------------------------------------------------------------

RESULTS_ENV = "COMPANION_RESULTS"


def results_dir() -> Path:
    """``$COMPANION_RESULTS``, else ``results/`` in the project root: where records are committed."""
    import os

    from .records import results_root

    env = os.environ.get(RESULTS_ENV)
    return Path(env).expanduser() if env else results_root()


def _chapter(chapter: str) -> tuple[str, str]:
    """``(part, NN_slug)`` of ``'xs/06_digit_removal'``, ``'notebooks/xs/06_digit_removal.py'`` or ``'...ipynb'``."""
    p = Path(chapter)
    if p.parent.name in ("", "."):
        raise ValueError(f"chapter={chapter!r}: expected '<part>/<NN_slug>', e.g. 'xs/06_digit_removal'")
    return p.parent.name, p.stem


def full_record_file(chapter: str, results: Path | None = None) -> Path:
    """``<results>/full/<part>/<NN_slug>.json`` for ``chapter`` (see :func:`results_dir`)."""
    part, stem = _chapter(chapter)
    return Path(results or results_dir()) / "full" / part / f"{stem}.json"


def reproduce_command(chapter: str) -> str:
    """The command that writes a chapter's FULL record."""
    part, _ = _chapter(chapter)
    return f"make reproduce PART={part}"


def _setting_of(d) -> Setting | None:
    if isinstance(d, Setting) or d is None:
        return d
    if not isinstance(d, dict):
        return None
    fields = Setting.__dataclass_fields__
    return Setting(**{k: v for k, v in d.items() if k in fields})


def judge_recorded(row: dict) -> dict:
    """A comparison row stored in a record, judged again against the number quoted now.

    The record keeps our value and our setting; the paper's value, tolerance and setting are looked
    up by the row's key in :mod:`companion.reported` (so a corrected quotation applies to old records).
    ``match`` is True/False only when the settings agree (like with like, :meth:`Reported.judge`).
    """
    from .reported import all_reported

    out = dict(row)
    quoted = all_reported()
    key = row.get("key")
    if key not in quoted:
        out.update(match=None, status=f"not comparable: {key!r} is no longer quoted in companion.reported")
        return out
    r = quoted[key]
    ours = row.get("ours")
    try:
        ours = float(ours)
    except (TypeError, ValueError):
        out.update(match=None, status=f"not comparable: our value {ours!r} is not a number")
        return out
    match, status = r.judge(ours, _setting_of(row.get("setting")) or Setting(), bool(row.get("quick", False)))
    if ours != ours:  # NaN: nothing to judge
        match, status = None, "not comparable: our value is NaN"
    paper_text = row.get("paper_text") if row.get("paper") == r.value and row.get("paper_text") else num(r.value, 4)
    out.update(paper=r.value, tolerance=r.tolerance, source=r.source, match=match, status=status,
               paper_setting=(r.setting or Setting()).as_dict(), paper_text=paper_text,
               ours_text=row.get("ours_text") or num(ours, 4))
    return out


def _duration(seconds) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "unknown"
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.1f} min"
    return f"{s:.0f} s"


def provenance_line(record: dict) -> str:
    """"FULL, recorded at commit X on device Y (name), torch Z, wall time W, date D" for a record."""
    p = record["provenance"]
    commit = str(p.get("commit", "unknown"))
    dirty = " with uncommitted changes" if p.get("dirty") else ""
    date = str(p.get("date", "unknown")).split("T")[0]
    return (f"{str(record.get('profile', 'full')).upper()}, recorded at commit {commit[:10]}{dirty} on device "
            f"{p.get('device', '?')} ({p.get('device_name', '?')}), torch {p.get('torch', '?')}, "
            f"wall time {_duration(p.get('wall_seconds'))}, date {date}")


def _quick_texts(quick) -> dict[str, str]:
    """``{quantity: text}`` from a QUICK :func:`compare` table (its first 'ours' column) or a dict."""
    if quick is None:
        return {}
    if isinstance(quick, dict):
        return {str(k): v if isinstance(v, str) else num(v, 4) for k, v in quick.items()}
    cols = [c for c in quick.columns if str(c).startswith("ours")]
    if not cols:
        return {}
    return {str(k): str(v) for k, v in quick[cols[0]].items()}


def load_full_record(chapter: str, results: Path | None = None) -> tuple[dict | None, str]:
    """``(record, '')`` for a chapter's committed FULL record, ``(None, why)`` without a usable one."""
    from .records import read_record

    path = full_record_file(chapter, results)
    if not path.is_file():
        return None, f"No FULL record yet: run {reproduce_command(chapter)}"
    try:
        return read_record(path), ""
    except ValueError as err:
        return None, f"The FULL record {path.name} cannot be read ({err}): run {reproduce_command(chapter)} again"


NOT_QUOTED = "not quoted by the papers"


def _recorded_text(record: dict, name: str) -> str:
    v = record.get("values", {}).get(name)
    if v is None:
        return "—"
    x = v.get("value")
    return num(x, 4) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def paper_scale(chapter: str, quick=None, results: Path | None = None, values: dict | None = None):
    """The ours-vs-paper rows of a chapter's committed FULL record, beside this run's QUICK analogue.

    ``chapter``: ``'<part>/<NN_slug>'``; ``quick``: this run's :func:`compare` table (or a dict
    ``{quantity: value}``); rows are matched by their quantity label. Each recorded row is judged
    again like with like (:func:`judge_recorded`). Returns None when there is no (valid) record, else
    ``(table, line)``: a DataFrame indexed by quantity with columns 'ours (FULL)', 'paper',
    'tolerance', 'within tolerance' and 'ours (QUICK, this run)', and the provenance line
    (:func:`provenance_line`).

    ``values`` adds rows for glued values the papers do not quote: ``{label: (glue name, this run's
    value)}``; their FULL value is the record's value of that glue name, their verdict
    :data:`NOT_QUOTED`.
    """
    import pandas as pd

    record, _ = load_full_record(chapter, results)
    if record is None:
        return None
    texts = _quick_texts(quick)
    here = "ours (QUICK, this run)" if quick is None or isinstance(quick, dict) or any("QUICK" in str(c) for c in quick.columns) \
        else "ours (this run)"
    out = []
    for row in record.get("comparisons", []):
        j = judge_recorded(row)
        out.append({"quantity": j.get("quantity", "?"), "ours (FULL)": j.get("ours_text", "—"),
                     "paper": j.get("paper_text", "—"), "tolerance": num(j["tolerance"], 3) if "tolerance" in j else "—",
                     "within tolerance": verdict(j), here: texts.get(str(j.get("quantity")), "—")})
    for label, (name, mine) in (values or {}).items():
        out.append({"quantity": label, "ours (FULL)": _recorded_text(record, name), "paper": "—", "tolerance": "—",
                    "within tolerance": NOT_QUOTED, here: mine if isinstance(mine, str) else num(mine, 4)})
    cols = ["quantity", "ours (FULL)", "paper", "tolerance", "within tolerance", here]
    return pd.DataFrame(out, columns=cols).set_index("quantity"), provenance_line(record)


def paper_scale_section(chapter: str, prefix: str, quick=None, results: Path | None = None, values: dict | None = None):
    """Glue a chapter's "At the paper's scale" section and return its table for display.

    Glues ``<prefix>_paper_scale`` (the :func:`paper_scale` table; without a record, a one-row table
    saying which command writes it) and ``<prefix>_paper_scale_line`` (the provenance line, or "No
    FULL record yet: run ..."), ``<prefix>_paper_scale_judged`` and ``<prefix>_paper_scale_within``
    (rows judged, and within tolerance; 0 without a record), so the chapter's references resolve either way.
    """
    import pandas as pd

    got = paper_scale(chapter, quick, results, values)
    if got is None:
        _, why = load_full_record(chapter, results)
        table = pd.DataFrame([{"FULL record": why}]).set_index("FULL record")
        line = why
    else:
        table, line = got
    verdicts = table["within tolerance"] if "within tolerance" in table else pd.Series(dtype=str)
    glue(f"{prefix}_paper_scale", table, display=False)
    glue(f"{prefix}_paper_scale_line", line)
    glue(f"{prefix}_paper_scale_judged", int(verdicts.isin(["yes", "no"]).sum()))
    glue(f"{prefix}_paper_scale_within", int((verdicts == "yes").sum()))
    return table


def full_records(results: Path | None = None) -> list[tuple[Path, dict]]:
    """Every valid committed FULL record under ``<results>/full/`` (sorted by path)."""
    from .records import read_record

    root = Path(results or results_dir()) / "full"
    out = []
    for f in sorted(root.glob("*/*.json")) if root.is_dir() else []:
        try:
            out.append((f, read_record(f)))
        except ValueError:
            continue
    return out


NO_RECORD = "not judged: FULL run without a record"


def _paper_scale_row(row: dict) -> bool:
    """A row measured at the paper's scale (not QUICK, not an exact quantity)."""
    paper = row.get("paper_setting") if isinstance(row.get("paper_setting"), dict) else {}
    return not row.get("quick") and paper.get("scale") != "exact"


def scorecard_rows(results: Path | None = None):
    """The scorecard: this build's recorded rows plus the rows of every committed FULL record.

    Rows of this build (:func:`scorecard`) keep their status, except a row measured at the paper's
    scale: it counts as judged only through a record, so in the build cache it is marked
    :data:`NO_RECORD` (and dropped when a record of its chapter exists). Each FULL record's rows that
    depend on the scale are added, judged again like with like (:func:`judge_recorded`); its exact
    rows are left out (the build judges them already). Columns add 'profile' ('QUICK', 'FULL' or
    'exact'), 'record' (the record's path relative to the results folder, else '') and 'provenance'.
    """
    import pandas as pd

    base = Path(results or results_dir())
    records = full_records(base)
    recorded_nbs = {r["notebook"] for _, r in records}
    rows = []
    built = scorecard()
    for r in built.to_dict("records") if len(built) else []:
        if _paper_scale_row(r):
            if r.get("notebook") in recorded_nbs:
                continue
            r = {**r, "match": None, "status": NO_RECORD}
        profile = "QUICK" if r.get("quick") else ("FULL" if _paper_scale_row(r) else "exact")
        rows.append({**r, "profile": profile, "record": "", "provenance": ""})
    for path, rec in records:
        line = provenance_line(rec)
        rel = path.relative_to(base).as_posix()
        for c in rec.get("comparisons", []):
            if c.get("quick") or not _paper_scale_row(judge_recorded(c)):
                continue
            rows.append({"notebook": rec["notebook"], **judge_recorded(c), "profile": "FULL", "record": rel,
                         "provenance": line})
    return pd.DataFrame(rows)
