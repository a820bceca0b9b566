"""The notebook pipeline: discover chapters, read their parameters, execute them with papermill.

``notebooks/<part>/NN_slug.py`` (jupytext py:percent) --papermill--> ``NN_slug.ipynb`` next to it,
which Jupyter Book renders without executing (``execute_notebooks: off``). A notebook is executed to
a temporary file and renamed into place only when every cell succeeded, so the book never renders a
failed or half-executed page.
"""

from __future__ import annotations

import ast
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import PARAMETERS, bad_value, project_root, validate_params
from .preflight import SETTING_CALLS, preflight  # noqa: F401  (re-exported)
from .provenance import commit_label

INJECTED_TAGS = ["injected-parameters", "hide-input"]


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    type: type

    def describe(self) -> str:
        rule = PARAMETERS.get(self.name)
        allowed = f" ({rule.allowed})" if rule and rule.allowed else ""
        return f"{self.name} = {self.default!r} [{self.type.__name__}]{allowed}"


class NotebookError(RuntimeError):
    """A notebook raised while executing; the message names the notebook and the cell."""


def root() -> Path:
    """The book's root (the folder holding ``_toc.yml``); see
    :func:`companion.config.project_root`."""
    return project_root()


def toc_files(base: Path | None = None) -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` in order (without extension), plus the root."""
    base = base or root()
    text = (base / "_toc.yml").read_text()
    files = re.findall(r"^\s*root:\s*(\S+)", text, flags=re.M)
    files += re.findall(r"^\s*-?\s*file:\s*(\S+)", text, flags=re.M)
    return files


def chapters(base: Path | None = None) -> list[Path]:
    """The notebook sources the book uses, in table-of-contents order."""
    base = base or root()
    return [base / f"{f}.py" for f in toc_files(base) if f.startswith("notebooks/")]


def all_sources(base: Path | None = None) -> list[Path]:
    base = base or root()
    return sorted(p for p in (base / "notebooks").rglob("[0-9][0-9]_*.py"))


def find(name: str, base: Path | None = None) -> Path:
    """Resolve a notebook given as a path (.py or .ipynb), ``part/NN_slug`` or ``NN_slug``."""
    base = base or root()
    p = Path(name)
    for cand in (p, base / p):
        if cand.suffix in (".py", ".ipynb") and cand.with_suffix(".py").exists():
            return cand.with_suffix(".py").resolve()
    stem = p.with_suffix("").as_posix().removeprefix("notebooks/")
    hits = [s for s in all_sources(base) if s.with_suffix("").as_posix().endswith(stem)]
    if len(hits) == 1:
        return hits[0]
    known = ", ".join(
        s.relative_to(base / "notebooks").with_suffix("").as_posix() for s in all_sources(base)
    )
    raise bad_value(
        "notebook",
        name,
        f"one of {known}" if not hits else f"an unambiguous name (matches {len(hits)})",
    )


def parameters(source: Path) -> list[Param]:
    """The parameters cell of a notebook: UPPER_CASE literal assignments, in order."""
    import jupytext

    nb = jupytext.read(source)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(
            f"{source} must have exactly one cell tagged 'parameters', found {len(cells)}"
        )
    out = []
    for node in ast.parse(cells[0].source).body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            raise ValueError(
                f"{source}: the parameters cell may hold only NAME = literal assignments"
            )
        name = node.targets[0].id
        if not name.isupper():
            raise ValueError(f"{source}: parameter {name!r} must be UPPER_CASE")
        value = ast.literal_eval(node.value)
        out.append(Param(name, value, type(value)))
    return out


def parse_value(param: Param, text: str) -> Any:
    """Turn a command-line string into a value of the parameter's type, or raise ``ValueError``."""
    if param.type is str:
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise bad_value(param.name, text, f"a {param.type.__name__} literal") from None
    if param.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not param.type:
        raise bad_value(
            param.name,
            text,
            f"a value of type {param.type.__name__} (the default is {param.default!r})",
        )
    return value


def parse_overrides(source: Path, pairs) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs from the command line as typed values of ``source``'s parameters;
    an unknown name or a value of the wrong type raises ``ValueError``."""
    params = {p.name: p for p in parameters(source)}
    overrides = {}
    for name, value in pairs:
        if name not in params:
            raise ValueError(
                f"unknown parameter {name!r} for {source.name}: its parameters are "
                f"{', '.join(params)}."
            )
        overrides[name] = parse_value(params[name], value)
    return overrides


def check_parameters(source: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Validate overrides (typed values) for ``source``: names, types and allowed values.

    Returns the full parameter set (defaults updated with the overrides).
    """
    params = {p.name: p for p in parameters(source)}
    for name, value in overrides.items():
        if name not in params:
            raise ValueError(
                f"unknown parameter {name!r} for {source.name}: its parameters are "
                f"{', '.join(params)}."
            )
        if params[name].type is float and isinstance(value, int) and not isinstance(value, bool):
            overrides[name] = float(value)
        elif type(value) is not params[name].type:
            raise bad_value(name, value, f"a value of type {params[name].type.__name__}")
    merged = {name: p.default for name, p in params.items()} | overrides
    validate_params(merged, set(params))
    from .config import resolve_device

    # FULL without CUDA: refuse before a kernel starts
    if "PROFILE" in merged and "DEVICE" in merged:
        resolve_device(merged["DEVICE"], merged["PROFILE"])
    return merged


# Calls of a chapter's resolve cell that say, cheaply, which task, architecture and forget request
# the chapter will run: ``config.pick`` (a TASK/ARCH default per profile), the JiT tables' setting
# and the digit-removal protocol's config. Their results are checked against the task's shape.


def execute(
    source: Path,
    overrides: dict[str, Any] | None = None,
    output: Path | None = None,
    log_output: bool = False,
    record: bool = True,
) -> dict:
    """Execute one notebook with papermill; returns ``{'output', 'seconds', 'parameters'}``.

    ``record=False`` runs it without touching the scorecard records (a variant run, a test).

    Raises :class:`NotebookError` naming the notebook and the failing cell.
    """
    import jupytext
    import nbformat
    import papermill as pm

    source = Path(source).resolve()
    params = check_parameters(source, dict(overrides or {}))
    if overrides:
        preflight(source, params)
    output = Path(output) if output else source.with_suffix(".ipynb")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.running.ipynb")
    failed = output.with_name(f"{output.stem}.failed.ipynb")
    if output.exists() and output.resolve() == source.with_suffix(".ipynb"):
        output.unlink()  # never leave a stale page behind a failing run
    start = time.perf_counter()
    base = root()
    env_backup = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(base) + (os.pathsep + env_backup if env_backup else "")
    from .report import SCORECARD_ENV, scorecard_file

    rel = source.relative_to(base).as_posix() if source.is_relative_to(base) else source.name
    if record:
        scorecard_file(rel).unlink(missing_ok=True)  # this run's comparisons replace the last run's
        os.environ[SCORECARD_ENV] = rel
    else:
        os.environ.pop(SCORECARD_ENV, None)
    try:
        pm.execute_notebook(
            jupytext.read(source),
            str(tmp),
            parameters=params,
            kernel_name="python3",
            cwd=str(base),
            progress_bar=False,
            log_output=log_output,
            report_mode=False,
        )
    except pm.PapermillExecutionError as err:
        os.replace(tmp, failed)
        raise NotebookError(
            f"{source.relative_to(base) if source.is_relative_to(base) else source} failed in cell "
            f"{err.exec_count} "
            f"(cell index {err.cell_index}): {err.ename}: {err.evalue}. The failed notebook is in "
            f"{failed}."
        ) from None
    finally:
        os.environ.pop(SCORECARD_ENV, None)
        if env_backup is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_backup
    nb = nbformat.read(tmp, as_version=4)
    # the page footer shows it (book/_ext/companion_book.py)
    nb.metadata["companion"] = {"commit": commit_label(base)}
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags:
            cell["metadata"]["tags"] = list(dict.fromkeys(tags + INJECTED_TAGS))
    nbformat.write(nb, tmp)
    os.replace(tmp, output)
    if failed.exists():
        failed.unlink()
    return {"output": output, "seconds": time.perf_counter() - start, "parameters": params}


def _worker_init(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)


def _execute_one(args: tuple[Path, dict]) -> tuple[str, float]:
    src, overrides = args
    rel = src.relative_to(root()).as_posix() if src.is_relative_to(root()) else str(src)
    print(f"[papermill] {rel} ...", flush=True)
    res = execute(src, overrides)
    print(f"[papermill] {rel} done in {res['seconds']:.1f} s", flush=True)
    return rel, res["seconds"]


def execute_all(
    sources: list[Path], overrides: dict[str, Any], jobs: int = 1
) -> list[tuple[str, float]]:
    """Execute ``sources`` (``jobs`` at a time); raise :class:`NotebookError` listing every
    failure."""
    # the scorecard reads the others' records
    last = [s for s in sources if "notebooks/back/" in s.as_posix()]
    first = [s for s in sources if s not in last]
    if jobs <= 1:
        return [_execute_one((s, dict(overrides))) for s in first + last]
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // jobs)
    results, errors = [], []
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_worker_init, initargs=(threads,)
    ) as pool:
        futures = [pool.submit(_execute_one, (s, dict(overrides))) for s in first]
        for fut in futures:
            try:
                results.append(fut.result())
            except NotebookError as err:
                errors.append(str(err))
    for s in last:
        try:
            results.append(_execute_one((s, dict(overrides))))
        except NotebookError as err:
            errors.append(str(err))
    if errors:
        raise NotebookError(f"{len(errors)} notebook(s) failed:\n" + "\n".join(errors))
    return results
