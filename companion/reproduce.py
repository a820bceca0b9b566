"""Checking records against fresh runs: compare two records value by value, record a run, verify a
record by re-executing its notebook, and reproduce every FULL chapter whose data are present
(``python -m companion run --record | verify | reproduce``; the record format is
:mod:`companion.records`)."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from . import notebooks
from .config import bad_value, default_data_root, validate_param
from .provenance import code_digest, code_state, device_info, git_state
from .records import (
    DEFAULT_REL_TOL,
    NUMBER_TEXT,
    atomic_write,
    build_record,
    glued,
    json_default,
    read_record,
    record_path,
    write_record,
)
from .report import scorecard_file

# --------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------


def _as_number(x: Any) -> float | None:
    """A number from an int/float or from text such as '94.4%', '15,000', '-0.3' (else None)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        m = NUMBER_TEXT.match(x)
        if m:
            try:
                return float(m.group(1).replace(",", "").replace("−", "-"))
            except ValueError:
                return None
    return None


def _close(a: float, b: float, rel: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def tolerance_of(name: str, tolerances: dict[str, float] | None) -> float:
    """Relative tolerance for ``name``: ``tolerances[name]``, else ``tolerances['*']``, else
    :data:`DEFAULT_REL_TOL`."""
    tolerances = tolerances or {}
    rel = tolerances.get(name, tolerances.get("*", DEFAULT_REL_TOL))
    if not (isinstance(rel, (int, float)) and math.isfinite(rel) and rel >= 0):
        raise bad_value("tolerance", rel, "a finite relative tolerance >= 0")
    return float(rel)


def _compare_scalar(rec: dict, new: dict, rel: float) -> tuple[bool, str]:
    a, b = rec["value"], new["value"]
    if rec["kind"] == "float" or new["kind"] == "float":
        x, y = _as_number(a), _as_number(b)
        if x is None or y is None:
            return False, f"not both numbers ({rec['kind']} vs {new['kind']})"
        return _close(x, y, rel), f"rel tol {rel:g}"
    if rec["kind"] == "str" and new["kind"] == "str" and a != b:
        # formatted numbers ('94.4%') within the float tolerance
        x, y = (
            _as_number(a),
            _as_number(b),
        )
        if x is not None and y is not None:
            return _close(x, y, rel), f"as numbers, rel tol {rel:g}"
    if rec["kind"] != new["kind"]:
        return False, f"kind {rec['kind']} vs {new['kind']}"
    return a == b, "exact"


def compare_records(
    recorded: dict, fresh: dict, tolerances: dict[str, float] | None = None
) -> list[dict]:
    """Compare every value and table of ``recorded`` with ``fresh`` (records or ``glued`` results).

    Ints, bools and non-numeric strings must be equal; floats (and numeric text such as '94.4%')
    within a relative tolerance (:func:`tolerance_of`; default 1e-6, meant for the same device).
    Tables are compared cell by cell the same way. Figures are not compared (pixels differ across
    library versions); a name present on one side only is a mismatch. Returns one row per compared
    name: ``{'name', 'what', 'recorded', 'fresh', 'ok', 'rule'}``.
    """
    rows = []
    rv, fv = recorded.get("values", {}), fresh.get("values", {})
    for name in sorted(set(rv) | set(fv)):
        if name not in fv or name not in rv:
            rows.append(
                {
                    "name": name,
                    "what": "value",
                    "recorded": rv.get(name, {}).get("value"),
                    "fresh": fv.get(name, {}).get("value"),
                    "ok": False,
                    "rule": "missing in the fresh run" if name not in fv else "not in the record",
                }
            )
            continue
        ok, rule = _compare_scalar(rv[name], fv[name], tolerance_of(name, tolerances))
        rows.append(
            {
                "name": name,
                "what": "value",
                "recorded": rv[name]["value"],
                "fresh": fv[name]["value"],
                "ok": ok,
                "rule": rule,
            }
        )
    rt, ft = recorded.get("tables", {}), fresh.get("tables", {})
    for name in sorted(set(rt) | set(ft)):
        if name not in ft or name not in rt:
            rows.append(
                {
                    "name": name,
                    "what": "table",
                    "recorded": "(table)" if name in rt else None,
                    "fresh": "(table)" if name in ft else None,
                    "ok": False,
                    "rule": "missing in the fresh run" if name not in ft else "not in the record",
                }
            )
            continue
        a, b = rt[name]["rows"], ft[name]["rows"]
        rel = tolerance_of(name, tolerances)
        if [len(r) for r in a] != [len(r) for r in b]:
            rows.append(
                {
                    "name": name,
                    "what": "table",
                    "recorded": f"{len(a)} rows",
                    "fresh": f"{len(b)} rows",
                    "ok": False,
                    "rule": "shape",
                }
            )
            continue
        bad = []
        for i, (ra, rb) in enumerate(zip(a, b)):
            for j, (ca, cb) in enumerate(zip(ra, rb)):
                if ca == cb:
                    continue
                x, y = _as_number(ca), _as_number(cb)
                if x is None or y is None or not _close(x, y, rel):
                    bad.append((i, j, ca, cb))
        if bad:
            for i, j, ca, cb in bad:
                rows.append(
                    {
                        "name": f"{name}[{i},{j}]",
                        "what": "table cell",
                        "recorded": ca,
                        "fresh": cb,
                        "ok": False,
                        "rule": f"cells equal or numbers within rel tol {rel:g}",
                    }
                )
        else:
            rows.append(
                {
                    "name": name,
                    "what": "table",
                    "recorded": "(table)",
                    "fresh": "(table)",
                    "ok": True,
                    "rule": f"cells equal or numbers within rel tol {rel:g}",
                }
            )
    return rows


def format_mismatches(rows: list[dict]) -> str:
    """A plain-text table of the rows that do not match."""
    bad = [r for r in rows if not r["ok"]]
    if not bad:
        return ""
    cols = ("name", "recorded", "fresh", "rule")
    cells = [
        [str(r[c]) if len(str(r[c])) <= 40 else str(r[c])[:37] + "..." for c in cols] for r in bad
    ]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(cols, widths)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Running: record, verify, reproduce
# --------------------------------------------------------------------------------------------


def _data_root(params: dict[str, Any]) -> Path:
    return Path(params.get("DATA_ROOT") or default_data_root())


def record_run(
    source: Path,
    overrides: dict[str, Any],
    output: Path | None = None,
    scorecard: bool = True,
    results: Path | None = None,
) -> tuple[Path, dict]:
    """Execute ``source`` with ``overrides`` and write its record (see the module docstring).

    ``output``: where the executed notebook goes (default: next to the source, as ``run`` does).
    ``scorecard=False`` leaves the scorecard's cached rows for this notebook as they were (a FULL
    run made by ``reproduce`` must not replace the QUICK rows the book shows); its rows are kept in
    the record's ``comparisons`` either way. Returns ``(record path, record)``.
    """

    src = Path(source).resolve()
    params = notebooks.check_parameters(src, dict(overrides))
    # missing data or a bad request stops here, before a kernel
    shape = notebooks.preflight(src, params)
    base = notebooks.root()
    rel = src.relative_to(base).as_posix() if src.is_relative_to(base) else src.name
    sc = scorecard_file(rel)
    backup = sc.read_bytes() if sc.exists() else None
    code = code_state(src)  # before the run: the tree may change while it runs
    try:
        res = notebooks.execute(src, overrides, Path(output) if output else None, record=True)
        comparisons = json.loads(sc.read_text()).get("rows", []) if sc.exists() else []
    finally:
        if not scorecard:
            if backup is None:
                sc.unlink(missing_ok=True)
            else:
                atomic_write(sc, backup)
    rec, images = build_record(
        Path(res["output"]),
        src,
        res["parameters"],
        res["seconds"],
        shape["tasks"],
        _data_root(res["parameters"]),
        comparisons,
        code,
    )
    path = write_record(rec, record_path(src, rec["profile"], results), images)
    return path, read_record(path)


def verify(
    record_file: Path,
    tolerances: dict[str, float] | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict:
    """Re-execute a record's notebook with its parameters (updated by ``overrides``) into a
    temporary folder and compare every value. Returns
    ``{'rows', 'ok', 'record', 'seconds', 'device'}``."""

    rec = read_record(record_file)
    src = notebooks.find(rec["notebook"])
    params = {k: v for k, v in rec["parameters"].items()} | dict(overrides or {})
    params = notebooks.check_parameters(src, params)
    with tempfile.TemporaryDirectory(prefix="companion-verify-") as tmp:
        res = notebooks.execute(
            src, params, output=Path(tmp) / src.with_suffix(".ipynb").name, record=False
        )
        fresh = glued(res["output"])
    device, name = device_info(params)
    rows = compare_records(rec, fresh, tolerances)
    return {
        "rows": rows,
        "ok": all(r["ok"] for r in rows),
        "record": rec,
        "seconds": res["seconds"],
        "device": device,
        "device_name": name,
    }


def _plain(x: Any) -> Any:
    return json.loads(json.dumps(x, default=json_default))


def up_to_date(path: Path, source: Path, params: dict[str, Any]) -> str:
    """Why the record at ``path`` still stands for ``source`` run with ``params`` ('' when it does
    not): same parameters and the same code (commit, or the package and notebook on disk)."""
    if not Path(path).is_file():
        return ""
    try:
        rec = read_record(path)
    except ValueError:
        return ""
    if _plain(rec["parameters"]) != _plain(params):
        return ""
    commit, dirty = git_state()
    prov = rec["provenance"]
    if prov["code_sha256"] != code_digest(source):
        return ""
    same = "commit" if (prov["commit"] == commit and not dirty and not prov["dirty"]) else "code"
    return f"recorded at {prov['commit'][:10]} with the same parameters and the same {same}"


def reproduce(
    part: str | None = None,
    only: list[str] | None = None,
    profile: str = "full",
    device: str = "auto",
    data_root: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    results: Path | None = None,
    log=print,
) -> dict[str, list]:
    """Run and record every chapter (of ``part``, or the ``only`` ones) in ``profile`` whose data
    are present; skip a chapter whose record is up to date (:func:`up_to_date`) unless ``force``.

    Each chapter is checked first (parameters, CUDA, data: ``notebooks.check_parameters`` and
    ``notebooks.preflight``); a chapter that cannot run here is skipped with the reason. Executed
    notebooks go to a temporary folder (the book's QUICK pages stay). Returns ``{'recorded',
    'up_to_date', 'skipped', 'failed'}``, each a list of ``(chapter, detail)``.
    """

    validate_param("PROFILE", profile)
    # back/: the scorecard page reads records
    sources = [s for s in notebooks.chapters() if s.parent.name != "back"]
    parts = sorted({s.parent.name for s in sources})
    if part is not None:
        if part not in parts:
            raise bad_value("PART", part, f"one of {', '.join(parts)}")
        sources = [s for s in sources if s.parent.name == part]
    if only:
        wanted = {notebooks.find(o) for o in only}
        sources = [s for s in sources if s in wanted]
    out: dict[str, list] = {"recorded": [], "up_to_date": [], "skipped": [], "failed": []}
    for src in sources:
        name = f"{src.parent.name}/{src.stem}"
        names = {p.name for p in notebooks.parameters(src)}
        overrides: dict[str, Any] = {"PROFILE": profile}
        if device != "auto" and "DEVICE" in names:
            overrides["DEVICE"] = device
        if data_root and "DATA_ROOT" in names:
            overrides["DATA_ROOT"] = str(data_root)
        try:
            params = notebooks.check_parameters(src, dict(overrides))
            notebooks.preflight(src, params)
        except FileNotFoundError as err:
            out["skipped"].append((name, f"data missing: {err}"))
            log(f"[reproduce] skip {name}: data missing ({str(err).split('. ')[0]})")
            continue
        except ValueError as err:
            out["skipped"].append((name, str(err)))
            log(f"[reproduce] skip {name}: {err}")
            continue
        path = record_path(src, profile, results)
        why = "" if force else up_to_date(path, src, params)
        if why:
            out["up_to_date"].append((name, why))
            log(f"[reproduce] up to date {name}: {why}")
            continue
        if dry_run:
            out["recorded"].append((name, "would run"))
            log(f"[reproduce] would run {name} -> {path}")
            continue
        log(f"[reproduce] running {name} ({profile}) ...")
        try:
            with tempfile.TemporaryDirectory(prefix="companion-reproduce-") as tmp:
                rec_path, rec = record_run(
                    src,
                    overrides,
                    output=Path(tmp) / src.with_suffix(".ipynb").name,
                    scorecard=False,
                    results=results,
                )
        except Exception as err:  # noqa: BLE001 - one failing chapter must not stop the others; reported below
            out["failed"].append((name, f"{type(err).__name__}: {err}"))
            log(f"[reproduce] FAILED {name}: {type(err).__name__}: {err}")
            continue
        secs = rec["provenance"]["wall_seconds"]
        out["recorded"].append(
            (name, f"{rec_path} ({secs:.1f} s on {rec['provenance']['device_name']})")
        )
        log(f"[reproduce] recorded {name} in {secs:.1f} s -> {rec_path}")
    return out
