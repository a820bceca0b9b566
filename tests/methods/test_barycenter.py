"""Tests of the "barycenter" feature-unlearning method and the tabular protocol (Xu & Strohmer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import data, methods, models
from companion.data.tabular import TabularData
from companion.methods import barycenter as bc


@pytest.fixture(scope="module")
def task():
    return data.load_task("digits", forget="class:3", seed=0)


@pytest.fixture(scope="module")
def model(task):
    return models.build("mlp", task.input_shape, task.num_classes, seed=0)


def test_registered():
    assert "barycenter" in methods.available()
    assert methods.available()["barycenter"]["paper"] == "xs"


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan"), "half"])
def test_bad_t_is_refused(task, model, bad):
    with pytest.raises(ValueError, match="t="):
        methods.unlearn("barycenter", model, task, t=bad)


def test_bad_settings_are_refused(task, model):
    with pytest.raises(ValueError, match="feature="):
        methods.unlearn("barycenter", model, task, feature="colour")
    with pytest.raises(ValueError, match="weights="):
        methods.unlearn("barycenter", model, task, weights="random")
    with pytest.raises(ValueError, match="n_components="):
        methods.unlearn("barycenter", model, task, n_components=0)


def test_inputs_untouched_and_map_installed(task, model):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x_before = task.train.x.clone()
    res = methods.unlearn("barycenter", model, task, seed=0, t=1.0, epochs=1)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(task.train.x, x_before)
    assert not hasattr(model, "feature_unlearning")
    assert hasattr(res.model, "feature_unlearning") and res.log["retrained"]
    xb, _ = next(task.test.batches(64))
    out = res.model(xb)
    assert out.shape == (64, task.num_classes) and torch.isfinite(out).all()


def test_t_zero_without_retraining_is_identity(task, model):
    res = methods.unlearn("barycenter", model, task, t=0.0, retrain=False)
    xb, _ = next(task.test.batches(128))
    torch.testing.assert_close(res.model(xb), model(xb), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("n_components", [8, None])
def test_mapped_groups_share_moments(task, n_components):
    xn = task.train.prepare(task.train.x)
    pre, log = bc.fit_image_barycenter(xn, "ink", t=1.0, n_components=n_components, ridge=1e-4)
    z = pre.group(xn).numpy()
    assert 0.4 < z.mean() < 0.6  # median threshold
    mapped = pre(xn).reshape(len(xn), -1).double().numpy()
    m0, m1 = mapped[z == 0].mean(0), mapped[z == 1].mean(0)
    raw0, raw1 = xn.reshape(len(xn), -1)[z == 0].mean(0).numpy(), xn.reshape(len(xn), -1)[z == 1].mean(0).numpy()
    assert np.abs(m0 - m1).max() < 1e-3 * max(1.0, np.abs(raw0 - raw1).max())
    if n_components is not None:
        basis = pre.basis.double().numpy()
        c0 = np.cov((mapped[z == 0] - pre.mu.double().numpy()) @ basis, rowvar=False)
        c1 = np.cov((mapped[z == 1] - pre.mu.double().numpy()) @ basis, rowvar=False)
        np.testing.assert_allclose(c0, c1, atol=1e-3 * np.abs(c0).max())


def test_group_weights_vs_midpoint(task):
    xn = task.train.prepare(task.train.x)
    _, log_p = bc.fit_image_barycenter(xn, "slant", n_components=8)
    _, log_m = bc.fit_image_barycenter(xn, "slant", n_components=8, weights="midpoint")
    assert log_m["weights"] == [0.5, 0.5]
    assert sum(log_p["weights"]) == pytest.approx(1.0)


def test_pixel_attributes_known_answers():
    img = np.zeros((3, 9, 9))
    img[0, 2:7, 4] = 1.0  # vertical bar
    img[1, 2:7, 3:6] = 1.0  # thick bar: more ink
    for i, j in enumerate(range(2, 7)):
        img[2, j, 6 - i] = 1.0  # leaning diagonal
    ink = bc.pixel_attribute(img, "ink")
    assert ink[1] > ink[0] > 0
    slant = bc.pixel_attribute(img, "slant")
    assert abs(slant[0]) < 1e-12 and slant[2] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="feature="):
        bc.pixel_attribute(img, "colour")


def _synthetic_table(n: int = 400, seed: int = 0) -> TabularData:
    rng = np.random.default_rng(seed)
    z = (rng.random(n) < 0.4).astype(np.int64)
    x = rng.normal(size=(n, 3)) + 1.5 * z[:, None]
    y = (x[:, 0] + 0.5 * rng.normal(size=n) > 0.8).astype(np.int64)
    return TabularData("synthetic", x, y, z, ["a", "b", "c"], ["z0", "z1"], "test")


def test_tabular_path_trades_utility_for_leakage():
    cfg = bc.TabularPathConfig(n_t=3, k_folds=2, rf_trees=5, probe_cv=2, mi_bins=4)
    df = bc.tabular_path(_synthetic_table(), cfg, seed=0)
    path = df[df.point == "path"].set_index("t")
    assert list(df.point) == ["path"] * 3 + ["original", "drop_z"]
    assert path.loc[1.0, "probe_lr"] < 0.65 < path.loc[0.0, "probe_lr"]
    assert path.loc[1.0, "disc_lr"] < path.loc[0.0, "disc_lr"]
    assert path.loc[1.0, "distortion"] > path.loc[0.0, "distortion"] == 0.0
    assert not path.loc[1.0, "z_in_features"]


def test_label_transport_identity_at_t0():
    y = np.array([0, 1, 1, 0, 1])
    z = np.array([0, 0, 1, 1, 1])
    out = bc.transport_labels(y, z, np.array([0, 1]), np.array([2.0, 0.5]), np.array([0.5, 0.67]), 0.6, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, y)


def test_tabular_config_validation():
    with pytest.raises(ValueError, match="fit_on="):
        bc.TabularPathConfig(fit_on="test")
    with pytest.raises(ValueError, match="n_t="):
        bc.TabularPathConfig(n_t=1)
    assert bc.TabularPathConfig.resolve("quick").n_t < bc.TabularPathConfig.resolve("full").n_t
