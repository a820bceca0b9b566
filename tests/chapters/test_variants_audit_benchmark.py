"""The all-methods benchmark chapter executes, and its own assertions hold, with non-default
parameters."""

from __future__ import annotations

import pytest

# chapter -> list of parameter overrides (each one a full QUICK execution, under a minute each):
# another seed (new originals, oracles and runs), random forgetting (EMMN, GKT and UNSIR become "not
# applicable"), sub-class forgetting (three superclasses) with the smallest N the protocol allows.
VARIANTS: dict[str, list[dict]] = {
    "audit/03_all_methods": [
        {"SEED": 1},
        {"FORGET": "random:40"},
        {"FORGET": "subclass:8", "N_SEEDS": 4},
    ],
}


@pytest.mark.slow
# parametrized from VARIANTS by conftest.py
def test_variant_executes(chapter, params, run_variant):
    run_variant(chapter, params)
