"""The papers' scale in the book: the committed FULL records read back into the chapters'
"At the paper's scale" sections and into the scorecard's FULL rows (judged like with like).

Records are written by :mod:`companion.reproduce` in the format of :mod:`companion.records`.
"""

from __future__ import annotations

from pathlib import Path

from .records import read_record, results_root
from .report import glue, num, scorecard, verdict
from .reported import Setting, all_reported

RESULTS_ENV = "COMPANION_RESULTS"


def results_dir() -> Path:
    """``$COMPANION_RESULTS``, else ``results/`` in the project root: where records are
    committed."""
    import os

    env = os.environ.get(RESULTS_ENV)
    return Path(env).expanduser() if env else results_root()


def _chapter(chapter: str) -> tuple[str, str]:
    """``(part, NN_slug)`` of ``'xs/06_digit_removal'``, ``'notebooks/xs/06_digit_removal.py'`` or
    ``'...ipynb'``."""
    p = Path(chapter)
    if p.parent.name in ("", "."):
        raise ValueError(
            f"chapter={chapter!r}: expected '<part>/<NN_slug>', e.g. 'xs/06_digit_removal'"
        )
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
    up by the row's key in :mod:`companion.reported` (so a corrected quotation applies to old
    records). ``match`` is True/False only when the settings agree (like with like,
    :meth:`Reported.judge`).
    """

    out = dict(row)
    quoted = all_reported()
    key = row.get("key")
    if key not in quoted:
        out.update(
            match=None, status=f"not comparable: {key!r} is no longer quoted in companion.reported"
        )
        return out
    r = quoted[key]
    ours = row.get("ours")
    try:
        ours = float(ours)
    except (TypeError, ValueError):
        out.update(match=None, status=f"not comparable: our value {ours!r} is not a number")
        return out
    match, status = r.judge(
        ours, _setting_of(row.get("setting")) or Setting(), bool(row.get("quick", False))
    )
    if ours != ours:  # NaN: nothing to judge
        match, status = None, "not comparable: our value is NaN"
    paper_text = (
        row.get("paper_text")
        if row.get("paper") == r.value and row.get("paper_text")
        else num(r.value, 4)
    )
    out.update(
        paper=r.value,
        tolerance=r.tolerance,
        source=r.source,
        match=match,
        status=status,
        paper_setting=(r.setting or Setting()).as_dict(),
        paper_text=paper_text,
        ours_text=row.get("ours_text") or num(ours, 4),
    )
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
    """ "FULL, recorded at commit X on device Y (name), torch Z, wall time W, date D" for a
    record."""
    p = record["provenance"]
    commit = str(p.get("commit", "unknown"))
    dirty = " with uncommitted changes" if p.get("dirty") else ""
    date = str(p.get("date", "unknown")).split("T")[0]
    return (
        f"{str(record.get('profile', 'full')).upper()}, recorded at commit {commit[:10]}{dirty} on "
        f"device "
        f"{p.get('device', '?')} ({p.get('device_name', '?')}), torch {p.get('torch', '?')}, "
        f"wall time {_duration(p.get('wall_seconds'))}, date {date}"
    )


def _quick_texts(quick) -> dict[str, str]:
    """``{quantity: text}`` from a QUICK :func:`compare` table (its first 'ours' column) or a
    dict."""
    if quick is None:
        return {}
    if isinstance(quick, dict):
        return {str(k): v if isinstance(v, str) else num(v, 4) for k, v in quick.items()}
    cols = [c for c in quick.columns if str(c).startswith("ours")]
    if not cols:
        return {}
    return {str(k): str(v) for k, v in quick[cols[0]].items()}


def load_full_record(chapter: str, results: Path | None = None) -> tuple[dict | None, str]:
    """``(record, '')`` for a chapter's committed FULL record, ``(None, why)`` without a usable
    one."""

    path = full_record_file(chapter, results)
    if not path.is_file():
        return None, f"No FULL record yet: run {reproduce_command(chapter)}"
    try:
        return read_record(path), ""
    except ValueError as err:
        return (
            None,
            f"The FULL record {path.name} cannot be read ({err}): run {reproduce_command(chapter)} "
            f"again",
        )


NOT_QUOTED = "not quoted by the papers"


def _recorded_text(record: dict, name: str) -> str:
    v = record.get("values", {}).get(name)
    if v is None:
        return "—"
    x = v.get("value")
    return num(x, 4) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def paper_scale(chapter: str, quick=None, results: Path | None = None, values: dict | None = None):
    """The ours-vs-paper rows of a chapter's committed FULL record, beside this run's QUICK
    analogue.

    ``chapter``: ``'<part>/<NN_slug>'``; ``quick``: this run's :func:`compare` table (or a dict
    ``{quantity: value}``); rows are matched by their quantity label. Each recorded row is judged
    again like with like (:func:`judge_recorded`). Returns None when there is no (valid) record,
    else ``(table, line)``: a DataFrame indexed by quantity with columns 'ours (FULL)', 'paper',
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
    here = (
        "ours (QUICK, this run)"
        if quick is None or isinstance(quick, dict) or any("QUICK" in str(c) for c in quick.columns)
        else "ours (this run)"
    )
    out = []
    for row in record.get("comparisons", []):
        j = judge_recorded(row)
        out.append(
            {
                "quantity": j.get("quantity", "?"),
                "ours (FULL)": j.get("ours_text", "—"),
                "paper": j.get("paper_text", "—"),
                "tolerance": num(j["tolerance"], 3) if "tolerance" in j else "—",
                "within tolerance": verdict(j),
                here: texts.get(str(j.get("quantity")), "—"),
            }
        )
    for label, (name, mine) in (values or {}).items():
        out.append(
            {
                "quantity": label,
                "ours (FULL)": _recorded_text(record, name),
                "paper": "—",
                "tolerance": "—",
                "within tolerance": NOT_QUOTED,
                here: mine if isinstance(mine, str) else num(mine, 4),
            }
        )
    cols = ["quantity", "ours (FULL)", "paper", "tolerance", "within tolerance", here]
    return pd.DataFrame(out, columns=cols).set_index("quantity"), provenance_line(record)


def paper_scale_section(
    chapter: str, prefix: str, quick=None, results: Path | None = None, values: dict | None = None
):
    """Glue a chapter's "At the paper's scale" section and return its table for display.

    Glues ``<prefix>_paper_scale`` (the :func:`paper_scale` table; without a record, a one-row table
    saying which command writes it) and ``<prefix>_paper_scale_line`` (the provenance line, or "No
    FULL record yet: run ..."), ``<prefix>_paper_scale_judged`` and ``<prefix>_paper_scale_within``
    (rows judged, and within tolerance; 0 without a record), so the chapter's references resolve
    either way.
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
    :data:`NO_RECORD` (and dropped when a record of its chapter exists). Each FULL record's rows
    that depend on the scale are added, judged again like with like (:func:`judge_recorded`); its
    exact rows are left out (the build judges them already). Columns add 'profile' ('QUICK', 'FULL'
    or 'exact'), 'record' (the record's path relative to the results folder, else '') and
    'provenance'.
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
            rows.append(
                {
                    "notebook": rec["notebook"],
                    **judge_recorded(c),
                    "profile": "FULL",
                    "record": rel,
                    "provenance": line,
                }
            )
    return pd.DataFrame(rows)


def gpu_measurements(results: Path | None = None):
    """Stage timings measured on lent GPUs: every JSON line of ``<results>/gpu/*.jsonl``.

    ``benchmarks/gpu_full_mnist.py`` writes one line per stage (``stage``, ``seconds``, ``device``,
    ``torch`` and the stage's numbers). Returns a DataFrame with columns file, device, torch, stage
    and seconds (empty when nothing was measured); a line that is not a JSON object with those keys
    raises ``ValueError`` naming the file and line, since a table of timings must not silently drop
    one.
    """
    import json

    import pandas as pd

    root = Path(results or results_dir()) / "gpu"
    cols = ["file", "device", "torch", "stage", "seconds"]
    rows = []
    for f in sorted(root.glob("*.jsonl")) if root.is_dir() else []:
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                rows.append({"file": f.name, **{k: rec[k] for k in cols[1:]}})
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ValueError(
                    f"{f.name} line {i}: not a stage record with {cols[1:]} ({e})"
                ) from None
    return pd.DataFrame(rows, columns=cols)


def gpu_paths(results: Path | None = None):
    """The GPU options timed against their baselines by ``benchmarks/gpu_paths.py``: the rows of
    every ``<results>/gpu/gpu_paths_*.json``.

    Returns ``(table, syncs)``: a DataFrame with columns device, row, work (network and fit or JiT),
    ours vs baseline, speed-up and largest parameter difference (one line per row and work; a
    repeated row keeps its first timing), and the host-synchronisation counts (``jit_syncs`` rows:
    ``count`` over ``steps`` JiT steps). A row missing one of those keys raises ``ValueError``
    naming the file.
    """
    import json

    import pandas as pd

    root = Path(results or results_dir()) / "gpu"
    rows, syncs = [], []
    for f in sorted(root.glob("gpu_paths_*.json")) if root.is_dir() else []:
        for r in json.loads(f.read_text())["rows"]:
            try:
                if r["row"] == "jit_syncs":
                    syncs.append({"device": r["device"], "count": r["count"], "steps": r["steps"]})
                elif "speedup" in r:
                    net, how = r["what"].split(":")[0], "fit" if ": fit" in r["what"] else "JiT"
                    rows.append(
                        {
                            "device": r["device"],
                            "row": r["row"],
                            "work": f"{net}: {how}",
                            "ours vs baseline": f"{r['ours']} vs {r['baseline']}",
                            "speed-up": round(r["speedup"], 2),
                            "largest parameter difference": float(f"{r['max_param_diff']:.1e}"),
                        }
                    )
            except KeyError as e:
                raise ValueError(f"{f.name}: a row without {e} ({r.get('row')})") from None
    table = pd.DataFrame(rows)
    return (table.drop_duplicates(["device", "row", "work"]) if rows else table), syncs
