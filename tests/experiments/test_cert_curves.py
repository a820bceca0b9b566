"""The certified-unlearning curve runners report what the noisy steps each run took certify
(issue 8: a budget shorter than the noisy phase must not carry the planned certificate)."""

from __future__ import annotations

import json
import math

import pytest

from companion import data, models
from companion.experiments import cert_curves, cert_setup
from companion.methods import certified as M
from companion.theory import certified as C

LONG = dict(c0=1.0, c1=1.0, gamma=1e-3, lam=50.0)  # T = 93 noisy steps
SHORT = dict(c0=0.01, c1=100.0, gamma=1e-4, lam=10.0)  # T = 1


@pytest.fixture(scope="module")
def setup():
    # 1,193 retain samples: 10 steps per epoch
    task = data.load_task("digits", forget="random:100", seed=0)
    nets = {s: models.build("tiny_mlp", task.input_shape, task.num_classes, seed=s) for s in (0, 1)}
    return cert_setup.CurveSetup(
        "quick",
        task,
        "tiny_mlp",
        "mnist",
        "cpu",
        (0, 1),
        nets,
        nets,
        "none",
        0,
        cert_setup.val_halves(task.val, 0),
    )


def test_run_curves_certifies_only_the_steps_run_and_select_skips_unfinished_settings(setup):
    grid = {
        "gradient_clipping": [LONG, SHORT],
        "model_clipping": [dict(c0=7.0, c2=0.01, sigma=0.01, gamma=1e-3, lam=900.0)],
        "output_perturbation": [dict(c0=0.01)],
    }
    df = cert_curves.run_curves(setup, epochs=2, calibrations=("theorem",), grid=grid)
    long = (
        df[(df.method == "gradient_clipping (theorem)") & (df["T"] == 93)].groupby("epoch").first()
    )
    assert long["noisy_steps_run"].tolist() == [10, 20] and not long["complete"].any()
    assert long.loc[1, "epsilon"] == pytest.approx(52.0, abs=0.05)  # not the planned 1
    s = M.gc_certificate(M.GradientClippingConfig(**LONG))["sigma"]
    assert long.loc[2, "epsilon"] == pytest.approx(
        C.gc_epsilon(**LONG, sigma=s, steps=20, delta=1e-5)[0]
    )
    short = df[(df.method == "gradient_clipping (theorem)") & (df["T"] == 1)]
    assert short["complete"].all() and short["epsilon"].tolist() == pytest.approx(
        [1.0] * len(short), rel=1e-6
    )
    mc = df[df.method == "model_clipping"]
    # the recursion solved for eps at delta
    assert mc["complete"].all() and (mc["epsilon"] <= 1.0).all()
    op = df[df.method == "output_perturbation"]
    # the classic noise, exactly
    assert op["epsilon"].tolist() == pytest.approx([0.751] * len(op), abs=1e-3)
    chosen = cert_curves.select(df, "paper")
    assert set(chosen[chosen.method == "gradient_clipping (theorem)"]["group"]) == {
        json.dumps(SHORT, sort_keys=True)
    }


def test_run_configs_reports_the_certificate_of_a_cut_short_run(setup):
    entries = [
        dict(method="gradient_clipping", label="long", **LONG),
        dict(method="output_perturbation", label="op100", epsilon=100.0),
        dict(method="model_clipping", label="mc", c0=7.0, c2=0.975, sigma=0.5, gamma=1e-4, lam=1.0),
        dict(method="retrain", label="re"),
    ]
    df = cert_curves.run_configs(setup, entries, 1, seeds=(0,))
    row = df.set_index("label")
    assert cert_curves.budget_steps(setup, 1) == 10
    assert row.loc["long", "noisy_steps_run"] == 10 and not row.loc["long", "complete"]
    assert row.loc["long", "certified_epsilon"] == pytest.approx(52.0, abs=0.05)
    assert row.loc["op100", "calibration_used"] == "analytic" and row.loc[
        "op100", "certified_epsilon"
    ] == pytest.approx(100.0, rel=1e-6)
    mc_cut = M.mc_certificate(
        M.ModelClippingConfig(c0=7.0, c2=0.975, sigma=0.5, gamma=1e-4, lam=1.0), 10
    )
    assert row.loc["mc", "noisy_steps_run"] == 10 and row.loc[
        "mc", "certified_epsilon"
    ] == pytest.approx(mc_cut["epsilon_at_delta"])
    assert row.loc["mc", "certified_epsilon"] > 1.0 and math.isfinite(
        row.loc["mc", "certified_epsilon"]
    )
    assert row.loc["re", "complete"] and row.loc["re", "certified_epsilon"] == 0.0


def test_a_pretrained_original_does_not_depend_on_which_others_were_missing(tmp_path):
    """The cache key is (task, arch, seed, weight decay, recipe): the model stored under it must be
    the same whether it was trained alone or alongside other seeds (two chapters filling one cache
    in parallel used to store different weights under one key, and nbval's re-run then
    disagreed)."""
    import torch

    task = data.load_task("digits", "random:20", seed=0)
    together = cert_setup.pretrain(task, "tiny_mlp", [0, 1], 5e-4, 2, cache_dir=tmp_path / "a")
    alone = cert_setup.pretrain(task, "tiny_mlp", [1], 5e-4, 2, cache_dir=tmp_path / "b")
    a, b = together[(1, 5e-4)].state_dict(), alone[(1, 5e-4)].state_dict()
    assert all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)
