"""Recorded runs: every glued value of an executed notebook, with provenance, as a small JSON file.

``python -m companion run NB --profile full --record`` writes ``results/<profile>/<part>/<NN_slug>.json``
(relative to the project root) and the glued figures as small PNGs beside it, in
``results/<profile>/<part>/<NN_slug>/<name>-<sha8>.png``. Records are committed (text-diffable);
executed notebooks stay build outputs. ``python -m companion verify RECORD`` re-executes the notebook
with the record's parameters and compares every value (:func:`compare_records`).

Schema (:data:`SCHEMA_VERSION`)::

    {"schema": 1, "notebook": "notebooks/<part>/<NN_slug>.py", "profile": "full", "parameters": {...},
     "values":  {name: {"kind": "int"|"float"|"str"|"bool"|"text", "value": ...}},
     "tables":  {name: {"rows": [[cell, ...], ...]}},          # header rows first, cells as text
     "figures": {name: {"file": "<NN_slug>/<name>-<sha8>.png", "sha256": ..., "width": ..., "height": ...}},
     "comparisons": [...],                                      # the ours-vs-paper rows (report.compare)
     "provenance": {"commit", "dirty", "code_sha256", "device", "device_name", "torch", "python",
                    "companion", "data": {file: sha256}, "wall_seconds", "date", "profile", "host_threads"}}

Non-finite floats are stored as the strings ``"nan"``, ``"inf"``, ``"-inf"``.

Files are written atomically (temporary file in the same folder, fsync, ``os.replace``); figures are
named by their content hash, so a crash mid-write leaves the previous record and its figures intact.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import html.parser
import io
import json
import math
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .config import bad_value, project_root

SCHEMA_VERSION = 1
REQUIRED_KEYS = ("schema", "notebook", "profile", "parameters", "values", "tables", "figures", "provenance")
REQUIRED_PROVENANCE = (
    "commit", "dirty", "code_sha256", "device", "device_name", "torch", "python", "companion", "data",
    "wall_seconds", "date", "profile",
)
FIGURE_MAX_WIDTH = 640  # px: figures are stored downscaled, for the record, not for print
DEFAULT_REL_TOL = 1e-6
MIME = "application/papermill.record/"


# --------------------------------------------------------------------------------------------
# Reading glued values out of an executed notebook
# --------------------------------------------------------------------------------------------

_NP_SCALAR = re.compile(r"^np\.(?:float|int|uint)\d*\((.*)\)$")
_NUMBER_TEXT = re.compile(r"^\s*([-+−]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?)\s*(%?)\s*$")


def _scalar(text: str) -> tuple[str, Any]:
    """``(kind, value)`` of a glued ``text/plain`` repr: int, float, bool, str, else 'text' (verbatim)."""
    t = text.strip()
    m = _NP_SCALAR.match(t)
    if m:
        t = m.group(1)
    if t in ("np.True_", "np.False_"):
        t = t[3:-1]
    if t in ("nan", "inf", "-inf"):
        return "float", float(t)
    try:
        v = ast.literal_eval(t)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return "text", text
    if isinstance(v, bool):
        return "bool", v
    if isinstance(v, int):
        return "int", v
    if isinstance(v, float):
        return "float", v
    if isinstance(v, str):
        return "str", v
    return "text", text


class _TableParser(html.parser.HTMLParser):
    """Rows of every ``<tr>`` (``th`` and ``td`` cells as text) of the first ``<table>``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.depth = 0
        self.done = False
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        if tag == "table":
            self.depth += 1
        elif tag == "tr" and self.depth:
            self.rows.append([])
        elif tag in ("td", "th") and self.depth and self.rows:
            self.cell = []

    def handle_endtag(self, tag):
        if self.done:
            return
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table" and self.depth:
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html_text: str) -> list[list[str]] | None:
    """The cells of the first HTML table in ``html_text`` (header rows first), or None without one."""
    p = _TableParser()
    p.feed(html_text)
    return p.rows if p.rows else None


def glued(notebook: Path) -> dict[str, dict]:
    """Every myst-nb glue output of an executed notebook: ``{'values', 'tables', 'images'}``.

    myst-nb's ``glue`` stores a ``display_data`` output whose metadata is ``{'scrapbook': {'name': ...,
    'mime_prefix': 'application/papermill.record/'}}`` and whose data are the value's mime bundle under
    that prefix. Scalars come from ``text/plain`` (Python repr); tables from ``text/html``; images
    from ``image/png`` (base64) or ``image/svg+xml``. A name glued twice keeps the last value.
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    values: dict[str, dict] = {}
    tables: dict[str, dict] = {}
    images: dict[str, tuple[str, bytes]] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if not meta or "name" not in meta:
                continue
            name = meta["name"]
            prefix = meta.get("mime_prefix", MIME)
            data = {k.removeprefix(prefix): v for k, v in out.get("data", {}).items()}
            for store in (values, tables, images):
                store.pop(name, None)
            if "image/png" in data:
                images[name] = ("png", base64.b64decode(data["image/png"]))
            elif "image/svg+xml" in data:
                svg = data["image/svg+xml"]
                images[name] = ("svg", ("".join(svg) if isinstance(svg, list) else svg).encode())
            elif "text/html" in data and (rows := table_rows("".join(data["text/html"]))) is not None:
                tables[name] = {"rows": rows}
            elif "text/plain" in data:
                kind, value = _scalar("".join(data["text/plain"]))
                values[name] = {"kind": kind, "value": value}
            elif "text/markdown" in data or "text/html" in data:
                text = data.get("text/markdown", data.get("text/html"))
                values[name] = {"kind": "text", "value": "".join(text)}
    return {"values": values, "tables": tables, "images": images}


def small_png(data: bytes, max_width: int = FIGURE_MAX_WIDTH) -> tuple[bytes, int, int]:
    """A PNG downscaled to at most ``max_width`` pixels wide (aspect kept), optimised. Returns
    ``(bytes, width, height)``."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im = im.convert("RGBA") if im.mode not in ("RGB", "RGBA", "L", "P") else im
        if im.width > max_width:
            im = im.resize((max_width, max(1, round(im.height * max_width / im.width))), Image.LANCZOS)
        if im.mode != "P":  # a 256-colour palette: line plots and heat maps lose nothing visible
            im = im.convert("RGBA").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
        return buf.getvalue(), im.width, im.height


# --------------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------------

def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def git_state(base: Path | None = None) -> tuple[str, bool]:
    """``(commit, dirty)`` of the project's git checkout; ``('unknown', True)`` outside one."""
    base = base or project_root()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=base, capture_output=True, text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=base, capture_output=True,
                                text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", True
    return commit, bool(status.strip())


def code_digest(notebook: Path, base: Path | None = None) -> str:
    """SHA-256 over the package's Python files and the notebook's source (paths and contents): with
    the commit, it says whether a record was made by the code now on disk, dirty tree included."""
    base = base or project_root()
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    nb = Path(notebook).resolve()
    for f in sorted(pkg.rglob("*.py")) + [nb]:
        label = f.relative_to(pkg.parent) if f.is_relative_to(pkg.parent) else (f.relative_to(base) if f.is_relative_to(base) else f.name)
        h.update(str(label).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def data_files(task: str, data_root: Path) -> list[Path]:
    """The files a task's data are read from (for their checksums in a record)."""
    from .data import embedded, full

    root = Path(data_root)
    if task in ("mnist5k", "mnist5k32"):
        return [embedded.mnist5k_path()]
    if task == "digits":
        import importlib.resources

        return [Path(str(importlib.resources.files("sklearn.datasets") / "data" / "digits.csv.gz"))]
    if task == "mnist":
        return [root / "MNIST" / "raw" / f for f in full.MNIST_FILES]
    if task == "cifar10":
        folder = root / "cifar-10-batches-py"
        return [folder / f"data_batch_{i}" for i in range(1, 6)] + [folder / "test_batch", folder / "batches.meta"]
    if task in ("cifar100", "cifar20"):
        return [root / "cifar-100-python" / f for f in ("train", "test", "meta")]
    if task == "pins":
        return sorted(p for p in (root / "105_classes_pins_dataset").rglob("*") if p.is_file())
    return []


def data_checksums(tasks: list[str], data_root: Path) -> dict[str, str]:
    """``{'<task>/<file>': sha256}`` for the files of ``tasks``; Pins' images as one digest over
    their sorted relative paths and contents (``'pins/105_classes_pins_dataset'``)."""
    out: dict[str, str] = {}
    for task in tasks:
        files = [f for f in data_files(task, data_root) if f.is_file()]
        if task == "pins" and files:
            h = hashlib.sha256()
            folder = Path(data_root) / "105_classes_pins_dataset"
            for f in files:
                h.update(f.relative_to(folder).as_posix().encode())
                h.update(bytes.fromhex(sha256_file(f)))
            out["pins/105_classes_pins_dataset"] = h.hexdigest()
            continue
        for f in files:
            out[f"{task}/{f.name}"] = sha256_file(f)
    return out


def device_info(params: dict[str, Any]) -> tuple[str, str]:
    """``(device, name)`` the notebook ran on: its resolved DEVICE and the GPU's (or CPU's) name."""
    import platform

    import torch

    from .config import resolve_device

    device = resolve_device(params.get("DEVICE", "auto"), params.get("PROFILE", "quick"))
    if device.startswith("cuda"):
        index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
        return device, torch.cuda.get_device_name(index)
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return device, f"{name} ({os.cpu_count()} cores)"


def code_state(notebook: Path) -> dict:
    """The commit, whether the tree is dirty and the package+notebook digest, *now*: taken before a run
    starts, so a record names the code that ran even when the tree changes while it runs."""
    commit, dirty = git_state()
    return {"commit": commit, "dirty": dirty, "code_sha256": code_digest(notebook)}


def provenance(notebook: Path, params: dict[str, Any], wall_seconds: float, tasks: list[str], data_root: Path,
               code: dict | None = None) -> dict:
    """Provenance of a run; ``code`` is :func:`code_state` taken before it started (default: now)."""
    import datetime
    import platform

    import torch

    from . import __version__

    code = code or code_state(notebook)
    device, name = device_info(params)
    return {
        "commit": code["commit"], "dirty": code["dirty"], "code_sha256": code["code_sha256"], "device": device,
        "device_name": name,
        "torch": torch.__version__, "python": platform.python_version(), "companion": __version__,
        "data": data_checksums(tasks, data_root), "wall_seconds": round(float(wall_seconds), 3),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "profile": params.get("PROFILE", "quick"), "threads": torch.get_num_threads(),
    }


# --------------------------------------------------------------------------------------------
# Writing and reading
# --------------------------------------------------------------------------------------------

def results_root() -> Path:
    """``results/`` in the project root: where records are committed."""
    return project_root() / "results"


def record_path(notebook: Path, profile: str, results: Path | None = None) -> Path:
    """``<results>/<profile>/<part>/<NN_slug>.json`` (``results`` defaults to :func:`results_root`)."""
    nb = Path(notebook)
    return Path(results or results_root()) / profile / nb.parent.name / f"{nb.stem}.json"


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, fsync, then
    ``os.replace``; on any failure the temporary file is removed and ``path`` is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make committed records private
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _encode_value(v: dict) -> dict:
    x = v["value"]
    if v["kind"] == "float" and isinstance(x, float) and not math.isfinite(x):
        return {"kind": "float", "value": repr(x)}
    return v


def _decode_value(v: dict) -> dict:
    if v.get("kind") == "float" and isinstance(v.get("value"), str):
        return {"kind": "float", "value": float(v["value"])}
    return v


def build_record(executed: Path, notebook: Path, params: dict[str, Any], wall_seconds: float, tasks: list[str],
                 data_root: Path, comparisons: list[dict] | None = None,
                 code: dict | None = None) -> tuple[dict, dict[str, tuple[str, bytes]]]:
    """The record of one executed notebook and its figures (``{name: (ext, bytes)}``, not yet written)."""
    base = project_root()
    nb = Path(notebook).resolve()
    g = glued(executed)
    rec = {
        "schema": SCHEMA_VERSION,
        "notebook": nb.relative_to(base).as_posix() if nb.is_relative_to(base) else nb.name,
        "profile": params.get("PROFILE", "quick"),
        "parameters": dict(params),
        "values": g["values"],
        "tables": g["tables"],
        "figures": {},
        "comparisons": comparisons or [],
        "provenance": provenance(nb, params, wall_seconds, tasks, data_root, code),
    }
    return rec, g["images"]


def write_record(record: dict, path: Path, images: dict[str, tuple[str, bytes]] | None = None) -> Path:
    """Write ``record`` (and its figures, downscaled PNGs or SVGs) atomically to ``path``.

    Figures go to ``<path without .json>/<name>-<sha8>.<ext>`` first (content-addressed, so the old
    record's figures are never overwritten), then the JSON replaces the old record in one
    ``os.replace``, then figure files no longer referenced are removed.
    """
    path = Path(path)
    folder = path.with_suffix("")
    record = dict(record)
    record["figures"] = dict(record.get("figures", {}))
    for name, (ext, data) in sorted((images or {}).items()):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        width = height = None
        if ext == "png":
            data, width, height = small_png(data)
        digest = hashlib.sha256(data).hexdigest()
        file = folder / f"{safe}-{digest[:8]}.{ext}"
        if not (file.is_file() and sha256_file(file) == digest):
            _atomic_write(file, data)
        record["figures"][name] = {"file": file.relative_to(path.parent).as_posix(), "sha256": digest,
                                   "width": width, "height": height}
    record["values"] = {k: _encode_value(v) for k, v in record["values"].items()}
    missing = _missing(record)
    if missing:
        raise ValueError(f"record for {record.get('notebook', '?')} is missing {missing}; refusing to write it")
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False, default=_json_default) + "\n"
    _atomic_write(path, text.encode())
    keep = {path.parent / f["file"] for f in record["figures"].values()}
    if folder.is_dir():
        for f in folder.iterdir():
            if f.is_file() and f not in keep and not f.name.startswith("."):
                f.unlink()
    return path


def _json_default(x):
    if hasattr(x, "item"):  # numpy / torch scalars
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")


def _missing(record: dict) -> str:
    """What a record lacks, as text ('' when complete)."""
    if not isinstance(record, dict):
        return "everything (not a JSON object)"
    keys = [k for k in REQUIRED_KEYS if k not in record]
    if keys:
        return "keys " + ", ".join(keys)
    prov = record["provenance"]
    if not isinstance(prov, dict):
        return "provenance (not an object)"
    pk = [k for k in REQUIRED_PROVENANCE if k not in prov]
    return ("provenance keys " + ", ".join(pk)) if pk else ""


def read_record(path: Path) -> dict:
    """Load and validate a record: JSON, schema version, required keys and provenance, and every
    figure file present with its SHA-256. Raises ``ValueError`` naming what is missing or wrong."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"record={str(path)!r} is not allowed: expected a JSON record ({err})") from None
    if not isinstance(record, dict) or "schema" not in record:
        raise ValueError(f"record={str(path)!r} is not allowed: it is missing the schema version (key 'schema')")
    if record["schema"] != SCHEMA_VERSION:
        raise ValueError(f"record={str(path)!r} is not allowed: expected schema {SCHEMA_VERSION}, found {record['schema']!r}")
    missing = _missing(record)
    if missing:
        raise ValueError(f"record={str(path)!r} is not allowed: it is missing {missing}")
    for name, fig in record["figures"].items():
        file = path.parent / fig["file"]
        if not file.is_file() or sha256_file(file) != fig["sha256"]:
            raise ValueError(f"record={str(path)!r} is not allowed: figure {name!r} ({file}) is missing or modified")
    record["values"] = {k: _decode_value(v) for k, v in record["values"].items()}
    return record


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
        m = _NUMBER_TEXT.match(x)
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
        x, y = _as_number(a), _as_number(b)  # formatted numbers ('94.4%') within the float tolerance
        if x is not None and y is not None:
            return _close(x, y, rel), f"as numbers, rel tol {rel:g}"
    if rec["kind"] != new["kind"]:
        return False, f"kind {rec['kind']} vs {new['kind']}"
    return a == b, "exact"


def compare_records(recorded: dict, fresh: dict, tolerances: dict[str, float] | None = None) -> list[dict]:
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
            rows.append({"name": name, "what": "value", "recorded": rv.get(name, {}).get("value"),
                         "fresh": fv.get(name, {}).get("value"), "ok": False,
                         "rule": "missing in the fresh run" if name not in fv else "not in the record"})
            continue
        ok, rule = _compare_scalar(rv[name], fv[name], tolerance_of(name, tolerances))
        rows.append({"name": name, "what": "value", "recorded": rv[name]["value"], "fresh": fv[name]["value"],
                     "ok": ok, "rule": rule})
    rt, ft = recorded.get("tables", {}), fresh.get("tables", {})
    for name in sorted(set(rt) | set(ft)):
        if name not in ft or name not in rt:
            rows.append({"name": name, "what": "table", "recorded": "(table)" if name in rt else None,
                         "fresh": "(table)" if name in ft else None, "ok": False,
                         "rule": "missing in the fresh run" if name not in ft else "not in the record"})
            continue
        a, b = rt[name]["rows"], ft[name]["rows"]
        rel = tolerance_of(name, tolerances)
        if [len(r) for r in a] != [len(r) for r in b]:
            rows.append({"name": name, "what": "table", "recorded": f"{len(a)} rows", "fresh": f"{len(b)} rows",
                         "ok": False, "rule": "shape"})
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
                rows.append({"name": f"{name}[{i},{j}]", "what": "table cell", "recorded": ca, "fresh": cb, "ok": False,
                             "rule": f"cells equal or numbers within rel tol {rel:g}"})
        else:
            rows.append({"name": name, "what": "table", "recorded": "(table)", "fresh": "(table)", "ok": True,
                         "rule": f"cells equal or numbers within rel tol {rel:g}"})
    return rows


def format_mismatches(rows: list[dict]) -> str:
    """A plain-text table of the rows that do not match."""
    bad = [r for r in rows if not r["ok"]]
    if not bad:
        return ""
    cols = ("name", "recorded", "fresh", "rule")
    cells = [[str(r[c]) if len(str(r[c])) <= 40 else str(r[c])[:37] + "..." for c in cols] for r in bad]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Running: record, verify, reproduce
# --------------------------------------------------------------------------------------------

def _data_root(params: dict[str, Any]) -> Path:
    from .config import default_data_root

    return Path(params.get("DATA_ROOT") or default_data_root())


def record_run(source: Path, overrides: dict[str, Any], output: Path | None = None, scorecard: bool = True,
               results: Path | None = None) -> tuple[Path, dict]:
    """Execute ``source`` with ``overrides`` and write its record (see the module docstring).

    ``output``: where the executed notebook goes (default: next to the source, as ``run`` does).
    ``scorecard=False`` leaves the scorecard's cached rows for this notebook as they were (a FULL run
    made by ``reproduce`` must not replace the QUICK rows the book shows); its rows are kept in the
    record's ``comparisons`` either way. Returns ``(record path, record)``.
    """
    from . import notebooks
    from .report import scorecard_file

    src = Path(source).resolve()
    params = notebooks.check_parameters(src, dict(overrides))
    shape = notebooks.preflight(src, params)  # missing data or a bad request stops here, before a kernel
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
                _atomic_write(sc, backup)
    rec, images = build_record(Path(res["output"]), src, res["parameters"], res["seconds"], shape["tasks"],
                               _data_root(res["parameters"]), comparisons, code)
    path = write_record(rec, record_path(src, rec["profile"], results), images)
    return path, read_record(path)


def verify(record_file: Path, tolerances: dict[str, float] | None = None, overrides: dict[str, Any] | None = None) -> dict:
    """Re-execute a record's notebook with its parameters (updated by ``overrides``) into a temporary
    folder and compare every value. Returns ``{'rows', 'ok', 'record', 'seconds', 'device'}``."""
    from . import notebooks

    rec = read_record(record_file)
    src = notebooks.find(rec["notebook"])
    params = {k: v for k, v in rec["parameters"].items()} | dict(overrides or {})
    params = notebooks.check_parameters(src, params)
    with tempfile.TemporaryDirectory(prefix="companion-verify-") as tmp:
        res = notebooks.execute(src, params, output=Path(tmp) / src.with_suffix(".ipynb").name, record=False)
        fresh = glued(res["output"])
    device, name = device_info(params)
    rows = compare_records(rec, fresh, tolerances)
    return {"rows": rows, "ok": all(r["ok"] for r in rows), "record": rec, "seconds": res["seconds"],
            "device": device, "device_name": name}


def _plain(x: Any) -> Any:
    return json.loads(json.dumps(x, default=_json_default))


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


def reproduce(part: str | None = None, only: list[str] | None = None, profile: str = "full", device: str = "auto",
              data_root: str | None = None, dry_run: bool = False, force: bool = False,
              results: Path | None = None, log=print) -> dict[str, list]:
    """Run and record every chapter (of ``part``, or the ``only`` ones) in ``profile`` whose data are
    present; skip a chapter whose record is up to date (:func:`up_to_date`) unless ``force``.

    Each chapter is checked first (parameters, CUDA, data: ``notebooks.check_parameters`` and
    ``notebooks.preflight``); a chapter that cannot run here is skipped with the reason. Executed
    notebooks go to a temporary folder (the book's QUICK pages stay). Returns ``{'recorded',
    'up_to_date', 'skipped', 'failed'}``, each a list of ``(chapter, detail)``.
    """
    from . import notebooks
    from .config import validate_param

    validate_param("PROFILE", profile)
    sources = [s for s in notebooks.chapters() if s.parent.name != "back"]  # back/: the scorecard page reads records
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
                rec_path, rec = record_run(src, overrides, output=Path(tmp) / src.with_suffix(".ipynb").name,
                                           scorecard=False, results=results)
        except Exception as err:  # noqa: BLE001 - one failing chapter must not stop the others; reported below
            out["failed"].append((name, f"{type(err).__name__}: {err}"))
            log(f"[reproduce] FAILED {name}: {type(err).__name__}: {err}")
            continue
        secs = rec["provenance"]["wall_seconds"]
        out["recorded"].append((name, f"{rec_path} ({secs:.1f} s on {rec['provenance']['device_name']})"))
        log(f"[reproduce] recorded {name} in {secs:.1f} s -> {rec_path}")
    return out
