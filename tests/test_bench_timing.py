"""companion.bench_timing: round-robin best-of timing, the row format and the log-log slope."""

import numpy as np
import pytest

from companion import bench_timing
from companion.bench_timing import best_of, loglog_slope, ratio_row, sizes


@pytest.mark.parametrize("k", [0.5, 1.0, 2.0, -1.0])
def test_slope_of_a_power_law_is_its_exponent(k):
    """Known answer: t = c n^k exactly gives slope k, whatever c and the sizes."""
    n = np.array([5, 25, 100, 400])
    assert loglog_slope(n, 3e-3 * n**k) == pytest.approx(k, abs=1e-12)
    assert loglog_slope([7.0, 11.0], [2.0 * 7.0**k, 2.0 * 11.0**k]) == pytest.approx(k, abs=1e-12)


def test_slope_is_the_least_squares_fit_of_noisy_times():
    rng = np.random.default_rng(0)
    n = np.geomspace(10, 1e4, 9)
    t = 0.1 * n**1.5 * np.exp(rng.normal(0, 0.05, n.size))
    assert loglog_slope(n, t) == pytest.approx(np.polyfit(np.log(n), np.log(t), 1)[0])
    assert abs(loglog_slope(n, t) - 1.5) < 0.1


@pytest.mark.parametrize(
    "n, t, name",
    [
        ([10], [1.0], "sizes"),
        ([10, 10], [1.0, 2.0], "sizes"),
        ([0, 10], [1.0, 2.0], "sizes"),
        ([1, 10], [1.0], "seconds"),
        ([1, 10], [1.0, 0.0], "seconds"),
        ([1, 10], [1.0, float("nan")], "seconds"),
    ],
)
def test_slope_refuses_what_has_no_slope(n, t, name):
    with pytest.raises(ValueError, match=f"{name}="):
        loglog_slope(n, t)


def test_best_of_alternates_skips_the_warm_up_and_keeps_the_fastest(monkeypatch):
    """A fake clock: each call takes the time scripted for it; round 0 (warm-up) is the slowest
    and must not count, the best timed round must."""
    script = {"a": iter([9.0, 3.0, 1.0, 2.0]), "b": iter([9.0, 5.0, 6.0, 4.0])}
    now = [0.0]
    calls = []

    def fn(name):
        def go():
            calls.append(name)
            now[0] += next(script[name])

        return go

    monkeypatch.setattr(bench_timing.time, "perf_counter", lambda: now[0])
    best = best_of({"a": fn("a"), "b": fn("b")}, rounds=3)
    assert calls == ["a", "b"] * 4  # round-robin, one warm-up round + 3 timed
    assert best == {"a": 1.0, "b": 4.0}
    with pytest.raises(ValueError, match="rounds=0"):
        best_of({"a": fn("a")}, 0)


def test_ratio_row_is_baseline_over_ours_and_checks_the_tolerance():
    r = ratio_row("x", "s", 2.0, 5.0, "base", "gap", 1e-7, 1e-6, target=">= 1.0x")
    assert r["speedup"] == 2.5 and r["same"] and r["target"] == ">= 1.0x"
    assert not ratio_row("x", "s", 1.0, 1.0, "base", "gap", 1e-3, 1e-6)["same"]


def test_sizes_and_the_matmul_ceiling():
    assert sizes("ns", [5, 25]) == (5, 25)
    for bad in ([], [0, 5], [5, 5], [2.5], "25", [True]):
        with pytest.raises(ValueError, match="ns="):
            sizes("ns", bad)
    assert bench_timing.matmul_gflops("cpu", n=64, reps=2) > 0
    with pytest.raises(ValueError, match="n=0"):
        bench_timing.matmul_gflops("cpu", n=0)
