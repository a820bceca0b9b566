"""The repeated-requests experiment (chapter cert/06): noise table, composed releases, audit."""

from __future__ import annotations

import numpy as np
import pytest

from companion.experiments import cert_repeated as X
from companion.theory import repeated as R


def test_setting_profiles():
    q, f = X.CertRepeatedSetting.for_profile("quick"), X.CertRepeatedSetting.for_profile("full")
    assert q.k_max < f.k_max and q.n_runs < f.n_runs and q.audit_k < f.audit_k
    assert f.per_request == 225  # Figure 3's forget set


def test_noise_table_shape_and_invariants():
    df = X.noise_table(4, 1.0, per_request=1)
    assert len(df) == 4 * len(R.OPTIONS) * len(X.CONFIGS)
    one = df[df["k"] == 1]
    assert np.allclose(one["ratio"], 1.0, rtol=1e-9)  # every option is the single request at k=1
    restart = df[df["option"] == "restart"]
    assert np.allclose(restart["ratio"], 1.0)
    for _, d in df.groupby(["config", "option"]):
        assert np.all(np.diff(d.sort_values("k")["sigma"].to_numpy()) >= -1e-12)
    with pytest.raises(ValueError, match="k_max"):
        X.noise_table(0, 1.0)


def test_request_releases_restart_clips_continue_does_not():
    restart = X.request_releases(2, 64, 1.0, variant="restart", seed=3)
    cont = X.request_releases(2, 64, 1.0, variant="continue", seed=3)
    assert len(restart) == len(cont) == 2
    # request 1 is the same run in both variants (same seed)
    np.testing.assert_array_equal(restart[0][0], cont[0][0])
    # the continued chain is Gaussian with variance sigma^2 sum rho^(2j) over 2T steps, the
    # restarted one is re-clipped to [-1, 1] before its second request: a smaller spread
    assert cont[1][0].std() > restart[1][0].std()
    with pytest.raises(ValueError, match="variant"):
        X.request_releases(2, 64, 1.0, variant="both")


def test_continued_shift_closed_form():
    # one step: means +-rho C0, sd sigma
    assert X.continued_shift(1.0, 0.1, 1.0, 2.0, 1) == pytest.approx(2 * 0.9 / 2.0)
    mu2 = X.continued_shift(1.0, 0.1, 1.0, 2.0, 2)
    assert mu2 == pytest.approx(2 * 0.81 / (2.0 * np.sqrt(1 + 0.81)))


def test_audit_lower_bounds_stay_below_the_certificates():
    df = X.audit_requests(2, 600, 4.0, seed=1)
    assert len(df) == 6
    assert (df["eps_lb"] <= df["claim"]).all()
    k1 = df[df["k"] == 1]
    assert np.allclose(k1["claim"], k1["claim"].iloc[0])  # one request: one certificate
    cont = df[df["variant"] == "continue"]
    assert (cont["eps_exact"] <= cont["claim"]).all()
    assert (np.abs(cont["mu_hat"] - cont["mu_exact"]) < 4 * cont["mu_se"]).all()
    assert not cont["shift_flag"].any()
    chain = df[df["reference"] == "chain"].drop_duplicates("k")
    assert chain["claim"].is_monotonic_decreasing  # the flat-loss chain bound improves with k
