"""The jit chapters execute, and their own assertions hold, with non-default parameters."""

from __future__ import annotations

import pytest

# chapter -> list of parameter overrides (each one a full execution; keep them small). These are the
# book's slowest chapters (20-35 s each in QUICK), so one cheap variant per chapter.
VARIANTS: dict[str, list[dict]] = {
    "jit/01_zero_shot_information": [{"SEED": 1, "N_RANDOM": 50}],
    "jit/02_jit_algorithm": [{"SEED": 1, "FORGET_CLASS": 8}],
    "jit/03_full_class_forgetting": [{"SEED": 1, "N_SEEDS": 1, "JIT_FORGET": "class:8"}],
    "jit/04_subclass_forgetting": [{"SEED": 2, "N_SEEDS": 1}],
    "jit/05_random_forgetting": [{"SEED": 1, "N_SEEDS": 1, "JIT_FORGET": "random:50"}],
    "jit/06_perturbations_and_sequences": [{"SEED": 1, "SEQ_OVERLAP": 0}],
}


@pytest.mark.slow
# parametrized from VARIANTS by conftest.py
def test_variant_executes(chapter, params, run_variant):
    run_variant(chapter, params)
