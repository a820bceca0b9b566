"""Checkpoint cache: train once, load afterwards.

A checkpoint is keyed by a SHA-256 of the full training configuration and the package version,
written atomically (temporary file, then ``os.replace``), and loaded with ``weights_only=True``. A
truncated or corrupt file is detected (it fails to load or its stored key disagrees) and rebuilt
with a warning, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from .. import __version__
from ..config import default_cache_dir


def config_key(config: dict[str, Any]) -> str:
    """Stable hash of a JSON-serialisable config plus the package version."""
    blob = json.dumps({"config": config, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checked(path: Path, key: str) -> dict | None:
    """Load a checkpoint if it is intact and carries ``key``; otherwise warn and return None."""
    if not path.exists():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("key") != key or "state_dict" not in blob:
            raise ValueError("key mismatch or missing state")
        return blob
    except Exception as err:  # noqa: BLE001 - any failure means the file is not trusted
        warnings.warn(
            f"checkpoint {path} is corrupt or stale ({err}); rebuilding it.", stacklevel=3
        )
        return None


def cached_state(
    config: dict[str, Any],
    build: Callable[[], nn.Module],
    train: Callable[[nn.Module], dict],
    cache_dir: str | Path | None = None,
    name: str = "model",
) -> tuple[nn.Module, dict]:
    """Return ``build()`` with trained weights, training (and caching) only on a cache miss."""
    key = config_key(config)
    path = Path(cache_dir or default_cache_dir()) / "checkpoints" / f"{name}-{key}.pt"
    model = build()
    blob = load_checked(path, key)
    if blob is not None:
        try:
            model.load_state_dict(blob["state_dict"])
            model.eval()
            return model, {"cached": True, "path": str(path), **json.loads(blob.get("log", "{}"))}
        except RuntimeError as err:
            warnings.warn(
                f"checkpoint {path} does not fit the model ({err}); rebuilding it.", stacklevel=2
            )
    log = train(model)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_save(
        {
            "key": key,
            "state_dict": state,
            "config": json.dumps(config, default=str),
            "log": json.dumps(log),
        },
        path,
    )
    model.eval()
    return model, {"cached": False, "path": str(path), **log}


def recipe_dict(recipe: Any) -> dict:
    return asdict(recipe)
