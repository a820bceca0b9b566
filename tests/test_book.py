"""Checks of the built book (after `make book`; `make test` always builds it first)."""

from pathlib import Path

import pytest

from companion import notebooks

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"

pytestmark = pytest.mark.skipif(not (HTML / "index.html").exists(), reason="the book has not been built (run `make book`)")


@pytest.mark.parametrize("src", notebooks.chapters(ROOT), ids=lambda p: p.stem)
def test_chapter_page_rendered_with_outputs_and_parameters(src):
    page = HTML / src.relative_to(ROOT).with_suffix(".html")
    html = page.read_text()
    assert "Traceback (most recent call last)" not in html
    assert "injected-parameters" in html or "Parameters" in html, "the injected-parameters cell is shown"
    assert "hide-input" in html, "the injected parameters are collapsed"
    executed = src.with_suffix(".ipynb")
    assert executed.stat().st_mtime >= src.stat().st_mtime, "page rendered from a notebook older than its source"


def test_math_renders_offline():
    html = (HTML / "notebooks" / "intro" / "01_unlearning_problem.html").read_text()
    assert "mathjax" in html.lower() and "https://cdn" not in html.split("mathjax")[0][-300:]
    assert (HTML / "_static").exists()
