"""What a run is: its profile, device, data root and parameters (:func:`resolve`), the project's
paths, and what each experiment runs per profile (:class:`ProfileSetting`).

Every notebook's ``parameters`` cell holds UPPER_CASE literals. Each name used anywhere must have a
rule in :data:`companion.parameters.PARAMETERS`; ``python -m companion run`` checks values against
these rules before a kernel starts, and :func:`resolve` checks them again inside the notebook. Bad
values raise one ``ValueError`` naming the parameter, the value and what is allowed
(:mod:`companion.checks`). Both modules' names are re-exported here, where the package has always
imported them from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checks import (  # noqa: F401  (re-exported)
    bad_value,
    finite,
    fraction,
    integer,
    momentum,
    number_in,
    rate,
    real,
    weight,
)
from .parameters import (  # noqa: F401  (re-exported)
    DEVICES,
    FORGET_KINDS,
    PARAMETERS,
    PROFILES,
    ForgetSpec,
    Rule,
    parse_forget,
    validate_param,
    validate_params,
)

# --------------------------------------------------------------------------------------------
# Run context: profile, device, data root
# --------------------------------------------------------------------------------------------


def project_root() -> Path:
    """The book's folder (holding ``_toc.yml``): the nearest one at or above the working directory,
    else the source checkout the package was imported from, else the working directory.

    Notebook kernels (papermill, nbval) may start in a notebook's own folder; anchoring the cache
    and the data root here makes every run share them.
    """
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "_toc.yml").exists():
            return folder
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "_toc.yml").exists() else cwd


def default_data_root() -> Path:
    """``$COMPANION_DATA_ROOT`` (or ``$DATA_ROOT``), else ``data/`` in the project root."""
    env = os.environ.get("COMPANION_DATA_ROOT") or os.environ.get("DATA_ROOT")
    return Path(env).expanduser() if env else project_root() / "data"


def default_cache_dir() -> Path:
    """``$COMPANION_CACHE``, else ``.cache/companion`` in the project root."""
    env = os.environ.get("COMPANION_CACHE")
    return Path(env).expanduser() if env else project_root() / ".cache" / "companion"


@dataclass(frozen=True)
class RunContext:
    """The resolved settings a notebook or CLI call runs under."""

    profile: str
    seed: int
    device: str
    data_root: Path
    params: dict = field(default_factory=dict, compare=False)

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    def banner(self) -> str:
        what = (
            "QUICK profile: CPU-scale analogue on embedded data; numbers are not the paper's."
            if self.quick
            else "FULL profile: the papers' datasets and model sizes."
        )
        return f"{what} seed={self.seed} device={self.device}"


#: TF32 matmuls and convolutions on CUDA (10-bit mantissa inputs, fp32 accumulation: several times
#: the fp32 rate on Ampere/Hopper tensor cores at ~1e-3 relative rounding). On for every CUDA run
#: unless the environment sets ``COMPANION_TF32=0`` or a caller opts out with ``use_tf32(False)``.
_TF32 = {"on": os.environ.get("COMPANION_TF32", "1") != "0"}


def use_tf32(enabled: bool | None = None) -> bool:
    """The TF32 policy of CUDA runs: ``enabled`` (True/False) sets it, ``None`` only reads it.
    Applied to torch now and whenever :func:`torch_device` resolves a CUDA device."""
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise bad_value("enabled", enabled, "True, False or None (read the policy)")
        _TF32["on"] = enabled
        _apply_tf32()
    return _TF32["on"]


def _apply_tf32() -> None:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = _TF32["on"]
    torch.backends.cudnn.allow_tf32 = _TF32["on"]


def torch_device(device=None, name: str = "device"):
    """The one place that decides what a device argument means: ``None``/``'auto'`` -> CUDA when
    visible, else the CPU; otherwise the named device (``'cpu'``, ``'cuda'``, ``'cuda:N'`` or a
    ``torch.device``), refused with the standard ``ValueError`` (naming ``name``) when it is unknown
    or
    not available on this machine. Returns a ``torch.device``."""
    import torch

    if device in (None, "auto"):
        if torch.cuda.is_available():
            _apply_tf32()
            return torch.device("cuda")
        return torch.device("cpu")
    allowed = "'auto', 'cpu', 'cuda' or 'cuda:N' (a visible GPU), or a torch.device"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise bad_value(name, device, allowed) from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (dev.index is not None and dev.index >= count):
            raise bad_value(
                name, device, f"{allowed}; this machine has {count} visible CUDA device(s)"
            )
        _apply_tf32()
    elif dev.type != "cpu":
        raise bad_value(name, device, allowed)
    return dev


def resolve_device(device: str, profile: str) -> str:
    """A notebook's ``DEVICE`` for its profile: ``'auto'`` is the CPU in QUICK and CUDA in FULL,
    where no visible GPU is an error unless ``DEVICE='cpu'`` is forced; a named device must be
    available (:func:`torch_device`)."""
    import torch

    validate_param("DEVICE", device)
    if device == "auto":
        if profile == "full":
            if not torch.cuda.is_available():
                raise ValueError(
                    "PROFILE='full' needs a CUDA GPU and none is visible. Run on a GPU machine, or "
                    "force "
                    "the CPU with DEVICE='cpu' (-p DEVICE cpu) if you accept hours of compute."
                )
            return "cuda"
        return "cpu"
    torch_device(device, name="DEVICE")
    return device


def resolve(
    profile: str = "quick",
    seed: int = 0,
    device: str = "auto",
    data_root: str | None = None,
    **params: Any,
) -> RunContext:
    """Validate a notebook's parameters and return its :class:`RunContext`.

    Every keyword is checked against :data:`PARAMETERS` (UPPER_CASE names) before anything runs.
    """
    validate_param("PROFILE", profile)
    validate_param("SEED", seed)
    checked = validate_params({k: v for k, v in params.items()})
    root = Path(data_root).expanduser() if data_root else default_data_root()
    return RunContext(
        profile=profile,
        seed=seed,
        device=resolve_device(device, profile),
        data_root=root,
        params=checked,
    )


@dataclass(frozen=True)
class ProfileSetting:
    """What an experiment runs in each profile: the package decides, a notebook only asks.

    A subclass is a frozen dataclass of the experiment's choices (``task``, ``arch``, sizes) with
    defaults; ``QUICK`` and ``FULL`` hold each profile's overrides of them.
    ``Setting.for_profile( profile, task=TASK)`` returns the profile's setting with every given
    value that is not ``'auto'`` (or None) in place of the default, and a ``profile`` field, where
    the class has one, set to the profile. The chapter's pre-kernel check reads the same call
    (:func:`companion.preflight.preflight`).
    """

    QUICK = {}  # type: dict[str, Any]
    FULL = {}  # type: dict[str, Any]

    @classmethod
    def for_profile(cls, profile: str, **given: Any) -> "ProfileSetting":
        if profile not in PROFILES:
            raise bad_value("profile", profile, f"one of {PROFILES}")
        names = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(given) - names)
        if unknown:
            raise bad_value(
                unknown[0],
                given[unknown[0]],
                f"a setting of {cls.__name__}: one of {sorted(names)}",
            )
        chosen = {
            k: v
            for k, v in given.items()
            if v is not None and not (isinstance(v, str) and v == "auto")
        }
        fixed = {"profile": profile} if "profile" in names else {}
        return cls(**{**(cls.FULL if profile == "full" else cls.QUICK), **chosen, **fixed})
