"""The ImageNet-feature tasks of Koloskova et al.'s Figure 3: CIFAR-10/100 with every image replaced
by its 512-d ResNet-18 feature vector, on which the budget curves train the three-layer network.

The feature extractor follows the authors' code (``feature_extractor.py``): the torchvision
ResNet-18 with ImageNet weights in eval mode, up to the global average pool, on images resized to
224 and normalised with CIFAR statistics (not ImageNet's); features are extracted once, without
augmentation, and cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import data as cdata
from ..config import bad_value, default_cache_dir
from ..data.tasks import Split
from ..models.cache import atomic_save, config_key, load_checked
from ..progress import progress

if TYPE_CHECKING:
    import torch

    from ..data.tasks import Task

#: Normalisation the authors' feature extractor applies before the ImageNet ResNet-18 (CIFAR
#: statistics).
FEATURE_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
}


def resnet_features(
    x: "torch.Tensor",
    stats: tuple,
    device: "str | torch.device" = "cpu",
    weights: str | None = "IMAGENET1K_V1",
    batch_size: int = 256,
    size: int = 224,
) -> "torch.Tensor":
    """512-d features of the torchvision ResNet-18 (``weights``; eval mode, up to the global average
    pool) for uint8 images (N, 3, H, W) resized to ``size`` (224) and normalised with ``stats`` (the
    authors' feature extractor uses CIFAR statistics, not ImageNet's). Returns (N, 512) float32 on
    the CPU.

    ``weights=None`` builds a randomly initialised network (tests); the ImageNet weights must be in
    torch's hub cache (``TORCH_HOME``) when the machine has no internet.
    """
    import torch
    from torch.nn import functional as F
    from torchvision.models import resnet18

    net = resnet18(weights=weights)
    net.fc = torch.nn.Identity()
    net.eval().to(device)
    mean = torch.tensor(stats[0], device=device).view(1, 3, 1, 1)
    std = torch.tensor(stats[1], device=device).view(1, 3, 1, 1)
    out = []
    with torch.no_grad():
        for i in progress(range(0, len(x), batch_size), desc="ResNet-18 features"):
            xb = x[i : i + batch_size].to(device).float() / 255.0
            xb = F.interpolate(
                xb, size=(size, size), mode="bilinear", align_corners=False, antialias=True
            )
            out.append(net((xb - mean) / std).float().cpu())
    return torch.cat(out) if out else torch.empty(0, 512)


def feature_task(
    name: str,
    forget: str,
    seed: int = 0,
    data_root: str | None = None,
    device: "str | torch.device" = "cpu",
    weights: str | None = "IMAGENET1K_V1",
    cache_dir: str | None = None,
    size: int = 224,
) -> "Task":
    """The CIFAR-10/100 task of Figure 3 with every image replaced by its ResNet-18 feature vector.

    Same splits as ``load_task(name, forget, seed)``; features are extracted once per (dataset,
    weights) without augmentation and cached (atomic, hash-keyed).
    """
    import dataclasses

    import torch

    if name not in FEATURE_STATS:
        raise bad_value("name", name, f"one of {', '.join(FEATURE_STATS)}")
    task = cdata.load_task(name, forget=forget, seed=seed, data_root=data_root)
    full_train = cdata.tasks._raw(name, Path(data_root) if data_root else None, False)
    feats = {}
    for part, x in (("train", full_train["x_train"]), ("test", full_train["x_test"])):
        cfg = {
            "dataset": name,
            "part": part,
            "n": int(len(x)),
            "weights": weights,
            "stats": FEATURE_STATS[name],
            "size": size,
        }
        key = config_key(cfg)
        path = Path(cache_dir or default_cache_dir()) / "features" / f"{name}-{part}-{key}.pt"
        blob = load_checked(path, key)
        if blob is None:
            f = resnet_features(torch.as_tensor(x), FEATURE_STATS[name], device, weights, size=size)
            atomic_save({"key": key, "state_dict": {"features": f}}, path)
        else:
            f = blob["state_dict"]["features"]
        feats[part] = f
    zero, one = torch.zeros(feats["train"].shape[1]), torch.ones(feats["train"].shape[1])

    def swap(split: Split, part: str) -> Split:
        return Split(feats[part][split.index], split.y, zero, one, split.fine, split.index)

    splits = {
        k: swap(
            getattr(task, k), "test" if k in ("test", "retain_test", "forget_test") else "train"
        )
        for k in ("train", "retain", "forget", "val", "test", "retain_test", "forget_test")
    }
    return dataclasses.replace(
        task, name=f"{name}_features", input_shape=(int(feats["train"].shape[1]),), **splits
    )
