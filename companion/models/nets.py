"""The papers' architectures, built by name with :func:`build`.

=================  ===========================================================  ==================
name               architecture                                                 used by
=================  ===========================================================  ==================
``mlp``            flatten -> 784-128-64-C, ReLU                                Xu & Strohmer
``tiny_mlp``       flatten -> D-5-C, ReLU (3,985 parameters on MNIST)           Koloskova et al.
``tiny_cnn``       conv32-avgpool-conv64-avgpool-global mean-dense (He init)    Koloskova et al.
``three_layer``    D-32-32-C, ReLU (ResNet-feature experiments)                 Koloskova et al.
``small_cnn``      VGG-like conv16-conv32 + dropout classifier (QUICK images)   QUICK stand-in
``vgg11``          torchvision vgg11 (no BN, 1000 outputs) + Linear(1000, C)    Foster et al.
``resnet18``       torchvision resnet18 with a CIFAR stem (3x3 conv, no pool)   Foster et al.
``vit_b16``        torchvision vit_b_16 (ImageNet weights from TORCH_HOME),     Foster et al.
                   224 x 224 inputs, new Linear(768, C) head                    (FULL, optional)
=================  ===========================================================  ==================
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..config import bad_value


def _flat_dim(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))


def mlp(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """784-128-64-10 MLP of Xu & Strohmer (PyTorch default initialisation)."""
    d = _flat_dim(input_shape)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(d, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, num_classes),
    )


def _trunc_normal_fan_in_(w: torch.Tensor, scale: float) -> None:
    """Flax variance scaling (fan_in, truncated normal): std = sqrt(scale / fan_in) / 0.8796."""
    fan_in = w.shape[1] * (w[0, 0].numel() if w.ndim > 2 else 1)
    std = math.sqrt(scale / fan_in) / 0.87962566103423978
    nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)


def _flax_init(module: nn.Module, scale: float) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            _trunc_normal_fan_in_(m.weight.data, scale)
            nn.init.zeros_(m.bias)
    return module


def tiny_mlp(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """Koloskova et al.'s ``tiny_net``: flatten -> Dense(5) -> ReLU -> Dense(C), LeCun-normal
    init."""
    d = _flat_dim(input_shape)
    return _flax_init(
        nn.Sequential(nn.Flatten(), nn.Linear(d, 5), nn.ReLU(), nn.Linear(5, num_classes)), 1.0
    )


class _GlobalMean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def tiny_cnn(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """Koloskova et al.'s ``tiny_net_cifar`` (20,042 parameters for 3 channels, 10 classes), He
    init."""
    c = input_shape[0]
    return _flax_init(
        nn.Sequential(
            nn.Conv2d(c, 32, 3, padding=1),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.AvgPool2d(2),
            _GlobalMean(),
            nn.Linear(64, num_classes),
        ),
        2.0,
    )


def three_layer(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """Koloskova et al.'s ``three_layer_net`` on 512-d ResNet features: D-32-32-C."""
    d = _flat_dim(input_shape)
    return _flax_init(
        nn.Sequential(
            nn.Flatten(),
            nn.Linear(d, 32),
            nn.ReLU(),
            nn.Linear(32, 32),
            nn.ReLU(),
            nn.Linear(32, num_classes),
        ),
        1.0,
    )


def small_cnn(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """A small VGG-like CNN for QUICK image work; dropout in its classifier as VGG has."""
    c, h, w = input_shape
    flat = 32 * (h // 4) * (w // 4)
    return nn.Sequential(
        nn.Conv2d(c, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(flat, 64),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(64, num_classes),
    )


class VGG11Head(nn.Module):
    """JiT's "VGG16": torchvision ``vgg11()`` (random init, no BN, 1000 outputs) then Linear(1000,
    C) (the reference code's ``src/models.py``; deviations.md#jit-vgg11)."""

    def __init__(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        from torchvision.models import vgg11

        self.base = vgg11(weights=None)
        if input_shape[0] != 3:
            self.base.features[0] = nn.Conv2d(input_shape[0], 64, 3, padding=1)
        self.head = nn.Linear(1000, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.base(x))


def resnet18(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """torchvision ResNet-18 with the usual CIFAR stem: 3x3 stride-1 first conv and no max-pool."""
    from torchvision.models import resnet18 as tv_resnet18

    net = tv_resnet18(weights=None, num_classes=num_classes)
    net.conv1 = nn.Conv2d(input_shape[0], 64, 3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    return net


VIT_WEIGHTS_HELP = (
    'Download them once on a machine with internet access: python -c "from torchvision.models '
    "import vit_b_16, "
    'ViT_B_16_Weights; vit_b_16(weights=ViT_B_16_Weights.IMAGENET1K_V1)", then copy {name} into '
    "{folder} "
    "(or point TORCH_HOME at a folder whose hub/checkpoints holds it)."
)


VIT_SIZE = 224  # the input side of vit_b16 (and of the JiT code's HF ViT)


class ViTB16(nn.Module):
    """JiT's ViT, rebuilt from torchvision: ``vit_b_16`` with ImageNet-1k weights and a new head.

    The JiT code uses HF ``google/vit-base-patch16-224`` (ImageNet-21k pre-training, 1k fine-tuning)
    with a Linear(768, C) on the CLS token of ``last_hidden_state``. This is torchvision's
    ``ViT_B_16_Weights.IMAGENET1K_V1`` checkpoint (a different training run of the same
    architecture), with ``heads`` replaced by Linear(768, C) on the (layer-normed) CLS token
    (deviations.md#jit-vit).
    One-channel inputs are repeated to three channels.

    The network takes 224 x 224 inputs and refuses any other size. As in the JiT code, images are
    resized in the data pipeline (``task.with_input_size(input_size("vit_b16"))``, which resizes the
    normalised batches), not in ``forward``: a method that perturbs its inputs (JiT) must draw its
    noise at the resolution the network sees.

    The weights are read from ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub``) only, never
    downloaded: a missing file raises ``FileNotFoundError`` saying where to put it.

    Parameters
    ----------
    input_shape : (C, H, W)
    num_classes : int
    """

    def __init__(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        import os

        from torchvision.models import ViT_B_16_Weights, vit_b_16

        if (
            len(input_shape) != 3
            or input_shape[0] not in (1, 3)
            or tuple(input_shape[1:]) != (VIT_SIZE, VIT_SIZE)
        ):
            raise bad_value(
                "input_shape",
                input_shape,
                f"(1 or 3, {VIT_SIZE}, {VIT_SIZE}) images for vit_b16: resize in the data pipeline "
                f"with "
                f"task.with_input_size({VIT_SIZE}) (models.input_size('vit_b16'))",
            )
        weights = ViT_B_16_Weights.IMAGENET1K_V1
        folder = os.path.join(torch.hub.get_dir(), "checkpoints")
        name = os.path.basename(weights.url)
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"vit_b16 needs the ImageNet weights {name} in {folder}. "
                + VIT_WEIGHTS_HELP.format(name=name, folder=folder)
            )
        self.backbone = vit_b_16(weights=None)
        self.backbone.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.backbone.heads = nn.Linear(768, num_classes)
        self.channels = input_shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) normalised images -> (B, num_classes) logits."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.channels, VIT_SIZE, VIT_SIZE):
            raise bad_value(
                "input",
                tuple(x.shape),
                f"a (B, {self.channels}, {VIT_SIZE}, {VIT_SIZE}) batch: resize in the data "
                f"pipeline (task.with_input_size({VIT_SIZE}))",
            )
        if self.channels == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.backbone(x)


ARCHS: dict[str, Callable[[tuple[int, ...], int], nn.Module]] = {
    "mlp": mlp,
    "tiny_mlp": tiny_mlp,
    "tiny_cnn": tiny_cnn,
    "three_layer": three_layer,
    "small_cnn": small_cnn,
    "vgg11": VGG11Head,
    "resnet18": resnet18,
    "vit_b16": ViTB16,
}


#: Architectures that take a fixed input size; the task is resized to it in the data pipeline.
INPUT_SIZE: dict[str, int] = {"vit_b16": VIT_SIZE}


def available() -> list[str]:
    return list(ARCHS)


def input_size(arch: str) -> int | None:
    """The square input side ``arch`` needs (``None``: it takes the task's images as they are).

    Pass it to :meth:`companion.data.Task.with_input_size` before training or unlearning, so the
    images are resized in the data pipeline (as the JiT reference code's ``Resize(224)`` for ViT).
    """
    if arch not in ARCHS:
        raise bad_value("arch", arch, f"one of {', '.join(ARCHS)}")
    return INPUT_SIZE.get(arch)


def register_arch(name: str, builder: Callable[[tuple[int, ...], int], nn.Module]) -> None:
    """Add an architecture (e.g. ViT, which needs its own weights) to the registry."""
    ARCHS[name] = builder


def build(arch: str, input_shape: tuple[int, ...], num_classes: int, seed: int = 0) -> nn.Module:
    """Build ``arch`` with a deterministic initialisation drawn from ``seed``."""
    if arch not in ARCHS:
        raise bad_value("arch", arch, f"one of {', '.join(ARCHS)}")
    if num_classes < 2:
        raise bad_value("num_classes", num_classes, "an integer >= 2")
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = ARCHS[arch](tuple(input_shape), num_classes)
        model.companion_arch = arch  # lets a retrain rebuild the same architecture from scratch
        return model
    finally:
        torch.random.set_rng_state(state)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
