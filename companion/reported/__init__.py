"""Numbers quoted from the papers: the one place they live, each with its source, tolerance and
setting.

One module per paper (``xs``, ``jit``, ``cert``), each defining ``REPORTED: dict[str, Reported]``
keyed ``"<table or figure>/<row>/<column>"``. :func:`get` looks a number up as ``"paper:key"``.

Every number carries the :class:`Setting` it was produced in (dataset, architecture, variant of the
method, scale): its own, or the one the module's ``SETTINGS`` (key prefix -> Setting) gives it. A
number of ours is judged against it only when the two settings agree (:meth:`Reported.judge`);
otherwise the comparison is shown as "not comparable" with the reason.

Tolerances must separate the rows of a table they are meant to separate: no other row of the same
table and column may fall inside a row's tolerance, unless the paper prints the two at one level.
Each module lists those in ``LEVELS`` (a :class:`Level` per group, with the reason);
``tests/test_reported.py`` checks both.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import asdict, dataclass, replace

#: Scales of a setting: the paper's ('full'), a smaller analogue ('quick') and quantities that do
#: not depend on the scale at all ('exact': an accountant's T, a closed form).
SCALES = ("full", "quick", "exact")
QUICK_REASON = "not judged (QUICK analogue)"


@dataclass(frozen=True)
class Setting:
    """What a number was produced with; two numbers are compared only when these agree.

    dataset : the task as ``companion.data`` names it ('mnist', 'cifar100', 'pins', ...) or the
        toy's name ('gmm'); None when the number does not depend on data.
    arch : the architecture as ``companion.models`` names it ('mlp', 'vgg11', 'vit_b16', ...); None
        when it does not depend on one. A value starting with 'unknown' (the source does not say
        which model it used) is never comparable.
    variant : the version of the method: 'paper' (as the paper writes it) or 'as_coded' (as the
        reference code runs it); None when the method has one version.
    scale : 'full' (the paper's scale), 'quick' (the QUICK analogue) or 'exact' (does not depend on
        the scale); None when not recorded.
    forget : what is forgotten, as ``companion.config.parse_forget`` writes it ('class:69',
        'subclass:69', 'random:100'; on the paper's side 'class:*' when only the kind is known);
        None when it does not apply.

    On the paper's side a None field means "any"; on ours it means "not recorded", which is not
    comparable with a paper field that is set.
    """

    dataset: str | None = None
    arch: str | None = None
    variant: str | None = None
    scale: str | None = None
    forget: str | None = None

    def __post_init__(self) -> None:
        if self.scale is not None and self.scale not in SCALES:
            raise ValueError(f"scale={self.scale!r}: expected one of {', '.join(SCALES)} or None")
        for name in ("dataset", "arch", "variant", "forget"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, str) and v):
                raise ValueError(f"{name}={v!r}: expected a non-empty string or None")

    @classmethod
    def of(
        cls,
        task=None,
        arch=None,
        variant: str | None = None,
        profile: str | None = None,
        forget=None,
    ) -> "Setting":
        """Our setting from the objects a chapter already holds.

        ``task``: a task name or a ``companion.data.Task`` (its ``name``, and its ``forget_spec``
        unless ``forget`` is given); ``arch``: a name or a model built by ``companion.models`` (its
        ``companion_arch``); ``profile``: 'quick' or 'full' (a ``RunContext``'s ``profile``).
        """
        if task is None or isinstance(task, str):
            dataset = task
        else:
            dataset = getattr(task, "name", None)
            forget = forget if forget is not None else getattr(task, "forget_spec", None)
        if arch is not None and not isinstance(arch, str):
            arch = getattr(arch, "companion_arch", None)
        return cls(dataset, arch, variant, profile, None if forget is None else str(forget))

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        parts = [
            v
            for v in (
                self.dataset,
                self.arch,
                self.variant and f"{self.variant} variant",
                self.forget and f"forget {self.forget}",
                self.scale and f"{self.scale} scale",
            )
            if v
        ]
        return ", ".join(parts) or "any"


def _mismatches(ours: Setting, paper: Setting) -> list[str]:
    """Why ``ours`` cannot be set beside ``paper`` (empty when it can)."""
    why = []
    for name in ("dataset", "arch", "variant", "forget"):
        p, o = getattr(paper, name), getattr(ours, name)
        if p is None:
            continue
        if p.startswith("unknown"):
            why.append(
                f"ours {o}, paper {p}"
                if name in ("dataset", "arch")
                else f"{name}: ours {o}, paper {p}"
            )
        elif o is None:
            why.append(f"our {name} is not recorded, paper {p}")
        elif p.endswith(":*") and o.split(":")[0] == p[:-2]:
            continue
        elif o != p:
            why.append(
                f"ours {o}, paper {p}"
                if name in ("dataset", "arch")
                else f"{name}: ours {o}, paper {p}"
            )
    if paper.scale != "exact":
        if ours.scale is None:
            why.append(f"our scale is not recorded, paper {paper.scale or 'full'}")
        elif ours.scale != (paper.scale or "full"):
            why.append(f"ours at {ours.scale} scale, paper {paper.scale or 'full'}")
    return why


def comparable(ours: Setting, paper: Setting) -> str | None:
    """None when a number of ``ours`` may be judged against one of ``paper``, else the reason."""
    why = _mismatches(ours, paper)
    return "not comparable: " + "; ".join(why) if why else None


@dataclass(frozen=True)
class Reported:
    """One number from a paper.

    value : the number as printed (fractions in [0, 1] where the paper prints percent).
    source : where it is printed (paper, version, table/figure, row/column) or which deviation entry
        of the book (``deviations.md#<label>``), and how the tolerance was chosen.
    tolerance : absolute difference within which a reproduction counts as matching.
    unit : e.g. 'fraction', 'seconds', 'epsilon'.
    std : the spread the paper prints with it (over seeds or repetitions), if any.
    setting : dataset, architecture, variant and scale the number was produced with.
    """

    value: float
    source: str
    tolerance: float = 0.0
    unit: str = ""
    std: float | None = None
    setting: Setting | None = None

    def matches(self, ours: float, setting: Setting | None = None) -> bool | None:
        """Is ``ours`` within the tolerance? With ``setting`` (ours): None when it is not
        comparable."""
        if setting is not None and comparable(setting, self.setting or Setting()) is not None:
            return None
        return abs(float(ours) - self.value) <= self.tolerance

    def judge(
        self, ours: float, setting: Setting | None, quick: bool = False
    ) -> tuple[bool | None, str]:
        """``(match, status)``: match is None unless the row is judged.

        status is 'within tolerance', 'outside tolerance', :data:`QUICK_REASON` (a QUICK analogue is
        never judged) or 'not comparable: <reason>' (settings differ or ours is not recorded).
        """
        ours_setting = setting or Setting()
        if quick or ours_setting.scale == "quick":
            return None, QUICK_REASON
        reason = comparable(ours_setting, self.setting or Setting())
        if reason:
            return None, reason
        ok = abs(float(ours) - self.value) <= self.tolerance
        return ok, "within tolerance" if ok else "outside tolerance"


@dataclass(frozen=True)
class Level:
    """Rows of one table column that the paper prints at one level (no tolerance need tell them
    apart).

    table, column : as in the keys ``"<table>/<row>/<column>"`` of the paper's module.
    rows : the rows printed at one level.
    reason : why the table does not separate them (values, printed spread).
    """

    table: str
    column: str
    rows: frozenset[str]
    reason: str


def split_key(key: str) -> tuple[str, str, str]:
    """``"<table>/<row>/<column>"`` -> (table, row, column); a table may itself contain '/'."""
    parts = key.split("/")
    if len(parts) >= 3:
        return "/".join(parts[:-2]), parts[-2], parts[-1]
    return parts[0], parts[-1], ""


def _modules():
    for mod in pkgutil.iter_modules(__path__):
        yield mod.name, importlib.import_module(f"{__name__}.{mod.name}")


def _with_setting(key: str, r: Reported, settings: dict[str, Setting]) -> Reported:
    """``r`` with the setting of the longest prefix of ``key`` in ``settings`` (unless it has its
    own)."""
    if r.setting is not None:
        return r
    prefix = max((p for p in settings if key.startswith(p)), key=len, default=None)
    return r if prefix is None else replace(r, setting=settings[prefix])


def all_reported() -> dict[str, Reported]:
    """Every reported number, keyed ``"paper:key"``.

    A number without its own setting gets the one its module's ``SETTINGS`` (key prefix -> Setting)
    gives the longest matching prefix.
    """
    out: dict[str, Reported] = {}
    for name, module in _modules():
        settings = getattr(module, "SETTINGS", {})
        out.update(
            {
                f"{name}:{k}": _with_setting(k, v, settings)
                for k, v in getattr(module, "REPORTED", {}).items()
            }
        )
    return out


def all_levels() -> dict[str, tuple[Level, ...]]:
    """Each paper's :class:`Level` declarations."""
    return {name: tuple(getattr(module, "LEVELS", ())) for name, module in _modules()}


def get(key: str) -> Reported:
    table = all_reported()
    if key not in table:
        raise ValueError(
            f"no reported number {key!r}; known keys start with "
            f"{sorted({k.split(':')[0] for k in table})}"
        )
    return table[key]
