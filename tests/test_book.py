"""Checks of the built book (after `make book`; `make test` always builds it first)."""

import re
from pathlib import Path

import pytest

from companion import book, notebooks

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"

built = pytest.mark.skipif(
    not (HTML / "index.html").exists(), reason="the book has not been built (run `make book`)"
)


@built
@pytest.mark.parametrize("src", notebooks.chapters(ROOT), ids=lambda p: p.stem)
def test_chapter_page_rendered_with_outputs_and_parameters(src):
    page = HTML / src.relative_to(ROOT).with_suffix(".html")
    html = page.read_text()
    assert "Traceback (most recent call last)" not in html
    assert "injected-parameters" in html or "Parameters" in html, (
        "the injected-parameters cell is shown"
    )
    assert "hide-input" in html, "the injected parameters are collapsed"
    executed = src.with_suffix(".ipynb")
    assert executed.stat().st_mtime >= src.stat().st_mtime, (
        "page rendered from a notebook older than its source"
    )


@built
def test_math_renders_offline():
    html = (HTML / "notebooks" / "intro" / "01_unlearning_problem.html").read_text()
    assert "mathjax" in html.lower() and "https://cdn" not in html.split("mathjax")[0][-300:]
    assert (HTML / "_static").exists()


def _checked_cells(executed: Path) -> list:
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    return [
        c
        for c in nb.cells
        if c.cell_type == "code" and "nbval-check-output" in c.get("metadata", {}).get("tags", [])
    ]


@built
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
                f"{src.name}: a checked cell writes to stderr (progress bar or "
                f"warning):\n{out.text[:300]}"
            )
            text = out.get("text", "") or "".join(out.get("data", {}).get("text/plain", ""))
            assert "it/s" not in text and "s/it" not in text, (
                f"{src.name}: a progress bar reached a checked cell"
            )


# --- the published book: workflow, repository, buttons, provenance, accessibility
# -------------------

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def _workflow() -> dict:
    import yaml

    wf = yaml.safe_load(WORKFLOW.read_text())
    wf["on"] = wf.pop(True, wf.get("on"))  # YAML 1.1 reads the key `on` as True
    return wf


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def test_workflow_builds_with_the_readme_command_and_deploys_with_the_pages_actions():
    wf = _workflow()
    assert wf["on"]["push"]["branches"] == ["main"] and "pull_request" in wf["on"]
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    runs = [s.get("run", "") for s in _steps(build)]
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme.split("\n```", 2)[1], "the README's book command is `make book`"
    assert any(r.startswith("make book") for r in runs), runs
    uses = {s.get("uses", "").split("@")[0]: s for job in wf["jobs"].values() for s in _steps(job)}
    for action in (
        "actions/checkout",
        "actions/configure-pages",
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
    ):
        assert action in uses, f"{action} is not used"
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "_build/html"
    assert (
        "pull_request"
        not in uses["actions/upload-pages-artifact"].get("if", "!= 'pull_request'").split("!=")[0]
    )
    assert deploy["needs"] == "build" and "refs/heads/main" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    artifacts = [
        s for s in _steps(build) if s.get("uses", "").startswith("actions/upload-artifact")
    ]
    assert any(
        "pull_request" in s.get("if", "") and "_build/html" in s["with"]["path"] for s in artifacts
    )
    failure = [s for s in _steps(build) if s.get("if") == "failure()"]
    assert any(
        "failure_report" in s.get("run", "") and "GITHUB_STEP_SUMMARY" in s["run"] for s in failure
    )
    assert any("failed.ipynb" in s.get("with", {}).get("path", "") for s in failure)
    assert not re.search(r"github\.com/[\w.-]+/[\w.-]+", WORKFLOW.read_text()), (
        "a repository URL is hard-coded"
    )


def test_publish_and_student_targets_exist():
    mk = (ROOT / "Makefile").read_text()
    assert re.search(r"^publish: book\n\t.*ghp-import .*_build/html", mk, flags=re.M)
    assert re.search(r"^student: .*\n\t.*--edition student", mk, flags=re.M)
    assert "ghp-import" in (ROOT / "pyproject.toml").read_text()


def test_repository_comes_from_the_option_or_the_environment(monkeypatch, tmp_path):
    import subprocess

    monkeypatch.delenv("COMPANION_REPOSITORY", raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", "fork-owner/companion")
    assert book.resolve_repository(None, tmp_path) == "fork-owner/companion"
    monkeypatch.setenv("COMPANION_REPOSITORY", "https://github.com/me/book.git")
    assert book.resolve_repository(None, tmp_path) == "me/book"
    assert book.resolve_repository("a/b", tmp_path) == "a/b"
    with pytest.raises(ValueError, match="repository"):
        book.resolve_repository("not a repo", tmp_path)
    monkeypatch.delenv("COMPANION_REPOSITORY")
    monkeypatch.delenv("GITHUB_REPOSITORY")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert book.resolve_repository(None, tmp_path) == ""
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "remote",
            "add",
            "origin",
            "git@github.com:someone/elsewhere.git",
        ],
        check=True,
    )
    assert book.resolve_repository(None, tmp_path) == "someone/elsewhere"


def test_failure_report_names_the_notebook_and_the_cell(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("root: x\n")
    src = tmp_path / "notebooks" / "part" / "01_boom.py"
    src.parent.mkdir(parents=True)
    header = (
        "# ---\n# jupyter:\n#   kernelspec:\n#     display_name: Python 3\n#     language: "
        "python\n#     name: python3\n# ---\n\n"
    )
    src.write_text(
        header
        + '# %% tags=["parameters"]\nPROFILE = "quick"\nSEED = 0\n\n'
        + '# %%\nx = 1\n\n# %%\nraise RuntimeError("boom at the third cell")\n'
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(notebooks.NotebookError, match=r"01_boom.py failed in cell \d+"):
        notebooks.execute(src, record=False)
    report = book.failure_report(tmp_path)
    assert "notebooks/part/01_boom.failed.ipynb" in report
    assert "RuntimeError: boom at the third cell" in report and 'raise RuntimeError("boom' in report
    assert book.failure_report(ROOT / "book") == ""


def _manifest() -> dict:
    import json

    return json.loads((HTML / "companion-build.json").read_text())


@built
@pytest.mark.parametrize("src", notebooks.chapters(ROOT), ids=lambda p: p.stem)
def test_launch_and_download_buttons_point_at_the_build_repository(src):
    rel = src.relative_to(ROOT).with_suffix("").as_posix()
    html = (HTML / f"{rel}.html").read_text()
    for suffix in (".ipynb", ".py"):
        assert f'_sources/{rel}{suffix}"' in html, f"no {suffix} download button"
        assert (HTML / "_sources" / f"{rel}{suffix}").exists()
    assert re.search(
        r'_sources/[^"]+\.py" target="_blank"[^>]*>.*?<span '
        r'class="btn__text-container">\.py</span>',
        html,
        flags=re.S,
    ), "the download menu offers the jupytext source"
    repo = _manifest()["repository"]
    published = (HTML / "_sources" / f"{rel}.ipynb").read_text()
    if repo:
        assert (
            f"https://mybinder.org/v2/gh/{repo}/gh-pages?urlpath=tree/_sources/{rel}.ipynb" in html
        )
        assert (
            f"https://colab.research.google.com/github/{repo}/blob/gh-pages/_sources/{rel}.ipynb"
            in html
        )
        assert (
            f'href="https://github.com/{repo}"' in html
            and f"https://github.com/{repo}/issues" in html
        )
        assert (
            f"git+https://github.com/{repo}" in published and "@COMPANION_SOURCE@" not in published
        )
    else:  # no repository known at build time: no button may point anywhere
        assert "mybinder.org" not in html and "colab.research" not in html


@built
@pytest.mark.parametrize("src", notebooks.chapters(ROOT), ids=lambda p: p.stem)
def test_provenance_footer_matches_the_executed_notebook(src):
    import json

    meta = json.loads(src.with_suffix(".ipynb").read_text())["metadata"]
    html = (HTML / src.relative_to(ROOT).with_suffix(".html")).read_text()
    footer = re.search(
        r'<footer class="companion-provenance"[^>]*>(.*?)</footer>', html, flags=re.S
    )
    assert footer, "no provenance footer"
    text = re.sub(r"<[^>]+>", "", footer.group(1))
    params = meta["papermill"]["parameters"]
    assert f"profile {params['PROFILE']}, seed {params['SEED']}" in text
    commit = meta.get("companion", {}).get("commit", "")
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", commit), (
        "the executed notebook records its commit"
    )
    assert f"at commit {commit[:12]}" in text
    assert meta["papermill"]["end_time"][:10] in text


def _pages() -> list[Path]:
    return [HTML / f"{f}.html" for f in notebooks.toc_files(ROOT)]


@built
@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.relative_to(HTML).as_posix())
def test_figures_tables_and_headings_are_accessible(page):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(), "html.parser")
    main = soup.select_one("article.bd-article") or soup
    for img in main.find_all("img"):
        assert (img.get("alt") or "").strip(), f"an image without alt text: {img.get('src')}"
        fig = img.find_parent("figure")
        assert (
            fig is not None
            and fig.find("figcaption")
            and fig.find("figcaption").get_text(strip=True)
        ), f"an image outside a captioned figure: {img.get('src')}"
    for table in main.find_all("table"):
        assert table.find("th"), (
            f"a table without header cells: {table.get_text(' ', strip=True)[:100]}"
        )
    levels = [int(h.name[1]) for h in main.find_all(re.compile(r"^h[1-6]$"))]
    assert levels and levels[0] == 1 and levels.count(1) == 1, f"one h1 first: {levels}"
    jumps = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
    assert not jumps, f"headings skip a level: {jumps}"


@pytest.mark.parametrize("src", notebooks.chapters(ROOT), ids=lambda p: p.stem)
def test_first_cell_installs_the_companion_only_where_it_is_missing(src, monkeypatch):
    """In Colab or Binder the first (removed-from-the-page) cell installs the companion; here it is
    a no-op."""
    import importlib.util
    import subprocess

    import jupytext

    cell = jupytext.read(src).cells[0]
    assert cell.cell_type == "code" and "remove-cell" in cell.metadata.get("tags", []), (
        "the install cell comes first"
    )
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    exec(cell.source, {})
    assert calls == [], "the install cell must do nothing where the companion is importable"
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    exec(cell.source.replace("@COMPANION_SOURCE@", "git+https://github.com/o/r@abc"), {})
    assert (
        calls
        and calls[0][-1] == "companion @ git+https://github.com/o/r@abc"
        and calls[0][1:4] == ["-m", "pip", "install"]
    )
