"""``python -m companion sweep``: the spec is validated before any work, a run's stored result
equals the direct library call's, finished runs are never redone, and a sweep killed with SIGKILL
midway resumes with every run's result stored exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from companion import sweep, sweep_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "benchmarks" / "sweeps" / "example.json"


def _spec(tmp_path: Path, raw: dict, name: str = "grid") -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(raw))
    return path


# --------------------------------------------------------------------------------------------
# The spec (no Ray)
# --------------------------------------------------------------------------------------------

GOOD = {"task": "digits", "grid": {"method": ["retrain"], "seed": [0]}}


@pytest.mark.parametrize(
    "raw, match",
    [
        ({"task": "nope", "grid": {"method": ["retrain"]}}, "task='nope'.*digits"),
        ({"task": "digits", "grid": {"method": ["zap"]}}, "method='zap'.*retrain"),
        ({"task": "digits", "grid": {"method": ["retrain"], "seed": [-1]}}, "seed=-1"),
        ({"task": "digits", "grid": {"method": ["retrain"], "seed": [1.5]}}, "seed=1.5"),
        ({"task": "digits", "grid": {"method": ["retrain"], "forget": ["class:10"]}}, "class:10"),
        ({"task": "digits", "grid": {"method": ["retrain"], "forget": ["klass:1"]}}, "klass:1"),
        ({"task": "digits", "grid": {"method": ["retrain"], "arch": ["vgg99"]}}, "arch='vgg99'"),
        ({"task": "digits", "grid": {"method": ["retrain"], "profile": ["huge"]}}, "huge"),
        ({"task": "digits", "grid": {"method": ["retrain"], "epsilon": [1.0]}}, "epsilon=.*init"),
        (
            {"task": "digits", "grid": {"method": ["model_clipping"], "epsilon": [-1.0]}},
            "epsilon=-1.0",
        ),
        ({"task": "digits", "grid": {"method": ["retrain"], "seed": [0, 0]}}, "grid.seed"),
        ({"task": "digits", "grid": {"method": []}}, "grid.method"),
        ({"task": "digits", "grid": {}}, "grid="),
        ({"grid": {"method": ["retrain"]}}, "task=None"),
        ({"task": "digits", "grid": {"seed": [0]}}, "method=None"),
        ({"task": "digits", "grid": {"method": ["retrain"]}, "fixed": {"seed": [0]}}, "fixed.seed"),
        (
            {"task": "digits", "grid": {"method": ["retrain"], "seed": [0]}, "fixed": {"seed": 1}},
            "seed",
        ),
        ({**GOOD, "grids": {}}, "spec key='grids'"),
    ],
)
def test_bad_specs_are_refused_before_any_work(tmp_path, raw, match):
    path = _spec(tmp_path, raw)
    with pytest.raises(ValueError, match=match):
        sweep_spec.load_spec(path)
    store = tmp_path / "store"
    with pytest.raises(ValueError, match=match):
        sweep.run_sweep(path, store=store, show_progress=False)
    assert not store.exists()  # refused before the store was made


def test_bad_sweep_options_are_refused(tmp_path):
    path = _spec(tmp_path, GOOD)
    for kw, match in [
        ({"max_parallel": 0}, "max_parallel=0"),
        ({"cpus_per_run": 0}, "cpus_per_run=0"),
        ({"gpus_per_run": -1.0}, "gpus_per_run=-1.0"),
        ({"device": "tpu"}, "DEVICE='tpu'"),
        ({"address": ""}, "address=''"),
    ]:
        with pytest.raises(ValueError, match=match):
            sweep.run_sweep(path, store=tmp_path / "store", show_progress=False, **kw)
    assert not (tmp_path / "store").exists()
    with pytest.raises(FileNotFoundError):
        sweep.run_sweep(tmp_path / "missing.json", store=tmp_path / "store")


def test_example_expands_to_the_grid_with_settings_only_where_they_apply():
    spec = sweep_spec.load_spec(EXAMPLE)
    labels = sorted(r.label() for r in spec.runs)
    # retrain has no epsilon: it runs once per seed, model_clipping once per (seed, epsilon)
    assert labels == sorted(
        [f"retrain digits class:3 seed={s}" for s in (0, 1)]
        + [
            f"model_clipping digits class:3 seed={s} epsilon={e}"
            for s in (0, 1)
            for e in (0.5, 1.0)
        ]
    )
    assert len({r.key() for r in spec.runs}) == len(spec.runs) == 6
    assert spec.name == "example"


def test_a_yaml_spec_is_the_same_grid_as_its_json(tmp_path):
    yaml = pytest.importorskip("yaml")
    raw = json.loads(EXAMPLE.read_text())
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert sweep_spec.load_spec(path) == sweep_spec.load_spec(EXAMPLE)
    (tmp_path / "grid.toml").write_text("")
    with pytest.raises(ValueError, match="spec=.*grid.toml"):
        sweep_spec.load_spec(tmp_path / "grid.toml")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        sweep_spec.load_spec(tmp_path / "broken.json")


def test_run_keys_are_canonical():
    """The key depends on the run's parameters only: not on the order of keys or values, nor on
    spelling a default out or an int for a float setting."""
    a = sweep_spec.expand(
        {"task": "digits", "grid": {"method": ["model_clipping"], "epsilon": [1, 2.0]}}, "a"
    )
    b = sweep_spec.expand(
        {
            "grid": {"epsilon": [2.0, 1.0], "method": ["model_clipping"]},
            "fixed": {"arch": "mlp", "forget": "class:3", "seed": 0, "task": "digits"},
        },
        "b",
    )
    assert sorted(r.key() for r in a.runs) == sorted(r.key() for r in b.runs)
    run = a.runs[0]
    assert sweep_spec.Run.from_params(json.loads(json.dumps(run.params()))).key() == run.key()
    other = sweep_spec.expand(
        {"task": "digits", "grid": {"method": ["model_clipping"], "epsilon": [1.0], "seed": [1]}},
        "c",
    )
    assert other.runs[0].key() != run.key()


def test_partial_or_foreign_result_files_are_not_trusted(tmp_path):
    run = sweep_spec.load_spec(EXAMPLE).runs[0]
    path = sweep.result_path(tmp_path, run)
    path.parent.mkdir(parents=True)
    good = {
        "schema": sweep.SCHEMA,
        "key": run.key(),
        "params": run.params(),
        "result": {"scores": {"test_acc": 0.5}},
        "provenance": {},
    }
    path.write_text(json.dumps(good))
    assert sweep.read_result(tmp_path, run) == good
    text = json.dumps(good)
    for bad in (
        text[: len(text) // 2],  # cut short
        "",
        json.dumps({**good, "key": "0" * 16}),
        json.dumps({**good, "params": {**run.params(), "seed": 7}}),
        json.dumps({**good, "schema": 0}),
        json.dumps({k: v for k, v in good.items() if k != "result"}),
    ):
        path.write_text(bad)
        assert sweep.read_result(tmp_path, run) is None


# --------------------------------------------------------------------------------------------
# Sweeps on a local Ray with 2 CPUs
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_address():
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=100 * 1024**2,
        logging_level="WARNING",
    )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One checkpoint cache for the module, holding the seed-3 original model on digits (every
    sweep below uses it; the workers load it instead of each training it)."""
    from companion import data, models

    folder = tmp_path_factory.mktemp("sweep-cache")
    task = data.load_task("digits", forget="class:3", seed=3)
    models.train_or_load(task, "mlp", "quick", 3, device="cpu", cache_dir=folder)
    return folder


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, path.read_bytes()


def _finished(store: Path) -> list[str]:
    return [e["key"] for e in sweep.read_events(store) if e["event"] == "finished"]


@pytest.mark.slow
def test_a_sweep_run_equals_the_direct_call_and_is_never_redone(tmp_path, ray_address, cache):
    from companion import data, methods, metrics, models

    path = _spec(
        tmp_path,
        {"task": "digits", "grid": {"method": ["retrain", "finetune"], "seed": [3]}},
    )
    store = tmp_path / "store"
    out = sweep.run_sweep(path, store=store, cache_dir=cache, show_progress=False)
    spec = sweep_spec.load_spec(path)
    assert out["failed"] == [] and out["skipped"] == []
    assert sorted(out["ran"]) == sorted(r.key() for r in spec.runs)

    # the direct library calls, same seed, same cache: the same scores (the times aside)
    for run in spec.runs:
        rec = sweep.read_result(store, run)
        task = data.load_task("digits", forget="class:3", seed=3)
        model = models.train_or_load(task, "mlp", "quick", 3, device="cpu", cache_dir=cache)
        res = methods.unlearn(run.method, model, task, "quick", 3, "cpu")
        direct = metrics.evaluate(res, task, "cpu")
        stored = rec["result"]["scores"]
        assert set(stored) == set(direct)
        for k, v in direct.items():
            if k != "seconds":
                assert stored[k] == pytest.approx(v, rel=0, abs=0), k
        prov = rec["provenance"]
        assert prov["threads"] == 1 and prov["device"] == "cpu" and prov["ray"]
        assert set(prov) >= {"commit", "code_sha256", "torch", "companion", "data", "host"}
        assert prov["data"]  # the digits file's checksum

    # a second sweep finds everything stored: nothing runs, no file is rewritten
    before = {p.name: _stamp(p) for p in (store / "runs").glob("*.json")}
    again = sweep.run_sweep(path, store=store, cache_dir=cache, show_progress=False)
    assert again["ran"] == [] and sorted(again["skipped"]) == sorted(out["ran"])
    assert {p.name: _stamp(p) for p in (store / "runs").glob("*.json")} == before

    # a corrupt file is not trusted: that run, and only that one, runs again
    victim = sweep.result_path(store, spec.runs[1])
    victim.write_text(victim.read_text()[:40])
    third = sweep.run_sweep(path, store=store, cache_dir=cache, show_progress=False)
    assert third["ran"] == [spec.runs[1].key()]
    assert sweep.read_result(store, spec.runs[1]) is not None
    rows = (store / "index.csv").read_text().splitlines()
    assert rows[0].startswith("key,task,forget,method,seed,arch,profile,")
    assert sorted(r.split(",")[0] for r in rows[1:]) == sorted(r.key() for r in spec.runs)


@pytest.mark.slow
def test_a_killed_sweep_resumes_with_every_result_exactly_once(tmp_path, ray_address, cache):
    raw = {
        "task": "digits",
        "grid": {"forget": ["class:3", "class:5"], "method": ["retrain", "finetune"]},
        "fixed": {"seed": 3},
    }
    path = _spec(tmp_path, raw)
    spec = sweep_spec.load_spec(path)
    store = tmp_path / "store"
    cmd = [sys.executable, "-m", "companion", "sweep", str(path), "--store", str(store)]
    cmd += ["--address", ray_address, "--max-parallel", "1", "--cache-dir", str(cache)]
    env = {**os.environ, "COMPANION_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while len(list((store / "runs").glob("*.json"))) < 2:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no two runs finished in time"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    done = {p.stem: _stamp(p) for p in (store / "runs").glob("*.json")}
    assert 2 <= len(done) < len(spec.runs)
    assert not (store / "index.csv").exists()  # the index is written at the end

    out = sweep.run_sweep(path, store=store, cache_dir=cache, show_progress=False)
    keys = sorted(r.key() for r in spec.runs)
    assert out["failed"] == []
    assert sorted(out["skipped"]) == sorted(done)  # finished runs are not recomputed ...
    assert sorted(out["ran"]) == sorted(set(keys) - set(done))  # ... and none is lost
    for key, stamp in done.items():  # ... nor rewritten
        assert _stamp(store / "runs" / f"{key}.json") == stamp
    # every run has exactly one complete result, finished exactly once over both sweeps
    assert sorted(p.stem for p in (store / "runs").iterdir()) == keys
    assert all(sweep.read_result(store, r) is not None for r in spec.runs)
    assert sorted(_finished(store)) == keys
    rows = (store / "index.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == keys


@pytest.mark.slow
def test_failed_runs_are_reported_not_stored_and_infeasible_tasks_refused(
    tmp_path, ray_address, cache
):
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA (a CUDA run must fail in the worker)")
    path = _spec(tmp_path, GOOD)
    store = tmp_path / "store"
    # DEVICE='cuda' passes validation (the workers may have GPUs) and fails in the worker here
    out = sweep.run_sweep(
        path, store=store, device="cuda", gpus_per_run=0, cache_dir=cache, show_progress=False
    )
    key = sweep_spec.load_spec(path).runs[0].key()
    assert out["ran"] == [] and [k for k, _ in out["failed"]] == [key]
    assert "cuda" in out["failed"][0][1].lower()
    assert not list((store / "runs").iterdir())
    assert [e["event"] for e in sweep.read_events(store)] == ["dispatched", "failed"]
    assert (store / "index.csv").read_text().startswith("key,task,")
    # a GPU per run on this 2-CPU Ray would wait forever: refused (cuda reserves one by default)
    with pytest.raises(ValueError, match="gpus_per_run=1.0 .*GPU"):
        sweep.run_sweep(path, store=store, device="cuda", show_progress=False)
    with pytest.raises(ValueError, match="cpus_per_run=3 .*CPU"):
        sweep.run_sweep(path, store=store, cpus_per_run=3, show_progress=False)


def test_a_store_in_use_by_another_sweep_is_refused(tmp_path):
    import fcntl

    store = tmp_path / "store"
    store.mkdir()
    with open(store / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ValueError, match="store=.*no other sweep"):
            sweep.run_sweep(_spec(tmp_path, GOOD), store=store, show_progress=False)
    assert not (store / "events.jsonl").exists()


def test_cli_sweep_refuses_a_bad_spec(tmp_path, capsys):
    from companion import cli

    path = _spec(tmp_path, {"task": "digits", "grid": {"method": ["zap"]}})
    assert cli.main(["sweep", str(path), "--store", str(tmp_path / "s")]) == 2
    assert "method='zap'" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
