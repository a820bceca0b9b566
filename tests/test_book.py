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


def _checked_cells(executed: Path) -> list:
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and "nbval-check-output" in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("src", notebooks.chapters(ROOT), ids=lambda p: p.stem)
def test_every_chapter_has_result_cells_nbval_checks(src):
    """Re-execution must prove each chapter's key results: at least one checked cell with output,
    and nothing in a checked cell that a re-run need not print identically (stderr, progress bars,
    timings)."""
    cells = _checked_cells(src.with_suffix(".ipynb"))
    assert cells, f"{src.name}: no cell is tagged nbval-check-output"
    for cell in cells:
        assert cell.outputs, f"{src.name}: a checked cell printed nothing:\n{cell.source[:200]}"
        for out in cell.outputs:
            assert not (out.output_type == "stream" and out.name == "stderr"), (
                f"{src.name}: a checked cell writes to stderr (progress bar or warning):\n{out.text[:300]}")
            text = out.get("text", "") or "".join(out.get("data", {}).get("text/plain", ""))
            assert "it/s" not in text and "s/it" not in text, f"{src.name}: a progress bar reached a checked cell"
