"""The command line refuses bad input before any kernel starts and runs one unlearning."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from companion import cli, notebooks

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "intro/01_unlearning_problem"


def run_cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "companion", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


@pytest.mark.parametrize(
    "params,needle",
    [
        (
            ["-p", "PROFILE", "bogus"],
            "PROFILE='bogus' is not allowed: expected one of 'quick', 'full'",
        ),
        (["-p", "SEED", "abc"], "SEED='abc' is not allowed"),
        (["-p", "SEED", "1.5"], "SEED='1.5' is not allowed: expected a value of type int"),
        (["-p", "FORGET_CLAS", "3"], "unknown parameter 'FORGET_CLAS'"),
        (["-p", "N_SEEDS", "0"], "N_SEEDS=0 is not allowed"),
        (["--profile", "medium"], "PROFILE='medium' is not allowed"),
    ],
)
def test_run_refuses_bad_parameters_before_the_kernel(params, needle, monkeypatch, capsys):
    started = []
    monkeypatch.setattr(notebooks, "execute", lambda *a, **k: started.append(a))
    code = cli.main(["run", CHAPTER, *params])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and not started


def test_full_profile_without_gpu_is_refused_before_the_kernel(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(notebooks, "execute", lambda *a, **k: pytest.fail("kernel started"))
    assert cli.main(["run", CHAPTER, "--profile", "full"]) == 2
    assert "DEVICE='cpu'" in capsys.readouterr().err


def test_unknown_notebook(capsys):
    assert cli.main(["run", "no_such_chapter"]) == 2
    assert "notebook='no_such_chapter' is not allowed" in capsys.readouterr().err


def test_run_passes_typed_values(monkeypatch):
    got = {}
    monkeypatch.setattr(
        notebooks, "execute", lambda src, ov, out: got.update(ov) or {"output": out, "seconds": 0.0}
    )
    assert cli.main(["run", CHAPTER, "-p", "SEED", "3", "-p", "FORGET_CLASS", "7"]) == 0
    assert got == {"SEED": 3, "FORGET_CLASS": 7}


def test_list_shows_parameters(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "notebooks/intro/01_unlearning_problem.py" in out and "PROFILE = 'quick' [str]" in out


def test_unlearn_json_end_to_end():
    res = run_cli(
        "unlearn",
        "--task",
        "digits",
        "--forget",
        "class:3",
        "--method",
        "finetune",
        "--set",
        "epochs",
        "1",
        "--json",
        env={**__import__("os").environ, "COMPANION_PROGRESS": "0"},
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert (
        out["method"] == "finetune"
        and 0 <= out["scores"]["forget_acc"] <= 1
        and out["scores"]["seconds"] > 0
    )


def test_unlearn_refuses_bad_setting(capsys):
    assert (
        cli.main(["unlearn", "--task", "digits", "--method", "finetune", "--set", "lr", "-1"]) == 2
    )
    assert "lr=-1 is not allowed" in capsys.readouterr().err


def _task_limit_cases():
    """For every chapter, an out-of-range value of each task-dependent parameter it has."""
    bad = {
        "FORGET_CLASS": [10],
        "FORGET_SUBCLASS": [99],
        "N_RANDOM": [100_000],
        "TASK": ["no_such_task", "cifar10"],
        "ARCH": ["no_such_arch"],
        "JIT_FORGET": [
            "random:100000",
            "class:50",
            "subclass:50",
            "class:3",
            "subclass:3",
            "random:5",
        ],
    }
    cases = []
    for src in notebooks.chapters(ROOT):
        names = {p.name for p in notebooks.parameters(src)}
        for name, values in bad.items():
            if name in names:
                cases += [
                    (src.relative_to(ROOT / "notebooks").with_suffix("").as_posix(), name, v)
                    for v in values
                ]
    return cases


@pytest.mark.parametrize(("chapter", "name", "value"), _task_limit_cases())
def test_task_dependent_limits_are_checked_before_the_kernel(
    chapter, name, value, monkeypatch, tmp_path, capsys
):
    """A value the rule table allows but the chapter's task cannot serve (a class beyond the class
    count, N beyond the training set, a request of the wrong kind, an unknown or absent dataset) is
    refused with the parameter's name before a kernel starts."""
    import papermill

    monkeypatch.setenv("COMPANION_DATA_ROOT", str(tmp_path))  # no FULL dataset there
    monkeypatch.setattr(
        papermill, "execute_notebook", lambda *a, **k: pytest.fail("kernel started")
    )
    kind = next(
        (
            k
            for k, tag in (("subclass", "subclass"), ("class", "full_class"), ("random", "random"))
            if tag in chapter
        ),
        None,
    )
    if name == "JIT_FORGET" and value.split(":")[0] == kind and int(value.split(":")[1]) < 10:
        pytest.skip("a valid request for this chapter")
    code = cli.main(["run", chapter, "-p", name, str(value)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "not allowed" in err or "not found under DATA_ROOT" in err
    assert name.lower().removeprefix("jit_") in err.lower() or "dataset" in err
