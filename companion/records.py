"""Recorded runs: every glued value of an executed notebook, with provenance, as a small JSON file.

``python -m companion run NB --profile full --record`` writes ``results/<profile>/<part>/<NN_slug>``
``.json`` and the glued figures as small PNGs in ``<NN_slug>/<name>-<sha8>.png`` beside it. Records
are committed (text-diffable); executed notebooks stay build outputs.
``python -m companion verify RECORD`` re-executes the notebook with the record's parameters and
compares every value (:func:`compare_records`).

Schema (:data:`SCHEMA_VERSION`)::

    {"schema": 1, "notebook": "notebooks/<part>/<NN_slug>.py", "profile": "full",
     "parameters": {...},
     "values":  {name: {"kind": "int"|"float"|"str"|"bool"|"text", "value": ...}},
     "tables":  {name: {"rows": [[cell, ...], ...]}},     # header rows first, cells as text
     "figures": {name: {"file": "<NN_slug>/<name>-<sha8>.png", "sha256": ...,
                        "width": ..., "height": ...}},
     "comparisons": [...],                                 # the ours-vs-paper rows (report.compare)
     "provenance": {"commit", "dirty", "code_sha256", "device", "device_name", "torch", "python",
                    "companion", "data": {file: sha256}, "wall_seconds", "date", "profile",
                    "host_threads"}}

Non-finite floats are stored as the strings ``"nan"``, ``"inf"``, ``"-inf"``. Files are written
atomically (temporary file in the same folder, fsync, ``os.replace``); figures are
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
import tempfile
from pathlib import Path
from typing import Any

from .config import project_root
from .provenance import provenance, sha256_file
from .report import GLUE_MIME as MIME

SCHEMA_VERSION = 1
REQUIRED_KEYS = (
    "schema",
    "notebook",
    "profile",
    "parameters",
    "values",
    "tables",
    "figures",
    "provenance",
)
REQUIRED_PROVENANCE = (
    "commit",
    "dirty",
    "code_sha256",
    "device",
    "device_name",
    "torch",
    "python",
    "companion",
    "data",
    "wall_seconds",
    "date",
    "profile",
)
FIGURE_MAX_WIDTH = 640  # px: figures are stored downscaled, for the record, not for print
DEFAULT_REL_TOL = 1e-6


class RecordError(RuntimeError):
    """A run that cannot be recorded faithfully (nothing is written)."""


# --------------------------------------------------------------------------------------------
# Reading glued values out of an executed notebook
# --------------------------------------------------------------------------------------------

_NP_SCALAR = re.compile(r"^np\.(?:float|int|uint)\d*\((.*)\)$")
NUMBER_TEXT = re.compile(r"^\s*([-+−]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?)\s*(%?)\s*$")


def _scalar(text: str) -> tuple[str, Any]:
    """``(kind, value)`` of a glued ``text/plain`` repr: int, float, bool, str, else 'text'
    (verbatim)."""
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
    """The cells of the first HTML table in ``html_text`` (header rows first), or None without
    one."""
    p = _TableParser()
    p.feed(html_text)
    return p.rows if p.rows else None


def glued(notebook: Path) -> dict[str, dict]:
    """Every myst-nb glue output of an executed notebook: ``{'values', 'tables', 'images'}``.

    myst-nb's ``glue`` stores a ``display_data`` output whose metadata is
    ``{'scrapbook': {'name': ..., 'mime_prefix': 'application/papermill.record/'}}`` and whose data
    are the value's mime bundle under that prefix. Scalars come from ``text/plain`` (Python repr);
    tables from ``text/html``; images from ``image/png`` (base64) or ``image/svg+xml``. A name glued
    twice keeps the last value.
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
            elif (
                "text/html" in data and (rows := table_rows("".join(data["text/html"]))) is not None
            ):
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
            im = im.resize(
                (max_width, max(1, round(im.height * max_width / im.width))), Image.LANCZOS
            )
        if im.mode != "P":  # a 256-colour palette: line plots and heat maps lose nothing visible
            im = im.convert("RGBA").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
        return buf.getvalue(), im.width, im.height


# --------------------------------------------------------------------------------------------
# Writing and reading
# --------------------------------------------------------------------------------------------


def results_root() -> Path:
    """``results/`` in the project root: where records are committed."""
    return project_root() / "results"


def record_path(notebook: Path, profile: str, results: Path | None = None) -> Path:
    """``<results>/<profile>/<part>/<NN_slug>.json`` (``results`` defaults to
    :func:`results_root`)."""
    nb = Path(notebook)
    return Path(results or results_root()) / profile / nb.parent.name / f"{nb.stem}.json"


def atomic_write(path: Path, data: bytes) -> None:
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


def build_record(
    executed: Path,
    notebook: Path,
    params: dict[str, Any],
    wall_seconds: float,
    tasks: list[str],
    data_root: Path,
    comparisons: list[dict] | None = None,
    code: dict | None = None,
) -> tuple[dict, dict[str, tuple[str, bytes]]]:
    """The record of one executed notebook and its figures (``{name: (ext, bytes)}``, not yet
    written)."""
    base = project_root()
    nb = Path(notebook).resolve()
    g = glued(executed)
    if not (g["values"] or g["tables"] or g["images"]) and "glue(" in nb.read_text(
        encoding="utf-8"
    ):
        raise RecordError(
            f"{nb.name}: the executed notebook holds no glued value although its source glues "
            "some (were myst-nb's glue outputs lost?); no record written"
        )
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


def write_record(
    record: dict, path: Path, images: dict[str, tuple[str, bytes]] | None = None
) -> Path:
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
            atomic_write(file, data)
        record["figures"][name] = {
            "file": file.relative_to(path.parent).as_posix(),
            "sha256": digest,
            "width": width,
            "height": height,
        }
    record["values"] = {k: _encode_value(v) for k, v in record["values"].items()}
    missing = _missing(record)
    if missing:
        raise ValueError(
            f"record for {record.get('notebook', '?')} is missing {missing}; refusing to write it"
        )
    text = (
        json.dumps(record, indent=1, sort_keys=True, allow_nan=False, default=json_default) + "\n"
    )
    atomic_write(path, text.encode())
    keep = {path.parent / f["file"] for f in record["figures"].values()}
    if folder.is_dir():
        for f in folder.iterdir():
            if f.is_file() and f not in keep and not f.name.startswith("."):
                f.unlink()
    return path


def json_default(x):
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
        raise ValueError(
            f"record={str(path)!r} is not allowed: expected a JSON record ({err})"
        ) from None
    if not isinstance(record, dict) or "schema" not in record:
        raise ValueError(
            f"record={str(path)!r} is not allowed: it is missing the schema version (key 'schema')"
        )
    if record["schema"] != SCHEMA_VERSION:
        raise ValueError(
            f"record={str(path)!r} is not allowed: expected schema {SCHEMA_VERSION}, found "
            f"{record['schema']!r}"
        )
    missing = _missing(record)
    if missing:
        raise ValueError(f"record={str(path)!r} is not allowed: it is missing {missing}")
    for name, fig in record["figures"].items():
        file = path.parent / fig["file"]
        if not file.is_file() or sha256_file(file) != fig["sha256"]:
            raise ValueError(
                f"record={str(path)!r} is not allowed: figure {name!r} ({file}) is missing or "
                f"modified"
            )
    record["values"] = {k: _decode_value(v) for k, v in record["values"].items()}
    return record
