"""Tests of companion.theory.jit: alpha(x) and curvature (Foster et al.)."""

from __future__ import annotations

import math

import pytest
import torch

from companion.experiments import jit_geometry as jg
from companion.theory import jit as tj

torch.set_num_threads(1)


def test_alpha_known_answer():
    pts = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5], [3.0, 0.0]])
    lab = torch.tensor([0, 0, 1, 1])
    alpha, count = tj.neighbourhood_agreement(pts[:1], lab[:1], pts, lab, r=1.0)
    # x itself excluded: neighbours (0.5, 0) [same] and (0, 0.5) [other]
    assert count.item() == 2 and alpha.item() == pytest.approx(0.5)
    alpha, count = tj.neighbourhood_agreement(pts[:1], lab[:1], pts, lab, r=1.0, exclude_self=False)
    assert count.item() == 3 and alpha.item() == pytest.approx(2 / 3)
    alpha, count = tj.neighbourhood_agreement(pts[3:], lab[3:], pts, lab, r=1.0)
    assert count.item() == 0 and math.isnan(alpha.item())


def test_knn_radius_known_answer():
    pts = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    # 1st neighbours (self excluded): 1, 1, 2, 3 -> median 1.5; 2nd: 3, 2, 3, 5 -> median 3
    assert tj.knn_radius(pts, pts, k=1) == pytest.approx(1.5)
    assert tj.knn_radius(pts, pts, k=2, scale=2.0) == pytest.approx(6.0)
    with pytest.raises(ValueError, match="k="):
        tj.knn_radius(pts, pts, k=9)


def test_alpha_thresholding_and_bad_input():
    a = torch.tensor([0.2, 0.8, 0.5])
    assert tj.is_high_information(a, 0.5).tolist() == [True, False, False]
    with pytest.raises(ValueError, match="tau"):
        tj.is_high_information(a, 1.5)
    with pytest.raises(ValueError, match="r="):
        tj.neighbourhood_agreement(
            a.view(-1, 1), torch.zeros(3), a.view(-1, 1), torch.zeros(3), r=0.0
        )


def test_sample_ball_stays_inside_and_fills_it():
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(2, 3, dtype=torch.float64)
    z = tj.sample_ball(x, 2.0, 4000, g)
    d = z.norm(dim=-1)
    assert z.shape == (4000, 2, 3) and d.max() <= 2.0 + 1e-12
    # uniform in a 3-ball: P(|z| <= r/2) = 1/8
    assert abs((d <= 1.0).double().mean().item() - 0.125) < 0.02


def test_model_agreement_for_a_linear_boundary():
    """A point on a straight boundary has alpha -> 1/2; one far from it has alpha = 1."""
    classify = lambda z: (z[:, 0] > 0).long()  # noqa: E731
    g = torch.Generator().manual_seed(0)
    x = torch.tensor([[1e-9, 0.0], [5.0, 0.0]], dtype=torch.float64)
    a = tj.model_agreement(classify, x, r=1.0, n=4000, generator=g)
    assert abs(a[0].item() - 0.5) < 0.03 and a[1].item() == 1.0


def test_curvature_known_answers():
    # f(x) = 0.5 x^T A x + b^T x: grad = A x + b, Hessian = A everywhere
    a = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    b = torch.tensor([1.0, -1.0], dtype=torch.float64)
    fn = lambda v: 0.5 * v @ a @ v + b @ v  # noqa: E731
    x = torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=torch.float64)
    out = tj.curvature(fn, x)
    want = a.norm() / (x @ a + b).norm(dim=1)
    torch.testing.assert_close(out["kappa"], want)
    est = tj.curvature(
        fn, x, method="hutchinson", n_probes=4000, generator=torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(est["kappa"], want, rtol=0.05, atol=0)
    # a linear function has zero curvature
    lin = tj.curvature(lambda v: b @ v, x)
    assert torch.all(lin["kappa"] == 0)


def test_curvature_of_a_model_output_and_bad_input():
    net = jg.tanh_mlp(3, (8,), seed=0)
    fn = tj.scalar_output(net, (3,), "margin", cls=1)
    x = torch.randn(4, 3, dtype=torch.float64)
    k = tj.curvature(fn, x)["kappa"]
    assert k.shape == (4,) and torch.all(k > 0)
    with pytest.raises(ValueError, match="method"):
        tj.curvature(fn, x, method="lanczos")
    with pytest.raises(ValueError, match="kind"):
        tj.scalar_output(net, (3,), "entropy")
