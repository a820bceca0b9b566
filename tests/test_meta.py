"""Meta-tests keeping the notebooks, the table of contents, the registry and the tests in step."""

import re
from pathlib import Path

import pytest

from companion import config, methods, notebooks

ROOT = Path(__file__).resolve().parent.parent
SOURCES = notebooks.all_sources(ROOT)


def test_there_are_chapters():
    assert SOURCES and ROOT / "notebooks/intro/01_unlearning_problem.py" in SOURCES


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_has_one_parameters_cell_with_profile_and_known_rules(src):
    params = {p.name: p for p in notebooks.parameters(src)}
    assert params["PROFILE"].default == "quick" and {"SEED", "DEVICE", "DATA_ROOT"} <= set(params)
    for p in params.values():
        assert p.name in config.PARAMETERS, (
            f"{src.name}: parameter {p.name} has no rule in companion.config.PARAMETERS"
        )
        config.validate_param(p.name, p.default)
    text = src.read_text()
    assert text.count('tags=["parameters"]') == 1
    # the JiT table chapters open with jit_chapters.table_chapter, which calls config.resolve
    assert "config.resolve(" in text or ".table_chapter(" in text, (
        "every chapter resolves its parameters through companion.config"
    )


def test_toc_entries_exist_and_every_chapter_is_in_the_toc():
    files = notebooks.toc_files(ROOT)
    for f in files:
        assert (ROOT / f"{f}.md").exists() or (ROOT / f"{f}.py").exists(), (
            f"_toc.yml entry {f} has no source"
        )
    in_toc = {ROOT / f"{f}.py" for f in files if f.startswith("notebooks/")}
    assert set(SOURCES) == in_toc, "every notebook source must be in _toc.yml and vice versa"
    assert len(files) == len(set(files)), "duplicate _toc.yml entries"


def test_no_executed_notebooks_are_tracked():
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert tracked == []


def test_every_registered_method_has_a_test():
    text = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    missing = [m for m in methods.available() if f'"{m}"' not in text]
    assert not missing, f"registered methods without a test: {missing}"


def test_every_method_declares_zero_shot_and_a_validated_config():
    for name, spec in methods.REGISTRY.items():
        assert isinstance(spec.zero_shot, bool)
        cfg = spec.config.resolve("quick")
        assert cfg == spec.config.resolve("quick"), name
        spec.config.resolve("full")


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text().splitlines()[:15]
    joined = "\n".join(head)
    assert "make book" in joined and "make test" in joined
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_checkpoints_are_loaded_with_weights_only():
    call = "torch." + "load("  # spelled apart so this test's own source is not a match
    for p in (ROOT / "companion").rglob("*.py"):
        for line in p.read_text().splitlines():
            if call in line:
                assert "weights_only=True" in line, f"{p}: {line.strip()}"


def test_reported_numbers_have_sources():
    from companion.reported import all_reported

    for key, r in all_reported().items():
        assert r.source and re.search(r"\w", r.source), key
        assert r.tolerance >= 0, key


def _direct_settings(src):
    """(parameter, method, config field) for every notebook parameter a chapter passes straight to a
    method: ``methods.unlearn("m", ..., field=PARAM)``, ``XConfig(field=PARAM)``,
    ``XConfig.resolve(.., field=PARAM)``."""
    import ast

    from companion.methods.base import REGISTRY

    by_config = {spec.config.__name__: name for name, spec in REGISTRY.items()}
    out = set()
    for node in ast.walk(ast.parse(src.read_text())):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        method = None
        if (
            isinstance(f, ast.Attribute)
            and f.attr == "unlearn"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            method = node.args[0].value
        elif isinstance(f, ast.Name) and f.id in by_config:
            method = by_config[f.id]
        elif (
            isinstance(f, ast.Attribute)
            and f.attr == "resolve"
            and isinstance(f.value, ast.Name)
            and f.value.id in by_config
        ):
            method = by_config[f.value.id]
        if method is None:
            continue
        for kw in node.keywords:
            if (
                kw.arg not in (None, "seed", "device", "profile")
                and isinstance(kw.value, ast.Name)
                and kw.value.id.isupper()
            ):
                out.add((kw.value.id, method, kw.arg))
    return sorted(out)


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_rules_agree_with_the_method_configs_they_feed(src):
    """A value the notebook's rule accepts must be accepted by the method config it is passed to
    (else the chapter fails late, inside the kernel): boundary values are probed."""
    from companion.methods.base import REGISTRY

    probes = {float: [0.0, 1e-12, 1e-3, 0.5, 1.0, 2.0, 1e3], int: [0, 1, 2, 10, 1000]}
    for param, method, field in _direct_settings(src):
        rule = config.PARAMETERS[param]
        for v in probes.get(rule.kind, []):
            try:
                rule.validate(param, v)
            except ValueError:
                continue
            try:
                REGISTRY[method].config.resolve("quick", **{field: v})
            except ValueError as err:
                pytest.fail(
                    f"{src.name}: {param}={v!r} passes the notebook rule but {method}'s {field} "
                    f"refuses it: {err}"
                )


_OUTSIDE_REFS = [
    r"(?<![\w.])specs?(?=\s+(?:§|s\.\s?\d|sections?\b|\d|``|[a-z-]+\.md\b|\(|[a-z-]+ "
    r"s(?:ection)?\.?\s?\d))",
    r"\b[a-z-]+\.md\s*(?:§|s\.\s?\d|sections?\s+\d)",
    r"shared/specs",
    r"\b(?:evaluation|datasets|dataset) spec\b",
    r"\bdefects?\s+D?\d",
    r"\(D\d+\)",
]


def test_package_cites_no_document_outside_the_repository():
    """Docstrings and comments cite the paper, the reference code or the book's deviations page,
    never the design specs or defect labels a reader of the repository cannot open."""
    hits = []
    for path in sorted((ROOT / "companion").rglob("*.py")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if any(re.search(p, line) for p in _OUTSIDE_REFS):
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not hits, "references outside the repository:\n" + "\n".join(hits)


def test_every_deviations_reference_resolves():
    page = (ROOT / "book" / "deviations.md").read_text()
    labels = set(re.findall(r"^\(([a-z0-9-]+)\)=$", page, flags=re.M))
    assert labels, "book/deviations.md defines no labels"
    missing = []
    for path in sorted((ROOT / "companion").rglob("*.py")):
        for label in re.findall(r"deviations\.md#([a-z0-9-]+)", path.read_text()):
            if label not in labels:
                missing.append(f"{path.relative_to(ROOT)}: {label}")
    assert not missing, "deviations.md has no target for:\n" + "\n".join(missing)


def _package_imports(path: Path) -> set[str]:
    """The top-level companion modules/packages that ``path`` imports (relative or absolute)."""
    import ast

    parts = path.relative_to(ROOT).with_suffix("").parts  # ('companion', 'methods', 'jit')
    pkg = list(parts if path.name == "__init__.py" else parts[:-1])
    if path.name == "__init__.py":
        pkg = pkg[:-1] if pkg[-1] == "__init__" else pkg
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                names = (
                    [".".join(base + [node.module])]
                    if node.module
                    else [".".join(base + [a.name]) for a in node.names]
                )
            elif node.module:
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        out |= {n.split(".")[1] for n in names if n.startswith("companion.")}
    return out


# Layers, floor up: checks, parameters, config, progress, threads, theory, data; models and
# training; methods and metrics; experiments, report, paper_scale, records, plotting; cli,
# notebooks, book on top. Each rule lists what a layer may not import.
LAYER_RULES = {
    "theory": lambda imps: imps - {"config", "theory"},
    "data": lambda imps: imps - {"config", "progress", "data"},
    "threads": lambda imps: imps - {"config", "threads"},
    "checks": lambda imps: imps - {"checks"},
    "parameters": lambda imps: imps - {"checks", "parameters"},
    "config": lambda imps: imps - {"checks", "parameters", "config"},
    "progress": lambda imps: imps - {"progress"},
    "training": lambda imps: imps - {"config", "progress", "threads", "data", "training"},
    "models": lambda imps: (
        imps & {"methods", "metrics", "experiments", "plotting", "report", "stacked"}
    ),
    "methods": lambda imps: (
        imps
        & {
            "metrics",
            "plotting",
            "experiments",
            "report",
            "paper_scale",
            "cli",
            "notebooks",
            "book",
        }
    ),
    "metrics": lambda imps: (
        imps & {"methods", "experiments", "plotting", "report", "cli", "notebooks", "book"}
    ),
    "plotting": lambda imps: imps & {"methods", "experiments", "cli", "notebooks", "book"},
}


def test_layering_contract():
    """Imports point down the layers of DESIGN.md: theory is pure maths, data never imports the
    training loop, a method never imports an attack, a figure or a protocol, a metric never a
    method."""
    bad = []
    for path in sorted((ROOT / "companion").rglob("*.py")):
        top = path.relative_to(ROOT / "companion").parts[0].removesuffix(".py")
        rule = LAYER_RULES.get(top)
        if rule is not None:
            wrong = rule(_package_imports(path) - {top})
            if wrong:
                bad.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not bad, "layering broken:\n" + "\n".join(bad)


# Entry points keep `python -m companion list` and `--help` free of torch: their imports of the
# package stay inside the commands. Everywhere else an import inside a function hides an arrow of
# the import graph from the layering test, so it is allowed only for optional heavy dependencies.
LAZY_IMPORTS_ALLOWED = {"cli.py", "notebooks.py", "book.py"}


def test_package_imports_sit_at_module_level():
    import ast

    bad = []
    for path in sorted((ROOT / "companion").rglob("*.py")):
        if path.name in LAZY_IMPORTS_ALLOWED:
            continue
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and (
                        node.level or (node.module or "").startswith("companion")
                    ):
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno} (in {fn.name})")
    assert not bad, "package imports inside functions:\n" + "\n".join(bad)
