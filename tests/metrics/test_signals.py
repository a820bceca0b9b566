"""Known answers for the per-example signals: LiRA's logit-scaled confidence, the challenge scorer's
formula and KLoM's margin."""

import math

import numpy as np
import pytest
import torch

from companion.metrics.signals import logit_scaled_confidence, margin


def test_margin_is_the_log_odds_of_the_true_class():
    z = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    y = torch.tensor([0, 2])
    p = torch.softmax(z.double(), 1)
    want = [math.log(p[0, 0] / (1 - p[0, 0])), math.log(p[1, 2] / (1 - p[1, 2]))]
    np.testing.assert_allclose(margin(z, y), want, rtol=1e-12)
    np.testing.assert_allclose(
        margin(z, y), [2 - math.log(1 + math.exp(-1)), -math.log(2)], rtol=1e-12
    )


def test_stable_signal_stays_finite_where_the_challenge_formula_saturates():
    z = torch.tensor([[400.0, 0.0], [0.0, 400.0]])
    y = torch.tensor([0, 0])
    np.testing.assert_allclose(logit_scaled_confidence(z, y), [400.0, -400.0])
    ch = logit_scaled_confidence(z, y, variant="challenge")
    np.testing.assert_allclose(ch, [-math.log(1e-45), math.log(1e-45)], rtol=1e-9)


def test_variants_agree_on_ordinary_logits_and_accept_a_stack_of_models():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4, 50, 10, generator=g)
    y = torch.randint(0, 10, (50,), generator=g)
    a, b = logit_scaled_confidence(z, y), logit_scaled_confidence(z, y, variant="challenge")
    assert a.shape == (4, 50)
    np.testing.assert_allclose(a, b, atol=1e-9)
    np.testing.assert_allclose(a[2], margin(z[2], y))


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(variant="exact"), "variant"),
        (dict(targets=[0, 5]), "targets"),
        (dict(logits=[[1.0, float("nan")], [0.0, 1.0]]), "logits"),
    ],
)
def test_bad_input_names_the_parameter(kw, name):
    args = dict(logits=[[1.0, 0.0], [0.0, 1.0]], targets=[0, 1]) | kw
    with pytest.raises(ValueError, match=name):
        logit_scaled_confidence(**args)
