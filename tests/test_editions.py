"""The student edition (`python -m companion build --edition student`, `make student`): the same
book with every exercise solution removed and every exercise kept. `make test` builds both
editions."""

import json
import re
from html import unescape
from pathlib import Path

import pytest

from companion import book, cli, notebooks

ROOT = Path(__file__).resolve().parent.parent
INSTRUCTOR = book.html_dir("instructor", ROOT)
STUDENT = book.html_dir("student", ROOT)
CHAPTERS = notebooks.chapters(ROOT)
built = pytest.mark.skipif(
    not ((INSTRUCTOR / "index.html").exists() and (STUDENT / "index.html").exists()),
    reason="both editions must be built (make book && make student; make test does both)",
)


def _markdown(src: Path) -> str:
    import jupytext

    return "\n".join(c.source for c in jupytext.read(src).cells if c.cell_type == "markdown")


def _phrases(block: str) -> list[str]:
    """The longest run of plain prose (no math, roles or code) of every list item of ``block``."""
    items = re.split(r"^\s*\d+\.\s+", block, flags=re.M)[1:]
    out = []
    for item in items:
        item = re.sub(r"\$[^$]*\$|\{[^}]*\}`[^`]*`|`[^`]*`|\*\*|\*|\[|\]\([^)]*\)", "|", item)
        runs = [" ".join(r.split()) for r in re.split(r"[|\"'()]", item)]
        runs = [r.strip(" ,.;:") for r in runs if len(r.split()) >= 4]
        if runs:
            out.append(max(runs, key=len))
    return out


def exercises_and_solutions(src: Path) -> tuple[list[str], list[str]]:
    md = _markdown(src)
    ex = re.search(r"^## Exercises\s*$(.*?)^```\{admonition\} Solutions", md, flags=re.M | re.S)
    sol = re.search(
        r"^```\{admonition\} Solutions\s*\n(?::[^\n]*\n)*(.*?)^```", md, flags=re.M | re.S
    )
    return (_phrases(ex.group(1)) if ex else []), (_phrases(sol.group(1)) if sol else [])


def _text(page: Path) -> str:
    html = page.read_text()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


WITH_EXERCISES = [s for s in CHAPTERS if exercises_and_solutions(s)[1]]


def test_chapters_have_exercises_with_solutions_to_remove():
    assert len(WITH_EXERCISES) >= 15, [s.name for s in WITH_EXERCISES]
    for src in WITH_EXERCISES:
        ex, sol = exercises_and_solutions(src)
        assert ex and sol, f"{src.name}: exercises {len(ex)}, solutions {len(sol)}"


@built
@pytest.mark.parametrize("src", WITH_EXERCISES, ids=lambda p: p.stem)
def test_student_edition_drops_every_solution_and_keeps_every_exercise(src):
    page = src.relative_to(ROOT).with_suffix(".html")
    instructor, student = _text(INSTRUCTOR / page), _text(STUDENT / page)
    exercises, solutions = exercises_and_solutions(src)
    for phrase in exercises:
        assert phrase in instructor and phrase in student, (
            f"{src.name}: exercise text missing: {phrase!r}"
        )
    for phrase in solutions:
        assert phrase in instructor, (
            f"{src.name}: the instructor edition lost a solution: {phrase!r}"
        )
        assert phrase not in student, (
            f"{src.name}: a solution reached the student edition: {phrase!r}"
        )
    raw = (STUDENT / page).read_text()
    assert not re.search(r'<p class="admonition-title">\s*Solutions', raw), (
        f"{src.name}: a Solutions box is left"
    )
    assert "The solutions are in the instructor edition" in student


@built
def test_build_manifests_name_their_edition():
    student = json.loads((STUDENT / "companion-build.json").read_text())
    instructor = json.loads((INSTRUCTOR / "companion-build.json").read_text())
    assert instructor["edition"] == "instructor" and student["edition"] == "student"
    removed = {k for k, v in student["solutions"].items() if v}
    assert removed >= {s.relative_to(ROOT).with_suffix("").as_posix() for s in WITH_EXERCISES}
    assert instructor["repository"] == student["repository"]


def test_edition_is_validated():
    with pytest.raises(SystemExit):
        cli.main(["build", "--only-book", "--edition", "teacher"])
    with pytest.raises(ValueError, match="edition"):
        book.build_book(ROOT, edition="teacher")
