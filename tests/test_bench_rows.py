"""companion.bench_rows: each timed pair does the same work (results equal within the row's
tolerance), and every row validates its sizes before any work."""

import pytest

from companion import bench_rows, data
from companion.models import build


@pytest.fixture(scope="module")
def task():
    return data.load_task("mnist5k", forget="class:3", seed=0)


def test_ensemble_rows_train_the_same_models_at_once_and_one_by_one(task):
    rows = bench_rows.bench_ensemble(
        task, 1, ks=(2, 4), archs=("tiny_mlp",), pool_size=64, epochs=1
    )
    assert [(r["K"], r["arch"]) for r in rows] == [(2, "tiny_mlp"), (4, "tiny_mlp")]
    for r in rows:
        assert r["same"] and r["difference"] <= 1e-4 and r["ours_s"] > 0, r
    with pytest.raises(ValueError, match="ks="):
        bench_rows.bench_ensemble(task, 1, ks=(1,))
    with pytest.raises(ValueError, match="pool_size=10000000"):
        bench_rows.bench_ensemble(task, 1, pool_size=10_000_000)
    with pytest.raises(ValueError, match="epochs=0"):
        bench_rows.bench_ensemble(task, 1, epochs=0)


def test_method_rows_are_repeatable_and_compared_with_retrain(task):
    rows = bench_rows.bench_methods(task, 1, ["jit", "finetune"], n_pool=400)
    assert [r["method"] for r in rows] == ["jit", "finetune"]
    for r in rows:
        assert r["baseline"] == "retrain" and r["same"] and r["difference"] == 0.0, r
        assert r["speedup"] == pytest.approx(r["baseline_s"] / r["ours_s"])
    assert rows[0]["baseline_s"] == rows[1]["baseline_s"]  # one retrain time for all
    with pytest.raises(ValueError, match="names="):
        bench_rows.bench_methods(task, 1, ["retrain"])
    assert "barycenter" not in bench_rows.method_names()


def test_linear_macs_known_answer():
    assert bench_rows.linear_macs(build("mlp", (1, 28, 28), 10)) == 784 * 128 + 128 * 64 + 64 * 10
    assert bench_rows.linear_macs(build("tiny_mlp", (1, 28, 28), 10)) == 784 * 5 + 5 * 10
    with pytest.raises(ValueError, match="model"):
        bench_rows.linear_macs(build("tiny_cnn", (1, 28, 28), 10))


def test_flops_rows_share_is_rate_over_ceiling(task):
    rows = bench_rows.bench_flops(task, 1, n_train=128, k=2, pool_size=64)
    assert [r["benchmark"] for r in rows] == ["fit_flops", "ensemble_flops"]
    for r in rows:
        assert 0 < r["share_of_ceiling"] == pytest.approx(r["gflops"] / r["matmul_ceiling_gflops"])
    with pytest.raises(ValueError, match="k=1"):
        bench_rows.bench_flops(task, 1, n_train=128, k=1)


def test_threads_and_chunk_rows_do_the_same_work(task):
    r = bench_rows.bench_threads(task, 1, n_train=128)
    assert r["same"] and "128 mnist5k images" in r["setting"]
    with pytest.raises(ValueError, match="n_train=0"):
        bench_rows.bench_threads(task, 1, n_train=0)
    for r in bench_rows.bench_jit_chunk(1, n=3, batch=4):
        assert r["same"], r
