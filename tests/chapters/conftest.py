"""Execute chapters with non-default seeds and parameter values.

A chapter's assertions must hold for every allowed parameter value, not only the defaults. Each
part lists a few variants (small settings are fine) in a ``VARIANTS`` dict in
``tests/chapters/test_variants_<part>.py`` (one file per part, so pytest-xdist spreads them);
:func:`pytest_generate_tests` turns each into a ``(chapter, params)`` case and ``run_variant``
executes the chapter with papermill into a temporary folder, so the build's executed notebooks and
the scorecard records are never touched.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from companion import notebooks


def pytest_generate_tests(metafunc):
    """Parametrize a test that asks for ``chapter`` and ``params`` with its module's
    ``VARIANTS``."""
    if {"chapter", "params"} <= set(metafunc.fixturenames):
        variants = getattr(metafunc.module, "VARIANTS", {})
        cases = [(c, p) for c, ps in variants.items() for p in ps]
        ids = [f"{c}-" + "-".join(f"{k}={x}" for k, x in p.items()) for c, p in cases]
        metafunc.parametrize(("chapter", "params"), cases, ids=ids)


@pytest.fixture
def run_variant(tmp_path):
    """``run_variant(chapter, params)`` executes a chapter variant (see the module docstring)."""
    return lambda chapter, params: _run(chapter, params, tmp_path)


def _run(chapter: str, params: dict, tmp_path: Path) -> Path:
    """Execute ``chapter`` (``part/NN_slug``) with ``params``; return the executed notebook.

    Raises :class:`companion.notebooks.NotebookError` naming the failing cell.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    src = notebooks.find(chapter)
    out = tmp_path / f"{src.stem}.ipynb"
    res = notebooks.execute(src, dict(params), output=out, record=False)
    return Path(res["output"])
