"""Tests of companion.experiments.jit_perturbation: the matched-norm arithmetic, the estimator
spread and a small run of the law experiment."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from companion.experiments import jit_perturbation as jp

torch.set_num_threads(1)


def test_gaussian_expected_norm_is_the_chi_mean():
    """Known answers: E||z|| = sqrt(2/pi) in d = 1 (half-normal), sqrt(pi/2) in d = 2 (Rayleigh),
    2 sqrt(2/pi) in d = 3 (Maxwell)."""
    assert jp.gaussian_expected_norm(1) == pytest.approx(math.sqrt(2 / math.pi))
    assert jp.gaussian_expected_norm(2) == pytest.approx(math.sqrt(math.pi / 2))
    assert jp.gaussian_expected_norm(3, 2.0) == pytest.approx(2 * 2 * math.sqrt(2 / math.pi))


def test_delta_method_matches_the_exact_gaussian_norm_to_order_1_over_d2():
    for d in (16, 64, 784):
        exact = jp.gaussian_expected_norm(d)
        assert abs(jp.approx_expected_norm("gaussian", d) / exact - 1) < 1.0 / d**2


def test_norm_check_measures_the_matched_moments():
    t = jp.norm_check(dims=(64,), sigma=0.5, n_draws=3000, seed=1)
    assert set(t.index.get_level_values("law")) == set(jp.PERTURBATIONS)
    for law in jp.PERTURBATIONS:
        row = t.loc[(law, 64)]
        assert abs(row["E|xi|^2 / (sigma^2 d)"] - 1) < 0.02
        assert abs(row["E|xi| / Gaussian's"] - row["predicted"]) < 5 * row["std error"] + 1e-3
    # the Laplace law's heavier tails shrink E||xi|| below the Gaussian's, the uniform's raise it
    assert t.loc[("laplace", 64), "predicted"] < 1 < t.loc[("uniform", 64), "predicted"]


def test_estimator_spread_known_answers():
    """A constant network: every estimate is 0 (no spread). A linear map: antithetic pairs repeat
    their ratio, so the N-draw antithetic estimate has about twice the Gaussian's variance."""

    class Const(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Parameter(torch.ones(3))

        def forward(self, x):
            return self.c.expand(x.shape[0], -1) + 0 * x.sum()

    x = torch.randn(4, 6)
    s = jp.estimator_spread(Const(), x, 0.5, 4, "gaussian", n_repeats=3)
    assert s["loss_mean"] == 0 and s["loss_std"] == 0
    torch.manual_seed(0)
    f = nn.Linear(6, 3).double()
    x = torch.randn(1, 6, dtype=torch.float64)
    g = jp.estimator_spread(f, x, 0.3, 8, "gaussian", n_repeats=400)
    a = jp.estimator_spread(f, x, 0.3, 8, "antithetic", n_repeats=400)
    ratio = (a["loss_std"] / g["loss_std"]) ** 2
    assert 1.6 < ratio < 2.5
    assert a["loss_mean"] == pytest.approx(g["loss_mean"], rel=0.05)


def test_setting_validates_and_profiles():
    q = jp.PerturbationSetting.for_profile("quick")
    f = jp.PerturbationSetting.for_profile("full")
    assert q.laws == jp.PERTURBATIONS and len(f.seeds) > len(q.seeds)
    assert f.table_setting("full_class")["task"] == "mnist"
    assert q.table_setting("random")["task"] == "digits"
    for bad in (
        {"laws": ("cauchy",)},
        {"sigmas": (0.0,)},
        {"sigmas": ()},
        {"tables": ("rows",)},
        {"seed": -1},
        {"n_repeats": 1},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            jp.PerturbationSetting(**bad)


def test_small_run_has_every_arm_and_the_redraw_control():
    st = jp.PerturbationSetting(
        tables=("random",), laws=("gaussian", "antithetic"), sigmas=(0.5,), n_repeats=2
    )
    r = jp.run_perturbation(st)
    assert set(r.runs.law) == {"gaussian", "antithetic", jp.REDRAW}
    assert set(r.references.label) == {"BSLN", "RTRN"}
    assert len(r.spread) == 2  # no spread row for the redraw (same law as the Gaussian)
    for col in ("Dr", "Df", "mia_entropy", "step_norm"):
        assert r.runs[col].notna().all()
    t = jp.law_summary(r, "Df")
    assert list(t.columns) == ["gaussian", "antithetic", jp.REDRAW]
    gap = jp.largest_law_gap(r, "Df")
    assert (gap >= 0).all().all()
    # the redraw is the same law with another stream: a different model
    g = r.runs.set_index("law")
    assert g.loc["gaussian", "step_norm"] != g.loc[jp.REDRAW, "step_norm"]
    with pytest.raises(ValueError, match="metric"):
        jp.law_summary(r, "accuracy")
