"""``python -m companion sweep SPEC``: a grid of unlearning runs through Ray, resumable.

One run is one call of :func:`run_one` (what ``python -m companion unlearn --json`` prints: the
scores of :func:`companion.metrics.evaluate` for one method, task, forget request, seed and method
settings). A sweep expands a grid file (:mod:`companion.sweep_spec`) into runs and executes the
pending ones as Ray tasks (``num_cpus=cpus_per_run``, one torch intra-op thread each by default,
see :mod:`companion.threads`), on a local Ray by default or on the cluster at ``address``.

The store (default ``_build/sweeps/<spec stem>/``) holds

* ``runs/<key>.json``: one file per run, named by the hash of its canonical parameters
  (:meth:`companion.sweep_spec.Run.key`), written atomically by the driver as each task finishes:
  ``{"schema", "key", "params", "result", "provenance"}``, provenance with the commit, a digest of
  the package and the spec, versions, host, device, thread count, data checksums and times;
* ``events.jsonl``: one line per dispatched, finished or failed run, appended as it happens;
* ``index.csv``: one row per finished run of the grid (parameters, scores, time), written
  atomically at the end.

A run whose file is complete (it parses, carries this schema, its key and parameters) is never
redone; a partial or corrupt file is not trusted and the run is executed again. A sweep killed
midway therefore resumes where it stopped: the finished runs are skipped, the ones in flight run
again, and every run ends with exactly one result. A lock on the store keeps two drivers off it.
"""

from __future__ import annotations

import csv
import datetime
import fcntl
import io
import json
import math
import os
import platform
import socket
import time
from pathlib import Path
from typing import Any

import torch

from . import __version__, data, methods, metrics, models
from .checks import bad_value, integer, number_in
from .config import default_data_root, project_root, resolve, validate_param
from .progress import progress
from .provenance import code_state, data_checksums, device_info
from .records import atomic_write
from .sweep_spec import RUN_KEYS, Run, SweepSpec, load_spec

SCHEMA = 1
_CHECKSUMS: dict[tuple[str, str], dict[str, str]] = {}  # per worker process: hashed once


def run_one(
    task: str,
    forget: str,
    method: str,
    seed: int = 0,
    arch: str = "mlp",
    profile: str = "quick",
    device: str = "auto",
    data_root: str = "",
    settings: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """One unlearning run, scored: the JSON of ``python -m companion unlearn --json``.

    Loads ``task`` with its seeded forget split, trains (or loads from the checkpoint cache) the
    original ``arch`` model, runs ``method`` on it (:func:`companion.methods.unlearn`) and scores
    the result (:func:`companion.metrics.evaluate`).

    Returns
    -------
    dict
        ``task, forget, method, arch, seed, profile`` as given, ``scores`` (a dict of floats, NaN
        as None; ``scores['seconds']`` is the method's own time) and ``total_seconds`` (method
        plus scoring).
    """
    settings = dict(settings or {})
    ctx = resolve(profile, seed, device, data_root or None)
    methods.config_of(method, profile, **settings)  # validate before loading anything
    t = data.load_task(task, forget=forget, seed=seed, data_root=ctx.data_root)
    model = models.train_or_load(t, arch, profile, seed, device=ctx.device, cache_dir=cache_dir)
    t0 = time.perf_counter()
    result = methods.unlearn(method, model, t, profile, seed, ctx.device, **settings)
    scores = metrics.evaluate(result, t, ctx.device)
    scores = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in scores.items()}
    return {
        "task": task,
        "forget": forget,
        "method": method,
        "arch": arch,
        "seed": seed,
        "profile": profile,
        "scores": scores,
        "total_seconds": time.perf_counter() - t0,
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def execute(
    params: dict[str, Any],
    device: str = "auto",
    data_root: str = "",
    cache_dir: str | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """A sweep's unit of work (the body of each Ray task): :func:`run_one` with ``params``
    (:meth:`companion.sweep_spec.Run.params`) under ``threads`` intra-op threads, and the
    provenance of the worker that ran it (host, pid, device, versions, data checksums, times)."""
    os.environ["COMPANION_THREADS"] = str(threads)  # the package's loops follow it
    os.environ.setdefault("COMPANION_PROGRESS", "0")  # no worker progress bars in the driver's log
    torch.set_num_threads(threads)
    started, t0 = _now(), time.perf_counter()
    run_params = {k: v for k, v in params.items() if k != "settings"}
    result = run_one(
        **run_params,
        device=device,
        data_root=data_root,
        settings=params.get("settings"),
        cache_dir=cache_dir,
    )
    dev, name = device_info({"DEVICE": device, "PROFILE": params["profile"]})
    root = data_root or str(default_data_root())
    if (params["task"], root) not in _CHECKSUMS:
        _CHECKSUMS[params["task"], root] = data_checksums([params["task"]], Path(root))
    import ray  # in the worker, already loaded by Ray

    return {
        "result": result,
        "provenance": {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "device": dev,
            "device_name": name,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "companion": __version__,
            "ray": ray.__version__,
            "data": _CHECKSUMS[params["task"], root],
            "started": started,
            "finished": _now(),
            "wall_seconds": round(time.perf_counter() - t0, 3),
        },
    }


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


def default_store(spec_path: str | Path) -> Path:
    """``_build/sweeps/<spec stem>`` in the project root."""
    return project_root() / "_build" / "sweeps" / Path(spec_path).stem


def result_path(store: Path, run: Run) -> Path:
    """Where ``run``'s result lives in ``store``."""
    return Path(store) / "runs" / f"{run.key()}.json"


def read_result(store: Path, run: Run) -> dict[str, Any] | None:
    """``run``'s stored result if its file is complete (it parses and carries this schema, the
    run's key and parameters, a result with scores and a provenance); None otherwise."""
    try:
        rec = json.loads(result_path(store, run).read_text())
    except (OSError, ValueError):
        return None
    ok = (
        isinstance(rec, dict)
        and rec.get("schema") == SCHEMA
        and rec.get("key") == run.key()
        and rec.get("params") == run.params()
        and isinstance(rec.get("result"), dict)
        and isinstance(rec["result"].get("scores"), dict)
        and isinstance(rec.get("provenance"), dict)
    )
    return rec if ok else None


def read_events(store: Path) -> list[dict[str, Any]]:
    """The lines of ``events.jsonl`` (a line cut short by a kill is skipped)."""
    path = Path(store) / "events.jsonl"
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _log(store: Path, event: str, run: Run, **extra: Any) -> None:
    path = Path(store) / "events.jsonl"
    with open(path, "ab+") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")  # a line cut short by a kill ends here
        line = {"event": event, "key": run.key(), "run": run.label(), "time": _now(), **extra}
        fh.write((json.dumps(line) + "\n").encode())
        fh.flush()
        os.fsync(fh.fileno())


def write_index(store: Path, spec: SweepSpec) -> Path:
    """``index.csv``: one row per finished run of ``spec``, in grid order (parameters, one column
    per method setting, every score, the run's wall time, device, host and date)."""
    rows = []
    for run in spec.runs:
        rec = read_result(store, run)
        if rec is not None:
            params, prov = run.params(), rec["provenance"]
            row = {"key": run.key(), **{k: v for k, v in params.items() if k != "settings"}}
            row.update(params["settings"])
            row.update(rec["result"]["scores"])
            row.update({k: prov.get(k) for k in ("wall_seconds", "device", "host", "finished")})
            rows.append(row)
    settings = sorted({k for run in spec.runs for k, _ in run.settings})
    tail = ["wall_seconds", "device", "host", "finished"]
    scores = [k for row in rows for k in row if k not in tail and k not in settings]
    columns = list(dict.fromkeys(["key", *RUN_KEYS, *settings, *scores, *tail]))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = Path(store) / "index.csv"
    atomic_write(path, buf.getvalue().encode())
    return path


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------


def run_sweep(
    spec_path: str | Path,
    store: str | Path | None = None,
    address: str | None = None,
    max_parallel: int | None = None,
    device: str = "auto",
    data_root: str = "",
    cache_dir: str | Path | None = None,
    cpus_per_run: int = 1,
    gpus_per_run: float | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run every pending run of the spec at ``spec_path`` as a Ray task; store each result.

    Parameters
    ----------
    spec_path : str or Path
        A grid file (:mod:`companion.sweep_spec`); validated in full before any work.
    store : str or Path, optional
        The result folder (default :func:`default_store`).
    address : str, optional
        A Ray cluster for ``ray.init(address=...)``; None starts a local Ray (an already
        initialised Ray in this process is used as it is).
    max_parallel : int, optional
        At most this many runs in flight (default: as many as Ray schedules).
    device, data_root, cache_dir
        As in ``python -m companion unlearn``; ``cache_dir`` is the checkpoint cache of the
        workers (default theirs).
    cpus_per_run, gpus_per_run
        Ray resources of each task; ``cpus_per_run`` is also its intra-op thread count.
        ``gpus_per_run`` defaults to 1 when the runs use CUDA (``device`` names it, or ``'auto'``
        in the FULL profile), else 0: Ray schedules GPUs only for tasks that reserve them.

    Returns
    -------
    dict
        ``store``, ``index`` (the index's path), ``ran`` and ``skipped`` (keys of the runs executed
        now and of those already stored), ``failed`` (``(key, error)`` pairs).
    """
    if max_parallel is not None:
        integer("max_parallel", max_parallel, 1)
    integer("cpus_per_run", cpus_per_run, 1)
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise bad_value("address", address, "a Ray address such as 'auto' or 'ray://host:10001'")
    spec = load_spec(spec_path, data_root or None)
    validate_param("DEVICE", device)  # its availability is the workers' to check
    if gpus_per_run is None:
        full = any(r.profile == "full" for r in spec.runs)
        gpus_per_run = 1.0 if device.startswith("cuda") or (device == "auto" and full) else 0.0
    number_in("gpus_per_run", gpus_per_run, 0, low_open=False)
    store = Path(store) if store is not None else default_store(spec_path)
    (store / "runs").mkdir(parents=True, exist_ok=True)
    with open(store / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise bad_value("store", str(store), "a store no other sweep is writing to") from err
        for tmp in (store / "runs").glob(".*.tmp"):  # a write cut short by a kill
            tmp.unlink(missing_ok=True)
        stored = {r.key() for r in spec.runs if read_result(store, r) is not None}
        skipped = [r.key() for r in spec.runs if r.key() in stored]
        pending = [r for r in spec.runs if r.key() not in stored]
        ran, failed = _dispatch(
            pending,
            store,
            code_state(Path(spec_path)),
            address,
            max_parallel or len(pending),
            {"device": device, "data_root": data_root, "threads": cpus_per_run},
            str(cache_dir) if cache_dir is not None else None,
            {"num_cpus": cpus_per_run, "num_gpus": gpus_per_run},
            show_progress,
        )
        index = write_index(store, spec)
    return {"store": store, "index": index, "ran": ran, "skipped": skipped, "failed": failed}


def _dispatch(
    pending: list[Run],
    store: Path,
    code: dict[str, Any],
    address: str | None,
    limit: int,
    options: dict[str, Any],
    cache_dir: str | None,
    resources: dict[str, Any],
    show_progress: bool,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Execute ``pending`` on Ray, at most ``limit`` in flight; write each result as it comes."""
    ran: list[str] = []
    failed: list[tuple[str, str]] = []
    if not pending:
        return ran, failed
    import ray  # slow to import: only when there is work

    started_here = not ray.is_initialized()
    if started_here:
        kw = {"include_dashboard": False} if address is None else {}
        ray.init(address=address, logging_level="WARNING", **kw)
    try:
        _check_feasible(ray.cluster_resources(), resources)
    except ValueError:
        if started_here:
            ray.shutdown()
        raise
    task = ray.remote(execute).options(**resources)
    queue, inflight = list(pending), {}
    bar = progress(None, total=len(pending), desc="sweep", disable=not show_progress)
    try:
        while queue or inflight:
            while queue and len(inflight) < limit:
                run = queue.pop(0)
                inflight[task.remote(run.params(), cache_dir=cache_dir, **options)] = run
                _log(store, "dispatched", run)
            done, _ = ray.wait(list(inflight), num_returns=1)
            for ref in done:
                run = inflight.pop(ref)
                try:
                    out = ray.get(ref)
                except Exception as err:  # noqa: BLE001 - one failed run does not stop the sweep
                    msg = str(getattr(err, "cause", None) or err).strip().splitlines()[-1]
                    failed.append((run.key(), msg))
                    _log(store, "failed", run, error=msg)
                    continue
                out["provenance"].update(code)
                rec = {"schema": SCHEMA, "key": run.key(), "params": run.params(), **out}
                atomic_write(result_path(store, run), json.dumps(rec, indent=1).encode())
                _log(store, "finished", run)
                ran.append(run.key())
                bar.update(1)
    finally:
        bar.close()
        if started_here:
            ray.shutdown()
    return ran, failed


def _check_feasible(cluster: dict[str, float], resources: dict[str, Any]) -> None:
    """Refuse a task no node of the cluster could take (it would wait forever)."""
    for name, key, unit in (
        ("cpus_per_run", "num_cpus", "CPU"),
        ("gpus_per_run", "num_gpus", "GPU"),
    ):
        have = cluster.get(unit, 0.0)
        if resources[key] > have:
            raise bad_value(name, resources[key], f"at most {have:g} (the Ray cluster's {unit}s)")


def summary(out: dict[str, Any]) -> str:
    """One line per outcome of :func:`run_sweep` (for the command line)."""
    lines = [
        f"sweep: {len(out['ran'])} run(s) executed, {len(out['skipped'])} already stored, "
        f"{len(out['failed'])} failed; results in {out['store']}, index {out['index']}"
    ]
    lines += [f"  failed {key}: {msg}" for key, msg in out["failed"]]
    return "\n".join(lines)
