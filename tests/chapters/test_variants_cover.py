"""Every chapter of the book is executed with non-default parameters by one of the variant files."""

import importlib.util
from pathlib import Path

from companion import notebooks

HERE = Path(__file__).resolve().parent


def _variants() -> dict:
    out = {}
    for f in sorted(HERE.glob("test_variants_*.py")):
        spec = importlib.util.spec_from_file_location(f"_variants_{f.stem}", f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        out.update(getattr(mod, "VARIANTS", {}))
    return out


def test_every_chapter_has_a_variant_with_another_seed_or_value():
    variants = _variants()
    root = notebooks.root() / "notebooks"
    for src in notebooks.chapters():
        name = src.relative_to(root).with_suffix("").as_posix()
        if name.startswith("back/"):
            # the scorecard reads the other chapters' records; it has no experiment of its own
            continue
        assert variants.get(name), f"{name} has no variant in tests/chapters/test_variants_*.py"
        defaults = {p.name: p.default for p in notebooks.parameters(src)}
        for params in variants[name]:
            assert set(params) <= set(defaults), f"{name}: unknown parameter in {params}"
            assert any(defaults[k] != v for k, v in params.items()), (
                f"{name}: {params} only repeats the defaults"
            )
