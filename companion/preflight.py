"""The pre-kernel check of a chapter run: which task(s) and network the chapter will use for the
given parameters, read from its setting calls, and whether the task can serve the request — all
before a kernel starts (:mod:`companion.notebooks` re-exports :func:`preflight`)."""

from __future__ import annotations

import ast
import types
from pathlib import Path
from typing import Any

import jupytext

from . import config, data, models
from .config import bad_value

SETTING_CALLS = ("for_profile", "table_setting", "table_chapter", "digit_removal_config")


def _setting_calls(source: Path) -> tuple[str, list[tuple[str, ast.expr]]]:
    """The notebook's import code and its top-level ``NAME = <setting call>`` assignments."""
    cells = jupytext.read(source).cells
    p = next(
        i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])
    )
    imports = "\n".join(c.source for c in cells[:p] if c.cell_type == "code")
    calls = []
    body = [n for c in cells[p + 1 :] if c.cell_type == "code" for n in _parse(c.source)]
    for node in body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        ):
            func = node.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in SETTING_CALLS:
                calls.append((node.targets[0].id, node.value))
    return imports, calls


def _parse(code: str) -> list[ast.stmt]:
    try:
        return ast.parse(code).body
    except SyntaxError:  # IPython magics: not a setting call
        return []


def _as_parameter_error(err: ValueError, call: ast.Call, params: dict[str, Any]) -> ValueError:
    """A setting's ``ValueError`` about one of its fields, renamed after the notebook parameter
    passed to that field (``n_targets=N_RANDOM`` refused: the reader set N_RANDOM)."""
    msg = str(err)
    for kw in call.keywords:
        if (
            isinstance(kw.value, ast.Name)
            and kw.value.id in params
            and msg.startswith(f"{kw.arg}=")
        ):
            return bad_value(
                kw.value.id, params[kw.value.id], msg.split("expected ", 1)[-1].rstrip(".")
            )
    return err


def preflight(source: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Check the limits that depend on the task before a kernel starts.

    Resolves which task(s) and architecture the chapter will run for ``params`` (through the setting
    calls of its code cells, see :data:`SETTING_CALLS`), reads each task's shape cheaply
    (:func:`companion.data.task_shape`: no image decoded; a missing FULL dataset raises
    ``FileNotFoundError`` with the expected layout) and checks ``FORGET_CLASS``,
    ``FORGET_SUBCLASS``, ``N_RANDOM``, ``FORGET`` and the JiT tables' request against it, and the
    architecture against the registry. Returns ``{'tasks': [...], 'archs': [...]}``; raises
    ``ValueError`` naming the parameter.
    """
    imports, calls = _setting_calls(source)
    ns: dict[str, Any] = {}
    # the chapter's own imports (no work is done there)
    exec(compile(imports, str(source), "exec"), ns)
    ns.update(params)
    ns["ctx"] = types.SimpleNamespace(
        profile=params.get("PROFILE", "quick"), seed=params.get("SEED", 0)
    )
    tasks: dict[str, list[str]] = {}  # task -> forget requests to check
    archs: set[str] = set()
    for target, call in calls:
        try:
            value = eval(compile(ast.Expression(call), str(source), "eval"), ns)
        # depends on something computed later: not a setting
        except (
            NameError,
            AttributeError,
            KeyError,
        ):
            continue
        except (
            ValueError
        ) as err:  # the setting refuses a value: name the notebook parameter that gave it
            raise _as_parameter_error(err, call, params) from None
        ns[target] = value
        if isinstance(getattr(value, "setting", None), dict):  # a table chapter's opening
            value = value.setting
        if isinstance(value, str) and "TASK" in target:
            tasks.setdefault(value, [])
        elif isinstance(value, str) and "ARCH" in target:
            archs.add(value)
        elif isinstance(value, dict) and "task" in value:  # a JiT table's setting
            tasks.setdefault(value["task"], []).append(value["forget"])
            archs.add(value["arch"])
        # an experiment's setting (config.ProfileSetting), a protocol
        elif isinstance(getattr(value, "task", None), str):
            requests = tasks.setdefault(value.task, [])
            if isinstance(getattr(value, "forget_class", None), int):
                requests.append(f"class:{value.forget_class}")
            if isinstance(getattr(value, "arch", None), str):
                archs.add(value.arch)
    if params.get("TASK", "auto") != "auto":
        tasks.setdefault(params["TASK"], [])
    if params.get("ARCH", "auto") != "auto":
        archs.add(params["ARCH"])
    for arch in archs:
        if arch not in models.available():
            raise bad_value("ARCH", arch, f"'auto' or one of {', '.join(models.available())}")
    requests = {
        "FORGET_CLASS": "class:{}",
        "FORGET_SUBCLASS": "subclass:{}",
        "N_RANDOM": "random:{}",
        "FORGET": "{}",
    }
    for task in tasks:
        if task not in data.TASKS:
            raise bad_value("TASK", task, f"'auto' or one of {', '.join(data.TASKS)}")
        shape = data.task_shape(task, params.get("DATA_ROOT") or config.default_data_root())
        for name, fmt in requests.items():
            if name in params:
                try:
                    data.check_forget(task, fmt.format(params[name]), shape)
                except ValueError as err:
                    raise bad_value(
                        name, params[name], str(err).split("expected ", 1)[-1].rstrip(".")
                    ) from None
        for request in tasks[task]:
            data.check_forget(task, request, shape)
    return {"tasks": sorted(tasks), "archs": sorted(archs)}
