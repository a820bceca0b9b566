"""``python -m companion bench``: one table of ratios measured side by side, written as JSON."""

import json

import pytest

from companion import bench
from companion.cli import main


def test_bench_rows_compare_equal_work_and_are_written_as_json(tmp_path, capsys):
    out = tmp_path / "b.json"
    argv = ["bench", "--quick", "--rounds", "1", "--groups", "ensemble", "jit_chunk", "flops"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["machine"]["rounds"] == 1 and result["machine"]["quick"] is True
    assert result["machine"]["groups"] == ["ensemble", "jit_chunk", "flops"]
    timed = [r for r in result["rows"] if "speedup" in r]
    assert {r["benchmark"] for r in timed} == {"ensemble", "jit_chunk"}
    assert {r["arch"] for r in timed if r["benchmark"] == "ensemble"} == {"tiny_mlp", "mlp"}
    for r in timed:
        assert r["speedup"] == pytest.approx(r["baseline_s"] / r["ours_s"]) and r["ours_s"] > 0
        assert r["same"] and r["difference"] <= r["tolerance"], r  # both ways did the same work
        assert r["setting"] in printed
    flops = {r["benchmark"]: r for r in result["rows"] if "gflops" in r}
    assert set(flops) == {"fit_flops", "ensemble_flops"}
    for r in flops.values():
        assert 0 < r["share_of_ceiling"] == pytest.approx(r["gflops"] / r["matmul_ceiling_gflops"])


def test_the_table_prints_every_kind_of_row():
    rows = [
        {"benchmark": "cost_n", "setting": "s", "size": "N", "sizes": [5, 25], "seconds": [1, 5]}
        | {"slope": 1.0},
        {"benchmark": "fit_flops", "setting": "f", "gflops": 2.0}
        | {"matmul_ceiling_gflops": 20.0, "share_of_ceiling": 0.1},
        bench.ratio_row("jit_reference", "r", 1.0, 2.0, "b", "gap", 0.0, 1e-5, target=">= 1.0x"),
    ]
    text = bench.table({"rows": rows})
    assert "log-log slope 1.00 in N" in text and "10.0 % of the 20.0 GFLOP/s" in text
    assert "2.00x" in text and "target >= 1.0x" in text


def test_json_is_written_atomically(tmp_path):
    path = tmp_path / "sub" / "b.json"
    bench.write({"rows": [1]}, path)
    assert json.loads(path.read_text()) == {"rows": [1]}
    with pytest.raises(TypeError):
        bench.write({"rows": [object()]}, path)  # fails before the file is touched
    assert json.loads(path.read_text()) == {"rows": [1]}
    assert [p.name for p in path.parent.iterdir()] == ["b.json"]  # no temporary file left


def test_bench_refuses_bad_settings_before_any_work(capsys):
    assert main(["bench", "--rounds", "0"]) == 2
    assert "rounds=0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="rounds"):
        bench.run(True)
    with pytest.raises(ValueError, match="groups="):
        bench.run(1, groups=["nope"])
    with pytest.raises(ValueError, match="quick="):
        bench.run(1, quick="yes")
    with pytest.raises(ValueError, match="device="):
        bench.run(1, device="meta")
    with pytest.raises(ValueError, match="methods="):
        bench.run(1, groups=["methods"], methods=["retrain"])


def test_the_quick_and_full_sizes_cover_the_issue():
    full, quick = bench.SIZES["full"], bench.SIZES["quick"]
    assert full["ensemble_ks"] == (8, 32, 128) and full["jit_ns"] == (5, 25, 100)
    assert set(full) == set(quick)
    for key in ("cost_forget", "cost_width", "cost_n"):
        assert len(quick[key]) >= 2 and max(quick[key]) <= max(full[key])
