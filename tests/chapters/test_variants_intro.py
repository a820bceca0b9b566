"""The intro chapters execute, and their own assertions hold, with non-default parameters."""

from __future__ import annotations

import pytest

# chapter -> list of parameter overrides (each one a full execution; keep them small)
VARIANTS: dict[str, list[dict]] = {
    "intro/01_unlearning_problem": [{"SEED": 1, "FORGET_CLASS": 7, "N_RANDOM": 300, "N_SEEDS": 2}],
}


@pytest.mark.slow
# parametrized from VARIANTS by conftest.py
def test_variant_executes(chapter, params, run_variant):
    run_variant(chapter, params)
