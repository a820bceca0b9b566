"""Known answers for the distances to a reference model's outputs."""

import math

import numpy as np
import pytest
import torch

from companion.metrics import distances as D


def _rand_probs(rng, n=20, c=5):
    z = rng.normal(size=(n, c)) * 2
    return torch.softmax(torch.as_tensor(z), 1)


def test_identical_inputs_give_zero():
    p = _rand_probs(np.random.default_rng(0))
    assert D.kl_to_reference(p, p) == pytest.approx(0.0, abs=1e-12)
    assert D.js_to_reference(p, p) == pytest.approx(0.0, abs=1e-12)
    assert D.js_as_coded(p, p) == pytest.approx(0.0, abs=1e-12)
    assert D.activation_distance(p, p) == 0.0


def test_js_is_symmetric_and_at_most_ln2():
    rng = np.random.default_rng(1)
    p, q = _rand_probs(rng), _rand_probs(rng)
    assert D.js_to_reference(p, q) == pytest.approx(D.js_to_reference(q, p))
    assert 0 < D.js_to_reference(p, q) < math.log(2)
    # disjoint one-hots
    a, b = (
        torch.eye(3, dtype=torch.float64),
        torch.eye(3, dtype=torch.float64)[[1, 2, 0]],
    )
    assert D.js_to_reference(a, b) == pytest.approx(math.log(2))
    assert D.activation_distance(a, b) == pytest.approx(math.sqrt(2))


def test_kl_on_a_fixed_example():
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    q = np.array([[0.25, 0.75], [0.5, 0.5]])
    want = np.mean(
        [0.5 * math.log(2) + 0.5 * math.log(0.5 / 0.75), 0.9 * math.log(1.8) + 0.1 * math.log(0.2)]
    )
    assert D.kl_to_reference(p, q) == pytest.approx(want)


def test_js_as_coded_equals_the_reference_formula():
    """0.5 F.kl_div(log p, m) + 0.5 F.kl_div(log q, m) with the default mean over all N x C
    elements."""
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    q = np.array([[0.2, 0.5, 0.3], [0.3, 0.3, 0.4]])
    m = (p + q) / 2
    want = 0.5 * np.mean(m * (np.log(m) - np.log(p))) + 0.5 * np.mean(m * (np.log(m) - np.log(q)))
    assert D.js_as_coded(p, q) == pytest.approx(want)
    # the standard value is about C times larger
    assert D.js_to_reference(p, q) > 2 * D.js_as_coded(p, q)


def test_zrf_and_model_outputs():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3))
    other = torch.nn.Sequential(torch.nn.Linear(4, 3))
    x = torch.randn(30, 4)
    p, t = D.softmax_outputs(net, x), D.softmax_outputs(other, x)
    assert D.zrf(p, p) == pytest.approx(1.0) and D.zrf(p, p, js="as_coded") == pytest.approx(1.0)
    assert D.zrf(p, t) < 1.0
    assert D.activation_distance(D.softmax_outputs(net, x), p) == 0.0


def test_bad_inputs():
    p = np.array([[0.5, 0.5]])
    with pytest.raises(ValueError, match="p"):
        D.kl_to_reference(np.array([[0.5, 0.6]]), p)
    with pytest.raises(ValueError, match="q"):
        D.js_to_reference(p, np.array([[0.2, 0.3, 0.5]]))
    with pytest.raises(ValueError, match="p"):
        D.js_as_coded(np.array([0.5, 0.5]), p)
    with pytest.raises(ValueError, match="js"):
        D.zrf(p, p, js="other")
    with pytest.raises(ValueError, match="model"):
        D.softmax_outputs("net", torch.zeros(1, 2))
