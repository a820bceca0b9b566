"""Shared fixtures: a tiny real task (scikit-learn digits) and a model trained on it."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("COMPANION_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes checkpoints to its own cache folder, never the user's."""
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def digits_class_task():
    from companion import data

    return data.load_task("digits", forget="class:3", seed=0)


@pytest.fixture(scope="session")
def digits_model(digits_class_task, tmp_path_factory):
    from companion import models
    from companion.training import TrainRecipe

    return models.train_or_load(
        digits_class_task, "mlp", "quick", 0, recipe=TrainRecipe("adam", 1e-3, 15, 64),
        cache_dir=tmp_path_factory.mktemp("model"), show_progress=False,
    )
