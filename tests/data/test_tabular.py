"""Tests of companion.data.tabular (Adult/COMPAS rebuilt from raw files, spec 4.1/4.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from companion.data import tabular


def test_adult_frame_binning_known_values():
    raw = pd.DataFrame(
        {
            "age": [17, 25, 69, 70, 90],
            "education-num": [1, 6, 12, 13, 16],
            "sex": ["Male", "Female", "Male", "Female", "Male"],
            "race": ["White", "Black", "White", "Other", "White"],
            "income": ["<=50K", ">50K.", "<=50K", ">50K", "<=50K."],
        }
    )
    f = tabular.adult_frame(raw)
    assert f["Age (decade)"].tolist() == ["10", "20", "60", ">=70", ">=70"]
    assert f["Education Years"].tolist() == ["<6", "6", "12", ">12", ">12"]
    assert f["Income Binary"].tolist() == [0, 1, 0, 1, 0]


def test_adult_tables():
    g = tabular.load_table("adult-gender")
    assert g.x.shape == (32561, 16)
    np.testing.assert_allclose(g.x[:, :7].sum(1), 1.0)  # one age level per row
    np.testing.assert_allclose(g.x[:, 7:].sum(1), 1.0)  # one education level per row
    assert int(g.z.sum()) == 21790  # Male count in adult.data (datasets spec 3.7)
    assert int(g.y.sum()) == 7841
    r = tabular.adult("race", race="binary", drop_reference=True)
    assert r.x.shape[1] == 14 and int(r.z.sum()) == 27816
    m = tabular.adult("race", race="multi")
    assert len(m.z_names) == 5 and set(np.unique(m.z)) == set(range(5))
    with pytest.raises(ValueError, match="z="):
        tabular.adult("age")
    with pytest.raises(ValueError, match="table="):
        tabular.load_table("german")


def test_compas_table():
    c = tabular.load_table("compas-race")
    assert len(c) == 5278  # ProPublica filter, African-American + Caucasian
    assert c.x.shape[1] == 10
    assert int(c.z.sum()) == 3175
    assert set(np.unique(c.y)) == {0, 1}


def test_folds_are_seeded_and_partition():
    c = tabular.load_table("compas-race")
    f1, f2 = tabular.folds(c, 5, seed=3), tabular.folds(c, 5, seed=3)
    test = np.concatenate([te for _, te in f1])
    assert np.array_equal(np.sort(test), np.arange(len(c)))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(f1, f2))
    with pytest.raises(ValueError, match="k="):
        tabular.folds(c, 1)
