"""The audit chapter on forgetting executes, and its own assertions hold, with non-default
parameters."""

from __future__ import annotations

import pytest

# chapter -> list of parameter overrides (each one a full QUICK execution, under a minute on a quiet
# core). Other seeds redraw the pool, the masks, the targets and every model; a larger forget set,
# fewer epochs, another forgotten class and fewer shadow models (12: two folds of 6) must leave
# every claim standing.
VARIANTS: dict[str, list[dict]] = {
    "audit/01_did_it_forget": [
        {"SEED": 1},
        {"SEED": 2, "N_RANDOM": 400, "EPOCHS": 8},
        {"SEED": 3, "FORGET_CLASS": 7, "N_SHADOWS": 12},
    ],
}


@pytest.mark.slow
# parametrized from VARIANTS by conftest.py
def test_variant_executes(chapter, params, run_variant):
    run_variant(chapter, params)
