"""Tests of the "barycenter" feature-unlearning method and the tabular protocol (Xu & Strohmer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import data, methods, models
from companion.data import attributes
from companion.data.tabular import TabularData
from companion.experiments import xs_images, xs_tabular
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
    raw0, raw1 = (
        xn.reshape(len(xn), -1)[z == 0].mean(0).numpy(),
        xn.reshape(len(xn), -1)[z == 1].mean(0).numpy(),
    )
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
    ink = attributes.pixel_attribute(img, "ink")
    assert ink[1] > ink[0] > 0
    slant = attributes.pixel_attribute(img, "slant")
    assert abs(slant[0]) < 1e-12 and slant[2] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="feature="):
        attributes.pixel_attribute(img, "colour")


def _synthetic_table(n: int = 400, seed: int = 0) -> TabularData:
    rng = np.random.default_rng(seed)
    z = (rng.random(n) < 0.4).astype(np.int64)
    x = rng.normal(size=(n, 3)) + 1.5 * z[:, None]
    y = (x[:, 0] + 0.5 * rng.normal(size=n) > 0.8).astype(np.int64)
    return TabularData("synthetic", x, y, z, ["a", "b", "c"], ["z0", "z1"], "test")


def test_tabular_path_trades_utility_for_leakage():
    cfg = xs_tabular.TabularPathConfig(n_t=3, k_folds=2, rf_trees=5, probe_cv=2, mi_bins=4)
    df = xs_tabular.tabular_path(_synthetic_table(), cfg, seed=0)
    path = df[df.point == "path"].set_index("t")
    assert list(df.point) == ["path"] * 3 + ["original", "drop_z"]
    assert path.loc[1.0, "probe_lr"] < 0.65 < path.loc[0.0, "probe_lr"]
    assert path.loc[1.0, "disc_lr"] < path.loc[0.0, "disc_lr"]
    assert path.loc[1.0, "distortion"] > path.loc[0.0, "distortion"] == 0.0
    assert not path.loc[1.0, "z_in_features"]


def test_label_transport_identity_at_t0():
    y = np.array([0, 1, 1, 0, 1])
    z = np.array([0, 0, 1, 1, 1])
    out = xs_tabular.transport_labels(
        y,
        z,
        np.array([0, 1]),
        np.array([2.0, 0.5]),
        np.array([0.5, 0.67]),
        0.6,
        0.0,
        np.random.default_rng(0),
    )
    np.testing.assert_array_equal(out, y)


def test_tabular_config_validation():
    with pytest.raises(ValueError, match="fit_on="):
        xs_tabular.TabularPathConfig(fit_on="test")
    with pytest.raises(ValueError, match="n_t="):
        xs_tabular.TabularPathConfig(n_t=1)
    assert (
        xs_tabular.TabularPathConfig.resolve("quick").n_t
        < xs_tabular.TabularPathConfig.resolve("full").n_t
    )


# ---------------------------------------------------------------------------------------------
# Images: CelebA layout (FULL) and neural optimal transport
# ---------------------------------------------------------------------------------------------


def _fake_celeba(root, n: int = 12, seed: int = 0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = root / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    names = ["5_o_Clock_Shadow", "Male", "Smiling"]
    files = [f"{i + 1:06d}.jpg" for i in range(n)]
    smile = [1 if i % 3 == 0 else -1 for i in range(n)]
    lines = [str(n), " ".join(names)] + [
        f"{f} -1 {1 if i % 2 else -1} {smile[i]}" for i, f in enumerate(files)
    ]
    (base / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (base / "list_eval_partition.txt").write_text(
        "\n".join(f"{f} {0 if i < n - 2 else 2}" for i, f in enumerate(files)) + "\n"
    )
    for f in files:
        Image.fromarray(rng.integers(0, 255, (218, 178, 3), dtype=np.uint8)).save(
            base / "img_align_celeba" / f
        )
    return smile


def test_celeba_reader_and_full_conv_path(tmp_path):
    smile = _fake_celeba(tmp_path)
    x, z = attributes.celeba_attribute_images(tmp_path, "Smiling", size=16, split="train")
    assert (
        x.shape == (10, 3, 16, 16)
        and x.dtype == torch.float32
        and 0 <= float(x.min()) <= float(x.max()) <= 1
    )
    np.testing.assert_array_equal(z, [s == 1 for s in smile[:10]])
    _, zm = attributes.celeba_attribute_images(tmp_path, "Male", size=16, split="test")
    np.testing.assert_array_equal(zm, [0, 1])
    with pytest.raises(FileNotFoundError, match="celeba"):
        attributes.celeba_attribute_images(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="attr="):
        attributes.celeba_attribute_images(tmp_path, "Eyeglasses")
    cfg = xs_images.NeuralOTConfig(arch="conv", steps=2, t_iters=1, batch_size=4, width=8)
    res = xs_images.image_feature_unlearning(x, z, 4, cfg, seed=0)
    for key in ("gauss", "neural", "neural_mid", "t_ab"):
        assert res[key].shape == x.shape and torch.isfinite(res[key]).all()
    assert res["p1"] == pytest.approx(float(np.mean(z)))


def test_neural_ot_learns_a_translation():
    gen = torch.Generator().manual_seed(0)
    src = torch.randn(400, 2, generator=gen)
    tgt = torch.randn(400, 2, generator=gen) + torch.tensor([3.0, 0.0])
    cfg = xs_images.NeuralOTConfig(
        arch="mlp", steps=150, t_iters=5, lr=3e-3, batch_size=64, width=32
    )
    t_net, log = xs_images.neural_ot_map(src, tgt, cfg, seed=0)
    moved = xs_images.apply_map(t_net, src)
    assert abs(float(moved[:, 0].mean()) - 3.0) < 0.6 and abs(float(moved[:, 1].mean())) < 0.6
    assert len(log["t_loss"]) == 150
    with pytest.raises(ValueError, match="x_src"):
        xs_images.neural_ot_map(src, tgt[:, :1], cfg)
    with pytest.raises(ValueError, match="arch="):
        xs_images.NeuralOTConfig(arch="transformer")


def test_two_group_barycenter_images_weights():
    x = torch.zeros(10, 2)
    z = np.array([0] * 7 + [1] * 3)
    shift = torch.nn.Identity()
    plus = type("Plus", (torch.nn.Module,), {"forward": lambda self, v: v + 1.0})()
    out, p1 = xs_images.two_group_barycenter_images(x, z, plus, shift, "proportional")
    assert p1 == pytest.approx(0.3)
    # A moves by p_B towards T(x) = x + 1
    torch.testing.assert_close(out[:7], torch.full((7, 2), 0.3))
    mid, _ = xs_images.two_group_barycenter_images(x, z, plus, shift, "midpoint")
    torch.testing.assert_close(mid[:7], torch.full((7, 2), 0.5))


def test_image_groups_quick_and_audit():
    g = attributes.image_groups("quick", feature="ink", quantile=0.8, max_images=600)
    assert g["x"].shape == (600, 1, 28, 28) and g["z"].mean() == pytest.approx(0.2, abs=0.01)
    with pytest.raises(ValueError, match="quantile="):
        attributes.image_groups("quick", quantile=1.0)
    with pytest.raises(ValueError, match="profile="):
        attributes.image_groups("medium")
    audit = xs_images.image_audit(
        {"x": g["x"]}, g["z"], g["y"], n_components=8, max_pixels_rows=300
    )
    assert audit.loc["x", "probe_auc_pca"] > 0.9 and 0 < audit.loc["x", "digit_acc"] <= 1


def test_image_groups_full_reads_celeba(tmp_path):
    _fake_celeba(tmp_path, n=8)
    g = attributes.image_groups("full", tmp_path, celeba_attr="Male")
    assert g["x"].shape[1:] == (3, 64, 64) and g["y"] is None and "CelebA" in g["description"]


def test_install_on_a_non_sequential_model(task):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(64, 10)

        def forward(self, x):
            return self.fc(x.flatten(1))

    net = Net()
    xn = task.train.prepare(task.train.x)
    pre, _ = bc.fit_image_barycenter(xn, "ink", t=1.0, n_components=4)
    bc.install(net, pre)
    xb = xn[:16]
    torch.testing.assert_close(net(xb), net.fc(pre(xb).flatten(1)))
    with pytest.raises(ValueError, match="already"):
        bc.install(net, pre)


def test_tabular_path_baselines_reuse_the_right_rows():
    cfg = xs_tabular.TabularPathConfig(
        n_t=3, k_folds=2, rf_trees=5, probe_cv=2, mi_bins=4, label_transport="none"
    )
    df, per_fold = xs_tabular.tabular_path(
        _synthetic_table(300, seed=1), cfg, seed=0, return_folds=True
    )
    for fold in (0, 1):
        f = per_fold[per_fold.fold == fold].set_index(["point", "t"])
        assert f.loc[("original", 0.0), "auc_lr"] == f.loc[("path", 0.0), "auc_lr"]
        assert f.loc[("drop_z", 0.0), "probe_rf"] == f.loc[("path", 0.0), "probe_rf"]
        assert f.loc[("drop_z", 0.0), "mi"] == f.loc[("path", 0.0), "mi"]
        assert f.loc[("original", 0.0), "probe_lr"] > 0.99  # Z itself is a column
