"""FULL records in the book: the "At the paper's scale" sections and the scorecard's FULL rows."""

import json

import pandas as pd
import pytest

from companion import paper_scale, records, report
from companion.reported import get

CHAPTER = "xs/06_digit_removal"
KEY = "xs:mnist3/original/test_acc"  # paper: MNIST, the MLP, forget class 3, FULL scale
KEY2 = "xs:curve/gamma3.5_20ep/mi_end"
SAME = {"dataset": "mnist", "arch": "mlp", "variant": None, "scale": "full", "forget": "class:3"}


def _row(quantity, ours, key, setting=SAME, quick=False):
    rep = get(key)
    return {
        "quantity": quantity,
        "ours": ours,
        "paper": rep.value,
        "tolerance": rep.tolerance,
        "key": key,
        "source": rep.source,
        "quick": quick,
        "match": None,
        "status": "",
        "setting": dict(setting),
        "paper_setting": rep.setting.as_dict(),
        "ours_text": f"{ours:.4f}",
        "paper_text": f"{rep.value:.4f}",
    }


def _record(comparisons, notebook="notebooks/xs/06_digit_removal.py"):
    return {
        "schema": records.SCHEMA_VERSION,
        "notebook": notebook,
        "profile": "full",
        "parameters": {"PROFILE": "full", "DEVICE": "cpu"},
        "values": {"xs6_corr": {"kind": "float", "value": 0.9}},
        "tables": {},
        "figures": {},
        "comparisons": comparisons,
        "provenance": {
            "commit": "0123456789abcdef",
            "dirty": False,
            "code_sha256": "0" * 64,
            "device": "cpu",
            "device_name": "Test CPU (2 cores)",
            "torch": "2.0-test",
            "python": "3.11",
            "companion": "0",
            "data": {"mnist/train-images-idx3-ubyte": "f" * 64},
            "wall_seconds": 1234.5,
            "date": "2025-01-02T03:04:05+00:00",
            "profile": "full",
        },
    }


@pytest.fixture
def results(tmp_path, monkeypatch):
    """An empty results folder and an empty build cache (COMPANION_RESULTS, COMPANION_CACHE)."""
    monkeypatch.setenv(paper_scale.RESULTS_ENV, str(tmp_path / "results"))
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(report.SCORECARD_ENV, raising=False)
    return tmp_path / "results"


def _write(results, rows, chapter=CHAPTER):
    part, stem = chapter.split("/")
    return records.write_record(
        _record(rows, f"notebooks/{part}/{stem}.py"), results / "full" / part / f"{stem}.json"
    )


def _cache_rows(tmp_path, notebook, rows):
    folder = tmp_path / "cache" / "scorecard"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (notebook.replace("/", "__").removesuffix(".py") + ".json")).write_text(
        json.dumps({"notebook": notebook, "rows": rows})
    )


def test_paper_scale_is_none_without_a_record_and_says_what_to_run(results):
    assert paper_scale.paper_scale(CHAPTER) is None
    table = paper_scale.paper_scale_section(CHAPTER, "t")
    assert "No FULL record yet" in table.index[0] and "make reproduce PART=xs" in table.index[0]


def test_paper_scale_reads_the_record_and_judges_like_with_like(results):
    paper = get(KEY).value
    _write(
        results,
        [
            _row("original: test accuracy", paper, KEY),  # within tolerance
            _row(
                "gamma 3.5: I_hat after epoch 20", get(KEY2).value + 10 * get(KEY2).tolerance, KEY2
            ),  # outside
            _row("other forget set", paper, KEY, setting={**SAME, "forget": "class:5"}),
        ],
    )  # not comparable
    quick = pd.DataFrame(
        {"ours (QUICK analogue)": ["0.9000"]},
        index=pd.Index(["original: test accuracy"], name="quantity"),
    )
    table, line = paper_scale.paper_scale(CHAPTER, quick=quick)
    assert list(table.index) == [
        "original: test accuracy",
        "gamma 3.5: I_hat after epoch 20",
        "other forget set",
    ]
    assert table["within tolerance"].tolist()[:2] == ["yes", "no"]
    assert (
        table["within tolerance"].iloc[2].startswith("not comparable")
        and "class:5" in table["within tolerance"].iloc[2]
    )
    assert table.loc["original: test accuracy", "ours (QUICK, this run)"] == "0.9000"
    assert table.loc["other forget set", "ours (QUICK, this run)"] == "—"
    assert table.loc["original: test accuracy", "paper"] == f"{paper:.4f}"
    assert line.startswith(
        "FULL, recorded at commit 0123456789 on device cpu (Test CPU (2 cores)), torch 2.0-test"
    )
    assert "wall time 20.6 min" in line and "date 2025-01-02" in line


def test_paper_scale_shows_recorded_values_the_papers_do_not_quote(results):
    _write(results, [])
    table, _ = paper_scale.paper_scale(
        CHAPTER, values={"correlation": ("xs6_corr", 0.5), "absent": ("nope", 0.1)}
    )
    assert (
        table.loc["correlation", "ours (FULL)"] == "0.9"
        and table.loc["correlation", "ours (QUICK, this run)"] == "0.5"
    )
    assert (
        table.loc["absent", "ours (FULL)"] == "—"
        and (table["within tolerance"] == paper_scale.NOT_QUOTED).all()
    )


def test_paper_scale_rejudges_with_the_number_quoted_now(results):
    row = _row("original: test accuracy", get(KEY).value, KEY)
    row.update(
        paper=0.1, match=False, status="outside tolerance"
    )  # stale quotation in an old record
    _write(results, [row])
    table, _ = paper_scale.paper_scale(CHAPTER)
    assert table["within tolerance"].tolist() == ["yes"]


def test_an_invalid_record_is_not_used(results):
    path = _write(results, [_row("a", 0.5, KEY)])
    blob = json.loads(path.read_text())
    del blob["provenance"]["commit"]
    path.write_text(json.dumps(blob))
    assert paper_scale.paper_scale(CHAPTER) is None and paper_scale.full_records() == []


def _summary(df):
    judged = df[df["match"].notna()]
    return len(judged), int(judged["match"].astype(bool).sum())


def test_scorecard_judges_a_full_row_only_with_a_record(results, tmp_path):
    nb = "notebooks/xs/06_digit_removal.py"
    exact = {**_row("T", 6.0, "cert:fig1/mc_mnist_c2_0.01/T", setting={"scale": "exact"})}
    _cache_rows(
        tmp_path,
        nb,
        [
            {
                **_row("original: test accuracy", get(KEY).value, KEY),
                "match": True,
                "status": "within tolerance",
            }
        ],
    )
    _cache_rows(
        tmp_path,
        "notebooks/cert/04_accuracy_vs_budget.py",
        [{**exact, "match": True, "status": "within tolerance"}],
    )
    sc = paper_scale.scorecard_rows()
    full = sc[sc["profile"] == "FULL"]
    assert (
        len(full) == 1
        and full["match"].isna().all()
        and (full["status"] == paper_scale.NO_RECORD).all()
    )
    assert _summary(sc) == (1, 1)  # only the exact row is judged

    _write(
        results,
        [
            _row("original: test accuracy", get(KEY).value, KEY),
            _row("other forget set", get(KEY).value, KEY, setting={**SAME, "forget": "class:5"}),
        ],
    )
    sc = paper_scale.scorecard_rows()
    full = sc[sc["profile"] == "FULL"]
    assert len(full) == 2 and set(full["record"]) == {"full/xs/06_digit_removal.json"}
    assert full.set_index("quantity").loc["original: test accuracy", "status"] == "within tolerance"
    assert full.set_index("quantity").loc["other forget set", "status"].startswith("not comparable")
    assert (full["provenance"].str.startswith("FULL, recorded at commit")).all()
    assert _summary(sc) == (2, 2)  # the record's comparable row and the exact row


def test_scorecard_without_records_or_cache_is_empty(results):
    assert paper_scale.scorecard_rows().empty and paper_scale.full_records() == []


def test_gpu_measurements_read_every_stage_and_refuse_a_broken_line(tmp_path):
    from companion.paper_scale import gpu_measurements

    assert gpu_measurements(tmp_path).empty
    (tmp_path / "gpu").mkdir()
    f = tmp_path / "gpu" / "h200.jsonl"
    f.write_text(
        '{"stage": "a", "seconds": 1.5, "device": "NVIDIA H200", "torch": "2.11"}\n\n'
        '{"stage": "b", "seconds": 2.0, "device": "NVIDIA H200", "torch": "2.11", "final": {}}\n'
    )
    got = gpu_measurements(tmp_path)
    assert list(got.stage) == ["a", "b"] and list(got.seconds) == [1.5, 2.0]
    f.write_text(f.read_text() + '{"stage": "c", "device": "x", "torch": "y"}\n')
    with pytest.raises(ValueError, match="h200.jsonl line 4"):
        gpu_measurements(tmp_path)


def test_the_committed_gpu_measurements_name_their_device():
    from companion.paper_scale import gpu_measurements

    got = gpu_measurements()
    assert len(got) and got.device.str.startswith("NVIDIA").all() and (got.seconds >= 0).all()


def test_gpu_paths_reads_each_row_once_with_its_syncs_and_refuses_a_row_without_a_key(tmp_path):
    gpu = tmp_path / "gpu"
    gpu.mkdir()
    row = {
        "device": "G",
        "row": "tf32",
        "what": "vgg11: fit, 40 SGD steps",
        "ours": "tf32",
        "baseline": "fp32",
        "speedup": 1.234,
        "max_param_diff": 0.00077,
    }
    syncs = {"device": "G", "row": "jit_syncs", "what": "vgg11: syncs", "count": 26, "steps": 4}
    again = row | {"speedup": 9.0}  # a repeated row keeps its first timing
    (gpu / "gpu_paths_g.json").write_text(json.dumps({"rows": [row, syncs, again]}))
    table, counted = paper_scale.gpu_paths(tmp_path)
    assert table.to_dict("records") == [
        {
            "device": "G",
            "row": "tf32",
            "work": "vgg11: fit",
            "ours vs baseline": "tf32 vs fp32",
            "speed-up": 1.23,
            "largest parameter difference": 7.7e-4,
        }
    ]
    assert counted == [{"device": "G", "count": 26, "steps": 4}]
    del row["max_param_diff"]
    (gpu / "gpu_paths_g.json").write_text(json.dumps({"rows": [row]}))
    with pytest.raises(ValueError, match="gpu_paths_g.json.*max_param_diff"):
        paper_scale.gpu_paths(tmp_path)
