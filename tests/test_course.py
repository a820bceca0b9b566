"""The course module: every chapter is mapped to a session, every chapter has exercises with
solutions, and every number a solution quotes is computed and checked by a cell that re-execution
runs (nbval re-executes every chapter and the variant tests re-run them with other parameters), so
no solution can rot."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from companion import notebooks

ROOT = Path(__file__).resolve().parent.parent
# a missing file fails the build
CHAPTERS = [p for p in notebooks.chapters(ROOT) if p.parent.name != "back" and p.exists()]
SKIP_TAGS = {"nbval-skip", "skip-execution", "raises-exception", "remove-cell"}


def _solutions(src: Path) -> str | None:
    md = "\n".join(c.source for c in jupytext.read(src).cells if c.cell_type == "markdown")
    m = re.search(
        r"^```\{admonition\} Solutions\s*\n(?::[^\n]*\n)*(.*?)^```", md, flags=re.M | re.S
    )
    return m.group(1) if m else None


def cited_values(src: Path) -> list[str]:
    """The glue names a chapter's Solutions block quotes."""
    return sorted(set(re.findall(r"\{glue:?[a-z]*\}`([A-Za-z0-9_]+)", _solutions(src) or "")))


def glue_cells(executed: Path) -> dict[str, nbformat.NotebookNode]:
    """glue name -> the executed code cell whose outputs carry it."""
    out = {}
    for cell in nbformat.read(executed, as_version=4).cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                out.setdefault(name, cell)
    return out


def checks(source: str) -> bool:
    return bool(
        re.search(r"^\s*(assert\b|raise AssertionError|if .*:\s*\n\s*raise )", source, flags=re.M)
    )


def test_course_page_maps_every_chapter_to_a_session():
    course = (ROOT / "book" / "course.md").read_text()
    table = course[course.index("| session |") :]
    for src in CHAPTERS + [p for p in notebooks.chapters(ROOT) if p.parent.name == "back"]:
        name = src.relative_to(ROOT).with_suffix("").as_posix()
        assert f"{{doc}}`../{name}`" in (table if src in CHAPTERS else course), (
            f"book/course.md does not map {name}"
        )


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_has_exercises_with_solutions_behind_a_toggle(src):
    text = src.read_text()
    assert re.search(r"^# ## Exercises\s*$", text, flags=re.M), f"{src.name}: no Exercises section"
    sol = re.search(r"^# ```\{admonition\} Solutions\s*\n# :class: dropdown", text, flags=re.M)
    assert sol, f"{src.name}: no Solutions admonition with ':class: dropdown' (the toggle)"
    assert _solutions(src) and _solutions(src).strip(), f"{src.name}: empty Solutions block"


CITING = [p for p in CHAPTERS if cited_values(p)]


def test_some_solutions_quote_computed_values():
    assert len(CITING) >= 8, [p.name for p in CITING]


@pytest.mark.parametrize("src", CITING, ids=lambda p: p.stem)
def test_every_value_a_solution_quotes_is_computed_and_checked_by_an_executed_cell(src):
    executed = src.with_suffix(".ipynb")
    if not executed.exists():
        pytest.skip(f"{executed.name} is not built (make book)")
    cells = glue_cells(executed)
    for name in cited_values(src):
        cell = cells.get(name)
        assert cell is not None, (
            f"{src.name}: the solutions quote {name}, which no executed cell glues"
        )
        tags = set(cell.metadata.get("tags", []))
        assert not tags & SKIP_TAGS, (
            f"{src.name}: {name} comes from a cell re-execution skips ({tags & SKIP_TAGS})"
        )
        if re.search(rf'glue\("{name}",\s*[A-Z][A-Z0-9_]*\)', cell.source):
            continue  # a chapter parameter quoted as it was set: nothing to compute
        assert checks(cell.source), (
            f"{src.name}: {name} is glued by a cell with no assertion, so a re-run cannot catch a "
            f"wrong answer:\n"
            f"{cell.source[:300]}"
        )
