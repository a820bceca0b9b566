"""What the JiT part's chapters run per profile, and the table chapters' shared opening (parameters
checked, the table's setting, the seeds, the banner). The tables themselves are
:mod:`companion.experiments.jit_settings`."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ProfileSetting, RunContext, resolve
from ..report import banner
from .jit_settings import table_setting


@dataclass(frozen=True)
class ZeroShotSetting(ProfileSetting):
    """Chapter 1 of the JiT part (zero-shot information): its task and network per profile."""

    task: str = "mnist5k"
    arch: str = "small_cnn"
    FULL = {"task": "mnist"}


@dataclass(frozen=True)
class AlgorithmSetting(ProfileSetting):
    """Chapter 2 of the JiT part (the algorithm): MNIST-5k and the small CNN in QUICK, CIFAR-100 and
    VGG11 (the paper's full-class table) in FULL."""

    task: str = "mnist5k"
    arch: str = "small_cnn"
    FULL = {"task": "cifar100", "arch": "vgg11"}


@dataclass(frozen=True)
class TableChapter:
    """What a table chapter opens with: its run context, the table's setting and the seeds."""

    ctx: RunContext
    setting: dict[str, str]
    seeds: list[int]

    @property
    def banner(self) -> str:
        """The profile banner and the setting, as the chapter prints them first."""
        return f"{banner(self.ctx)}\n{self.setting} seeds {self.seeds}"


def table_chapter(
    table: str,
    profile: str,
    seed: int,
    device: str,
    data_root: str,
    n_seeds: int,
    task: str = "auto",
    arch: str = "auto",
    forget: str = "auto",
) -> TableChapter:
    """The shared opening of the three table chapters: the notebook's parameters checked
    (:func:`companion.config.resolve`), the table's setting for the profile
    (:func:`table_setting`) and the seeds ``seed .. seed + n_seeds - 1``."""
    ctx = resolve(
        profile, seed, device, data_root, N_SEEDS=n_seeds, TASK=task, ARCH=arch, JIT_FORGET=forget
    )
    setting = table_setting(table, ctx.profile, task, arch, forget)
    return TableChapter(ctx, setting, list(range(seed, seed + n_seeds)))
