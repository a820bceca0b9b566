"""Provenance of a recorded run: the code that ran (commit, dirty tree, a digest of the package and
the notebook), the device, the versions and the checksums of the data files it read."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

from . import __version__
from .config import project_root, resolve_device, use_tf32
from .data import embedded, mnist_fetch

# --------------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------------


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def git_state(base: Path | None = None) -> tuple[str, bool]:
    """``(commit, dirty)`` of the project's git checkout; ``('unknown', True)`` outside one."""
    base = base or project_root()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=base, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=base,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", True
    return commit, bool(status.strip())


def commit_label(base: Path | None = None) -> str:
    """The checked-out commit, with ``+dirty`` when tracked files differ from it; ``''`` outside
    git."""
    commit, dirty = git_state(base)
    return "" if commit == "unknown" else commit + ("+dirty" if dirty else "")


def code_digest(notebook: Path, base: Path | None = None) -> str:
    """SHA-256 over the package's Python files and the notebook's source (paths and contents): with
    the commit, it says whether a record was made by the code now on disk, dirty tree included."""
    base = base or project_root()
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    nb = Path(notebook).resolve()
    for f in sorted(pkg.rglob("*.py")) + [nb]:
        label = (
            f.relative_to(pkg.parent)
            if f.is_relative_to(pkg.parent)
            else (f.relative_to(base) if f.is_relative_to(base) else f.name)
        )
        h.update(str(label).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def data_files(task: str, data_root: Path) -> list[Path]:
    """The files a task's data are read from (for their checksums in a record)."""

    root = Path(data_root)
    if task in ("mnist5k", "mnist5k32"):
        return [embedded.mnist5k_path()]
    if task == "digits":
        import importlib.resources

        return [Path(str(importlib.resources.files("sklearn.datasets") / "data" / "digits.csv.gz"))]
    if task == "mnist":
        return [root / "MNIST" / "raw" / f for f in mnist_fetch.MNIST_FILES]
    if task == "cifar10":
        folder = root / "cifar-10-batches-py"
        return [folder / f"data_batch_{i}" for i in range(1, 6)] + [
            folder / "test_batch",
            folder / "batches.meta",
        ]
    if task in ("cifar100", "cifar20"):
        return [root / "cifar-100-python" / f for f in ("train", "test", "meta")]
    if task == "pins":
        return sorted(p for p in (root / "105_classes_pins_dataset").rglob("*") if p.is_file())
    return []


def data_checksums(tasks: list[str], data_root: Path) -> dict[str, str]:
    """``{'<task>/<file>': sha256}`` for the files of ``tasks``; Pins' images as one digest over
    their sorted relative paths and contents (``'pins/105_classes_pins_dataset'``)."""
    out: dict[str, str] = {}
    for task in tasks:
        files = [f for f in data_files(task, data_root) if f.is_file()]
        if task == "pins" and files:
            h = hashlib.sha256()
            folder = Path(data_root) / "105_classes_pins_dataset"
            for f in files:
                h.update(f.relative_to(folder).as_posix().encode())
                h.update(bytes.fromhex(sha256_file(f)))
            out["pins/105_classes_pins_dataset"] = h.hexdigest()
            continue
        for f in files:
            out[f"{task}/{f.name}"] = sha256_file(f)
    return out


def device_info(params: dict[str, Any]) -> tuple[str, str]:
    """``(device, name)`` the notebook ran on: its resolved DEVICE and the GPU's (or CPU's) name."""
    import platform

    import torch

    device = resolve_device(params.get("DEVICE", "auto"), params.get("PROFILE", "quick"))
    if device.startswith("cuda"):
        index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
        return device, torch.cuda.get_device_name(index)
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return device, f"{name} ({os.cpu_count()} cores)"


def code_state(notebook: Path) -> dict:
    """The commit, whether the tree is dirty and the package+notebook digest, *now*: taken before a
    run starts, so a record names the code that ran even when the tree changes while it runs."""
    commit, dirty = git_state()
    return {"commit": commit, "dirty": dirty, "code_sha256": code_digest(notebook)}


def provenance(
    notebook: Path,
    params: dict[str, Any],
    wall_seconds: float,
    tasks: list[str],
    data_root: Path,
    code: dict | None = None,
) -> dict:
    """Provenance of a run; ``code`` is :func:`code_state` taken before it started (default:
    now)."""
    import datetime
    import platform

    import torch

    code = code or code_state(notebook)
    device, name = device_info(params)
    return {
        "commit": code["commit"],
        "dirty": code["dirty"],
        "code_sha256": code["code_sha256"],
        "device": device,
        "device_name": name,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "companion": __version__,
        "data": data_checksums(tasks, data_root),
        "wall_seconds": round(float(wall_seconds), 3),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "profile": params.get("PROFILE", "quick"),
        "threads": torch.get_num_threads(),
        "tf32": use_tf32() if device.startswith("cuda") else None,  # CUDA matmul/conv policy
    }
