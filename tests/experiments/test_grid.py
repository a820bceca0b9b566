"""The generic methods x seeds grid runner used by the first chapter."""

import math

import pytest

from companion.experiments.grid import run_grid


def test_run_grid_rows_and_speedup_against_the_same_seeds_retrain():
    df = run_grid(
        "digits",
        "class:3",
        ["original", "retrain"],
        [0, 1],
        arch="mlp",
        overrides={"retrain": {"use_cache": True}},
    )
    assert len(df) == 4 and set(df.method) == {"original", "retrain"} and set(df.seed) == {0, 1}
    re = df[df.method == "retrain"]
    assert (re.speedup == 1.0).all() and (re.Df < 0.2).all()
    assert all(s > 1 or math.isinf(s) for s in df[df.method == "original"].speedup)


def test_run_grid_validates_settings_before_training():
    with pytest.raises(ValueError, match="lr"):
        run_grid("digits", "class:3", ["finetune"], [0], overrides={"finetune": {"lr": -1.0}})
