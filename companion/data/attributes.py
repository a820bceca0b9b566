"""Binary image attributes for feature unlearning: pixel attributes (QUICK) and CelebA's (FULL).

The feature ``Z`` of Xu & Strohmer's image experiment is a visual attribute of the image itself
(CelebA's Smiling or Male in the authors' CelebA notebook). QUICK has no CelebA, so it computes a
scalar attribute from the pixels of the embedded MNIST subset and thresholds it
(deviations.md#xs-image-standin); FULL reads CelebA from torchvision's on-disk layout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..config import PROFILES, bad_value, default_data_root
from ..progress import progress
from . import embedded

ATTRIBUTES = ("ink", "slant", "height")
CELEBA_ATTRS = ("Smiling", "Male")


def pixel_attribute(x: torch.Tensor | np.ndarray, name: str = "ink") -> np.ndarray:
    """A scalar visual attribute per image, computed from the pixels.

    Parameters
    ----------
    x : (n, C, H, W) or (n, H, W) images (any affine intensity scaling; channels are averaged)
    name : {'ink', 'slant', 'height'}
        'ink': mean intensity minus the image's border level (stroke thickness / amount of ink);
        'slant': the shear ``cov(row, col) / var(row)`` of the intensity mass (sign = lean
        direction); 'height': the vertical extent (standard deviation of the row coordinate of the
        mass).

    Returns
    -------
    (n,) float64 array
    """
    if name not in ATTRIBUTES:
        raise bad_value("feature", name, f"one of {ATTRIBUTES}")
    a = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).double()
    if a.ndim == 4:
        a = a.mean(1)
    if a.ndim != 3:
        raise bad_value(
            "x", f"an array of shape {tuple(a.shape)}", "images of shape (n, C, H, W) or (n, H, W)"
        )
    base = a[:, 0, :].mean(1)  # top row: background level (images are normalised or in [0, 1])
    w = (a - base[:, None, None]).clamp_min(0)
    if name == "ink":
        return w.mean((1, 2)).numpy()
    n, h, wd = w.shape
    mass = w.sum((1, 2)).clamp_min(1e-12)
    r = torch.arange(h, dtype=torch.float64)[None, :, None]
    c = torch.arange(wd, dtype=torch.float64)[None, None, :]
    mr = (w * r).sum((1, 2)) / mass
    mc = (w * c).sum((1, 2)) / mass
    var_r = (w * (r - mr[:, None, None]) ** 2).sum((1, 2)) / mass
    if name == "height":
        return var_r.sqrt().numpy()
    cov = (w * (r - mr[:, None, None]) * (c - mc[:, None, None])).sum((1, 2)) / mass
    return (cov / var_r.clamp_min(1e-12)).numpy()


def celeba_attribute_images(
    root,
    attr: str = "Smiling",
    size: int = 64,
    split: str = "train",
    max_images: int | None = None,
    crop: int = 140,
) -> tuple[torch.Tensor, np.ndarray]:
    """CelebA images and a binary attribute, read from torchvision's on-disk layout (FULL profile).

    Expects ``root/celeba/img_align_celeba/*.jpg``, ``root/celeba/list_attr_celeba.txt`` and
    ``root/celeba/list_eval_partition.txt`` (the files ``torchvision.datasets.CelebA`` downloads).
    Images are centre-cropped to ``crop`` pixels and resized to ``size`` (the usual CelebA-64
    preprocessing; the authors' own crop is not known, deviations.md#xs-celeba-crop).

    Returns
    -------
    x : (n, 3, size, size) float32 in [0, 1]; z : (n,) int64, 1 where ``attr`` is +1
    """
    from PIL import Image

    if attr not in CELEBA_ATTRS:
        raise bad_value("attr", attr, f"one of {CELEBA_ATTRS}")
    splits = {"train": 0, "valid": 1, "test": 2}
    if split not in splits:
        raise bad_value("split", split, f"one of {tuple(splits)}")
    base = Path(root) / "celeba"
    need = [
        base / "list_attr_celeba.txt",
        base / "list_eval_partition.txt",
        base / "img_align_celeba",
    ]
    missing = [str(p) for p in need if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"CelebA not found: missing {missing}. Place torchvision's CelebA files under "
            f"DATA_ROOT/celeba/ "
            "(img_align_celeba/*.jpg, list_attr_celeba.txt, list_eval_partition.txt), e.g. with "
            "torchvision.datasets.CelebA(DATA_ROOT, download=True) on a machine with internet."
        )
    lines = (base / "list_attr_celeba.txt").read_text().split("\n")
    names = lines[1].split()
    col = names.index(attr)
    attrs = {}
    for line in lines[2:]:
        parts = line.split()
        if parts:
            attrs[parts[0]] = int(parts[1 + col])
    part = dict(
        line.split()
        for line in (base / "list_eval_partition.txt").read_text().split("\n")
        if line.strip()
    )
    files = sorted(f for f, s in part.items() if int(s) == splits[split] and f in attrs)
    if max_images is not None:
        files = files[:max_images]
    if not files:
        raise bad_value(
            "split", split, "a split with at least one image in list_eval_partition.txt"
        )
    imgs = []
    for f in progress(files, desc=f"CelebA {split}"):
        im = Image.open(base / "img_align_celeba" / f).convert("RGB")
        w, h = im.size
        c = min(crop, w, h)
        left, top = (w - c) // 2, (h - c) // 2
        im = im.crop((left, top, left + c, top + c)).resize((size, size), Image.BILINEAR)
        imgs.append(torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1))
    z = np.array([attrs[f] == 1 for f in files], dtype=np.int64)
    return torch.stack(imgs), z


def image_groups(
    profile: str,
    data_root=None,
    feature: str = "ink",
    quantile: float = 0.5,
    celeba_attr: str = "Smiling",
    max_images: int | None = None,
    seed: int = 0,
) -> dict:
    """The two image groups of the feature-unlearning image experiment for ``profile``.

    * FULL: CelebA 64x64 training images, Z = ``celeba_attr`` (the authors' CelebA notebook;
      :func:`celeba_attribute_images`);
    * QUICK: the embedded MNIST 5,000 subset, Z = 1 where the pixel attribute ``feature`` exceeds
      its
      ``quantile`` (an honest stand-in: a binary visual attribute computed from the pixels).

    Returns a dict with ``x`` (n, C, H, W) float32 in [0, 1], ``z`` (n,), ``y`` (digit labels or
    None), ``description``.
    """

    if profile not in PROFILES:
        raise bad_value("profile", profile, f"one of {PROFILES}")
    if feature not in ATTRIBUTES:
        raise bad_value("feature", feature, f"one of {ATTRIBUTES}")
    if not 0.0 < float(quantile) < 1.0:
        raise bad_value("quantile", quantile, "a number in (0, 1)")
    if profile == "full":
        x, z = celeba_attribute_images(
            data_root or default_data_root(), celeba_attr, max_images=max_images
        )
        return {"x": x, "z": z, "y": None, "description": f"CelebA 64x64 train, Z = {celeba_attr}"}
    xs, ys = embedded.mnist5k()
    x = torch.from_numpy(xs)[:, None]
    if max_images is not None:
        x, ys = x[:max_images], ys[:max_images]
    attr = pixel_attribute(x, feature)
    z = (attr > np.quantile(attr, quantile)).astype(np.int64)
    return {
        "x": x,
        "z": z,
        "y": ys,
        "description": (
            f"MNIST-5k (QUICK stand-in), Z = {feature} above its {quantile:.0%} quantile"
        ),
    }
