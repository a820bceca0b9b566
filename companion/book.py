"""Building the book: ``jupyter-book build . -W`` for the instructor or the student edition, with
the repository its buttons point at, and a report of the notebooks whose execution failed.

The chapters are executed by :mod:`companion.notebooks`; Jupyter Book only renders them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .config import bad_value, project_root
from .notebooks import NotebookError
from .provenance import commit_label

EDITIONS = ("instructor", "student")


def resolve_repository(repository: str | None = None, base: Path | None = None) -> str:
    """The GitHub ``owner/name`` the book links to: ``repository``, else ``COMPANION_REPOSITORY``,
    else ``GITHUB_REPOSITORY`` (GitHub Actions), else the ``origin`` remote when it is on
    github.com, else ``''`` (the book is then built without repository and launch buttons)."""
    repo = (
        repository
        or os.environ.get("COMPANION_REPOSITORY")
        or os.environ.get("GITHUB_REPOSITORY")
        or ""
    )
    if not repo:
        try:
            out = subprocess.run(
                ["git", "remote", "get-url", "origin"],
                cwd=base or project_root(),
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        m = (
            re.search(r"github\.com[:/]([^/\s]+/[^/\s]+?)(?:\.git)?/?$", out.stdout.strip())
            if out.returncode == 0
            else None
        )
        return m.group(1) if m else ""
    repo = repo.strip().removeprefix("https://github.com/").removesuffix(".git").strip("/")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo):
        raise bad_value(
            "repository", repo, "a GitHub 'owner/name' (e.g. the value of GITHUB_REPOSITORY)"
        )
    return repo


def html_dir(edition: str = "instructor", base: Path | None = None) -> Path:
    """Where :func:`build_book` writes an edition's HTML: ``_build/html`` or
    ``_build/student/_build/html``."""
    base = base or project_root()
    return (
        base / "_build" / "html"
        if edition == "instructor"
        else base / "_build" / edition / "_build" / "html"
    )


def failure_report(base: Path | None = None) -> str:
    """A Markdown report of every ``*.failed.ipynb`` left by :func:`execute`: the notebook, the
    failing cell (its number, the start of its source) and the error; ``''`` when nothing failed."""
    import nbformat

    base = base or project_root()
    lines = []
    for path in sorted((base / "notebooks").rglob("*.failed.ipynb")):
        nb = nbformat.read(path, as_version=4)
        lines.append(f"### `{path.relative_to(base).as_posix()}`")
        for i, cell in enumerate(nb.cells):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if not errors:
                continue
            err = errors[0]
            src = "\n".join(cell.source.splitlines()[:15])
            lines += [
                f"Cell {cell.get('execution_count')} (cell index {i}) raised `{err.ename}: "
                f"{err.evalue}`",
                "",
                "```python",
                src,
                "```",
                "",
            ]
            break
        else:
            lines += ["No cell holds an error output (the kernel died or timed out).", ""]
    return "\n".join(lines)


def build_book(
    base: Path | None = None,
    builder: str = "html",
    edition: str = "instructor",
    repository: str | None = None,
) -> Path:
    """``jupyter-book build . -W`` (warnings are errors); returns the HTML folder.

    ``edition='student'`` removes the exercise solutions and builds into ``_build/student``, so both
    editions can exist side by side. ``repository`` (``owner/name``, see :func:`resolve_repository`)
    is what the repository, issues and launch buttons point at; book/_ext/companion_book.py applies
    both.
    """
    base = base or project_root()
    if edition not in EDITIONS:
        raise bad_value("edition", edition, f"one of {', '.join(EDITIONS)}")
    repo = resolve_repository(repository, base)
    env = dict(
        os.environ,
        COMPANION_EDITION=edition,
        COMPANION_REPOSITORY=repo,
        COMPANION_COMMIT=commit_label(base),
    )
    if not repo:
        print(
            "[book] no GitHub repository (pass --repository owner/name or set "
            "COMPANION_REPOSITORY): "
            "the repository and launch buttons are left out",
            flush=True,
        )
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [
        str(exe) if exe.exists() else "jupyter-book",
        "build",
        str(base),
        "-W",
        "--keep-going",
        "--builder",
        builder,
    ]
    if edition != "instructor":
        cmd += ["--path-output", str(base / "_build" / edition)]
    res = subprocess.run(cmd, cwd=base, env=env)
    if res.returncode != 0:
        raise NotebookError(
            f"jupyter-book build failed (exit {res.returncode}); see the warnings above"
        )
    return html_dir(edition, base)
