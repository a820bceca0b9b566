"""Recorded runs (companion.records): atomic writing, schema/provenance validation, verify,
reproduce.

One cheap chapter (cert/01_certificates, QUICK) is executed once for the module; ``verify``
re-executes it once more against a tampered copy of its record.
"""

import json
import math
import os
import shutil
from pathlib import Path

import pytest

from companion import notebooks, provenance, records
from companion import reproduce as rp
from companion.cli import main
from companion.data import mnist_fetch

CHAPTER = "cert/01_certificates"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """``(record path, executed notebook)`` of one QUICK run of cert/01, recorded under a temporary
    results/."""
    tmp = tmp_path_factory.mktemp("records")
    src = notebooks.find(CHAPTER)
    path, rec = rp.record_run(
        src, {}, output=tmp / "executed.ipynb", scorecard=False, results=tmp / "results"
    )
    assert path == tmp / "results" / "quick" / "cert" / "01_certificates.json"
    return path, tmp / "executed.ipynb"


@pytest.fixture
def record_copy(recorded, tmp_path):
    """A private copy of the recorded results/ tree; returns the record's path in it."""
    path, _ = recorded
    results = path.parents[2]
    shutil.copytree(results, tmp_path / "results")
    return tmp_path / "results" / path.relative_to(results)


def test_record_holds_values_tables_figures_and_provenance(recorded):
    path, _ = recorded
    rec = records.read_record(path)
    assert (
        rec["schema"] == records.SCHEMA_VERSION
        and rec["notebook"] == "notebooks/cert/01_certificates.py"
    )
    assert (
        rec["values"]["cert1_n_pairs"]["kind"] == "int"
        and rec["values"]["cert1_max_ratio"]["kind"] == "float"
    )
    assert rec["tables"]["cert1_table"]["rows"][0][:3] == ["", "ours", "paper"]
    fig = rec["figures"]["cert1_fig_theta"]
    assert (path.parent / fig["file"]).stat().st_size < 60_000 and fig[
        "width"
    ] <= records.FIGURE_MAX_WIDTH
    prov = rec["provenance"]
    assert (
        set(records.REQUIRED_PROVENANCE) <= set(prov)
        and len(prov["commit"]) == 40
        and prov["device"] == "cpu"
    )
    assert (
        prov["profile"] == "quick"
        and prov["wall_seconds"] > 0
        and rec["parameters"]["PROFILE"] == "quick"
    )
    assert rec["comparisons"] and all("key" in r for r in rec["comparisons"])


def test_data_checksums_name_the_files_used(tmp_path, fake_mnist):
    root = fake_mnist(tmp_path)
    sums = provenance.data_checksums(["mnist", "mnist5k"], root)
    assert sorted(k for k in sums if k.startswith("mnist/")) == sorted(
        f"mnist/{f}" for f in mnist_fetch.MNIST_FILES
    )
    assert (
        sums["mnist5k/mnist_5k.csv.gz"]
        == "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
    )


@pytest.mark.parametrize("crash", ["fsync", "replace"])
def test_a_crash_mid_write_leaves_the_old_record(record_copy, monkeypatch, crash):
    old_bytes = record_copy.read_bytes()
    rec = records.read_record(record_copy)
    rec["values"]["cert1_n_pairs"]["value"] += 1
    png = (record_copy.parent / rec["figures"]["cert1_fig_theta"]["file"]).read_bytes()
    images = {"cert1_fig_theta": ("png", png), "another": ("png", png)}

    def boom(*args):
        raise OSError("disk full (simulated)")

    real_replace = os.replace
    if crash == "fsync":  # dies while writing the first new file
        monkeypatch.setattr(records.os, "fsync", boom)
    else:  # dies after the JSON's temporary file is complete, before it replaces the record
        monkeypatch.setattr(
            records.os,
            "replace",
            lambda a, b: boom() if str(b).endswith(".json") else real_replace(a, b),
        )
    with pytest.raises(OSError, match="simulated"):
        records.write_record(rec, record_copy, images)
    monkeypatch.undo()
    assert record_copy.read_bytes() == old_bytes
    assert (
        records.read_record(record_copy)["values"]["cert1_n_pairs"]["value"]
        == rec["values"]["cert1_n_pairs"]["value"] - 1
    )
    assert not [p for p in record_copy.parent.rglob("*.tmp")]


def test_a_complete_write_replaces_the_record_and_drops_stale_figures(record_copy):
    rec = records.read_record(record_copy)
    old_fig = record_copy.parent / rec["figures"]["cert1_fig_theta"]["file"]
    rec["values"]["cert1_n_pairs"]["value"] = 99
    rec["values"]["nan_value"] = {"kind": "float", "value": math.nan}
    rec["figures"] = {}
    records.write_record(rec, record_copy, {"other": ("png", old_fig.read_bytes())})
    new = records.read_record(record_copy)
    assert new["values"]["cert1_n_pairs"]["value"] == 99 and math.isnan(
        new["values"]["nan_value"]["value"]
    )
    assert list(new["figures"]) == ["other"] and not old_fig.exists()


@pytest.mark.parametrize(
    "drop, message",
    [
        (("schema",), "schema"),
        (("provenance",), "keys provenance"),
        (("provenance", "commit"), "provenance keys commit"),
        (("provenance", "data"), "provenance keys data"),
        (("parameters",), "keys parameters"),
    ],
)
def test_a_record_without_schema_or_provenance_fails(record_copy, drop, message):
    blob = json.loads(record_copy.read_text())
    target = blob
    for key in drop[:-1]:
        target = target[key]
    del target[drop[-1]]
    record_copy.write_text(json.dumps(blob))
    with pytest.raises(ValueError, match=message):
        records.read_record(record_copy)


def test_a_record_of_another_schema_or_with_a_modified_figure_fails(record_copy):
    blob = json.loads(record_copy.read_text())
    fig = record_copy.parent / blob["figures"]["cert1_fig_theta"]["file"]
    fig.write_bytes(fig.read_bytes()[:-10])
    with pytest.raises(ValueError, match="figure 'cert1_fig_theta'"):
        records.read_record(record_copy)
    blob["schema"] = records.SCHEMA_VERSION + 1
    record_copy.write_text(json.dumps(blob))
    with pytest.raises(ValueError, match="expected schema"):
        records.read_record(record_copy)
    with pytest.raises(ValueError, match="missing provenance"):
        records.write_record(
            {k: v for k, v in blob.items() if k != "provenance"} | {"provenance": {}}, record_copy
        )


def test_compare_records_rules(recorded):
    path, executed = recorded
    rec = records.read_record(path)
    fresh = records.glued(executed)
    assert all(r["ok"] for r in rp.compare_records(rec, fresh))  # the run it was made from
    rec["values"]["cert1_max_ratio"]["value"] *= 1 + 1e-4
    rows = {r["name"]: r for r in rp.compare_records(rec, fresh)}
    assert not rows["cert1_max_ratio"]["ok"]
    assert all(r["ok"] for r in rp.compare_records(rec, fresh, {"cert1_max_ratio": 1e-3}))
    rec["tables"]["cert1_table"]["rows"][2][1] = "7"
    del fresh["values"]["cert1_T_r2"]
    rows = {r["name"]: r for r in rp.compare_records(rec, fresh, {"*": 1e-3})}
    assert (
        not rows["cert1_table[2,1]"]["ok"]
        and rows["cert1_T_r2"]["rule"] == "missing in the fresh run"
    )
    assert (
        rp._compare_scalar(
            {"kind": "str", "value": "94.4%"}, {"kind": "str", "value": "94.5%"}, 1e-6
        )[0]
        is False
    )
    assert (
        rp._compare_scalar(
            {"kind": "str", "value": "94.4%"}, {"kind": "str", "value": "94.5%"}, 0.01
        )[0]
        is True
    )
    with pytest.raises(ValueError, match="tolerance=-1"):
        rp.compare_records(rec, fresh, {"*": -1})


def test_verify_detects_a_tampered_value(record_copy, capsys):
    blob = json.loads(record_copy.read_text())
    blob["values"]["cert1_max_ratio"]["value"] *= 1.001
    blob["values"]["cert1_n_pairs"]["value"] += 1
    record_copy.write_text(json.dumps(blob))
    assert main(["verify", str(record_copy)]) == 1
    out = capsys.readouterr().out
    assert "2 mismatch(es)" in out and "cert1_max_ratio" in out and "cert1_n_pairs" in out
    assert "cert1_table" not in out.split("mismatch(es):")[1]


def test_verify_refuses_a_bad_tolerance(record_copy, capsys):
    assert main(["verify", str(record_copy), "--tolerance", "x=-2"]) == 2
    assert "--tolerance='x=-2' is not allowed" in capsys.readouterr().err


def test_reproduce_skips_an_up_to_date_record(record_copy, monkeypatch):
    results = record_copy.parents[2]
    monkeypatch.setattr(
        notebooks, "execute", lambda *a, **k: pytest.fail("an up-to-date chapter must not run")
    )
    out = rp.reproduce(only=[CHAPTER], profile="quick", results=results, log=lambda *a: None)
    assert (
        [n for n, _ in out["up_to_date"]] == [CHAPTER] and not out["recorded"] and not out["failed"]
    )
    # another parameter value, or other code, makes it stale
    blob = json.loads(record_copy.read_text())
    blob["parameters"]["SEED"] = blob["parameters"]["SEED"] + 1
    record_copy.write_text(json.dumps(blob))
    out = rp.reproduce(
        only=[CHAPTER], profile="quick", results=results, dry_run=True, log=lambda *a: None
    )
    assert [n for n, _ in out["recorded"]] == [CHAPTER] and not out["up_to_date"]


def test_reproduce_skips_a_chapter_whose_data_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_DATA_ROOT", str(tmp_path / "empty"))
    monkeypatch.setattr(notebooks, "execute", lambda *a, **k: pytest.fail("nothing should run"))
    out = rp.reproduce(
        only=["cert/04_accuracy_vs_budget"],
        device="cpu",
        results=tmp_path / "results",
        log=lambda *a: None,
    )
    ((name, why),) = out["skipped"]
    assert (
        name == "cert/04_accuracy_vs_budget"
        and why.startswith("data missing")
        and "DATA_ROOT" in why
    )
    with pytest.raises(ValueError, match="PART='nope'"):
        rp.reproduce(part="nope", results=tmp_path / "results")


def test_record_path_layout(tmp_path):
    src = Path("notebooks/xs/06_digit_removal.py")
    assert (
        records.record_path(src, "full", tmp_path)
        == tmp_path / "full" / "xs" / "06_digit_removal.json"
    )


def test_provenance_names_the_code_that_ran_not_the_code_after_it(tmp_path, monkeypatch):
    """A commit made while a long run executes must not be written into its record."""

    state = {"commit": "before"}
    monkeypatch.setattr(provenance, "git_state", lambda base=None: (state["commit"], False))
    real = notebooks.execute

    def execute_and_commit(src, ov, out, record=True):
        res = real(src, ov, tmp_path / "run.ipynb", record=False)
        state["commit"] = "after"  # the tree moved on while the notebook ran
        return res

    monkeypatch.setattr(notebooks, "execute", execute_and_commit)
    _, rec = rp.record_run(
        notebooks.find("cert/01_certificates"),
        {"N_SAMPLES": 2000},
        results=tmp_path / "results",
        scorecard=False,
    )
    assert rec["provenance"]["commit"] == "before"


def test_a_run_whose_glued_values_were_lost_is_not_recorded(recorded, tmp_path, monkeypatch):
    import nbformat

    _, executed = recorded
    nb = nbformat.read(str(executed), as_version=4)
    for cell in nb.cells:  # what a kernel without myst-nb produces: no glue outputs at all
        cell["outputs"] = [
            o for o in cell.get("outputs", []) if "scrapbook" not in o.get("metadata", {})
        ]
    stripped = tmp_path / "stripped.ipynb"
    nbformat.write(nb, str(stripped))
    monkeypatch.setattr(
        notebooks,
        "execute",
        lambda src, ov, out, record=True: {
            "output": stripped,
            "seconds": 1.0,
            "parameters": {"PROFILE": "quick"},
        },
    )
    with pytest.raises(records.RecordError, match="no glued value"):
        rp.record_run(notebooks.find(CHAPTER), {}, results=tmp_path / "results", scorecard=False)
    assert not (tmp_path / "results" / "quick" / "cert" / "01_certificates.json").exists()
