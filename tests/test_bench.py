"""``python -m companion bench``: one table of ratios measured side by side, written as JSON."""

import json

import pytest

from companion import bench
from companion.cli import main


def test_bench_rows_compare_equal_work_and_are_written_as_json(tmp_path, capsys):
    assert main(["bench", "--rounds", "1", "--output", str(tmp_path / "b.json")]) == 0
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "b.json").read_text())
    assert result["machine"]["rounds"] == 1 and result["machine"]["cpu_count"] >= 1
    timed = [r for r in result["rows"] if "speedup" in r]
    assert {r["benchmark"] for r in timed} == {"threads", "ensemble", "jit_chunk"}
    for r in timed:
        assert r["speedup"] == pytest.approx(r["baseline_s"] / r["ours_s"]) and r["ours_s"] > 0
        assert r["difference"] < 1e-4, r  # both ways did the same work
        assert r["benchmark"] in printed
    flops = next(r for r in result["rows"] if r["benchmark"] == "fit_flops")
    assert (
        0
        < flops["share_of_ceiling"]
        == pytest.approx(flops["gflops"] / flops["matmul_ceiling_gflops"])
    )


def test_bench_refuses_a_bad_round_count(capsys):
    assert main(["bench", "--rounds", "0"]) == 2
    assert "rounds=0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="rounds"):
        bench.run(True)
