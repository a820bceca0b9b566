"""JiT's rows of ``python -m companion bench`` (:mod:`companion.bench`): JiT against a from-scratch
transcription of the reference code's update and against the floor of its network work, and the
cost of JiT as the work grows (forget-set size, model width, N) with its log-log slope.

JiT (Foster et al. (2025), Algorithm 1) is called through its public API,
:func:`companion.methods.jit.jit_unlearn`. Every path starts each call from a copy of the same
model, so every round does the same work.
"""

from __future__ import annotations

import copy
from typing import Callable, Iterable, Sequence

import torch
from torch import nn

from .bench_timing import best_of, loglog_slope, ratio_row, sizes
from .checks import integer
from .methods.jit import jit_unlearn
from .methods.jit_config import JitConfig
from .models import build

#: sigma and eta of the reference scripts' class-forgetting VGG row (jit_config.PAPER_SETTINGS).
SIGMA, ETA = 0.5, 3e-4

#: Largest parameter difference JiT and the transcription may show (float32 rounding: a chunked
#: forward sums in another order than one forward per perturbation), per device type.
TOLERANCE = {"cpu": 1e-5, "cuda": 1e-4}


def _perturb_like_reference(tensor: torch.Tensor, std: float) -> torch.Tensor:
    """The reference code's noise transform: add ``std * N(0, I)`` from the global generator of the
    tensor's device, then clamp to the min and max of the whole input tensor."""
    hi, lo = tensor.max(), tensor.min()
    tensor = tensor + torch.randn(tensor.size(), device=tensor.device) * std + 0.0
    return torch.clamp(tensor, min=lo, max=hi)


def reference_update(
    model: nn.Module, batches: Iterable[torch.Tensor], sigma: float, lr: float, n: int, seed: int
) -> None:
    """A from-scratch transcription of the reference code's ``Lipschitz.modify_weight`` (Foster
    et al. (2025), Algorithm 1 as coded), in place.

    A plain SGD of rate ``lr``; gradients zeroed once, before the loop; per forget batch x (B, ...)
    in order: ``out = f(x)`` with gradient, then for j = 1..N a fresh copy of x perturbed and
    clamped to x's batch min/max, ``f(x'_j)`` without gradient, the un-squared ratio of the
    flattened norms summed over the batch; ``loss = sum_j k_j / N``; backward; step. The model
    stays in train mode and the noise comes from the global generator seeded with ``seed`` (its
    state outside is restored).
    """
    dev = next(model.parameters()).device
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        model.zero_grad()  # the reference zeroes once, through the training optimiser
        for x in batches:
            image = x.unsqueeze(0) if x.dim() == 3 else x
            out = model(image)
            loss = torch.zeros((), device=dev)
            for _ in range(n):
                img2 = _perturb_like_reference(copy.deepcopy(x), sigma)
                image2 = img2.unsqueeze(0) if img2.dim() == 3 else img2
                with torch.no_grad():
                    out2 = model(image2)
                flat, flat2 = image.view(image.size()[0], -1), image2.view(image2.size()[0], -1)
                in_norm = torch.linalg.vector_norm(flat - flat2, dim=1)
                out_norm = torch.linalg.vector_norm(out - out2, dim=1)
                loss += (out_norm / in_norm).sum().abs()
            loss /= n
            loss.backward()
            optimizer.step()


def _groups(chunk: object, n: int) -> list[int]:
    """Perturbations per forward pass as JiT ran them (its log's ``chunk``)."""
    if isinstance(chunk, (list, tuple)):
        return [int(c) for c in chunk]
    k = int(chunk) if isinstance(chunk, int) and chunk >= 1 else 1
    return [min(k, n - s) for s in range(0, n, k)]


def floor_pass(
    model: nn.Module, batches: Sequence[torch.Tensor], perturbed: Sequence[Sequence[torch.Tensor]]
) -> None:
    """The floor of JiT's work per forget batch x (B, ...): ``f(x)`` with gradient, the forwards of
    the perturbed inputs (drawn beforehand, grouped as JiT groups them) without gradient, one
    backward and one SGD step (of rate 0: the same arithmetic, the model unchanged)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    for x, group in zip(batches, perturbed):
        out = model(x)
        with torch.no_grad():
            for xp in group:
                model(xp)
        out.sum().backward()
        opt.step()


def _rows_pushed(model: nn.Module, run: Callable[[nn.Module], object]) -> int:
    """Rows pushed through ``model``'s forward while ``run(model)`` runs (a forward pre-hook)."""
    count = [0]
    handle = model.register_forward_pre_hook(
        lambda _m, a: count.__setitem__(0, count[0] + len(a[0]))
    )
    try:
        run(model)
    finally:
        handle.remove()
    return count[0]


def _param_gap(a: nn.Module, b: nn.Module) -> float:
    with torch.no_grad():
        return max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters()))


def bench_jit_reference(
    x: torch.Tensor,
    archs: Sequence[str],
    ns: Sequence[int],
    batch: int,
    n_batches: int,
    rounds: int,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> list[dict]:
    """JiT's ``variant='reference'`` update against :func:`reference_update` (same parameters to
    :data:`TOLERANCE`) and against :func:`floor_pass` (the same forward rows), per architecture and
    N, timed round-robin.

    Parameters
    ----------
    x : Tensor (M, C, H, W)
        Forget images, M >= ``batch * n_batches``.

    Returns
    -------
    list of dict
        Per (arch, N) a ``jit_reference`` row (target: speed-up >= 1) and a ``jit_floor`` row
        (target: JiT / floor <= 1.1, i.e. speed-up >= 1 / 1.1).
    """
    ns = sizes("ns", ns)
    integer("batch", batch, 1)
    integer("n_batches", n_batches, 1)
    if len(x) < batch * n_batches:
        raise ValueError(
            f"batch * n_batches={batch * n_batches} is not allowed: expected at most the {len(x)} "
            "forget images."
        )
    dev = torch.device(device)
    tol = TOLERANCE.get(dev.type, TOLERANCE["cuda"])
    batches = list(x[: batch * n_batches].to(dev).split(batch))
    rows = []
    for arch in archs:
        base = build(arch, tuple(x.shape[1:]), 10, seed).to(dev)
        for n in ns:
            cfg = JitConfig(variant="reference", sigma=SIGMA, lr=ETA, n_samples=n)
            out: dict[str, nn.Module] = {}

            def ours(m: nn.Module, out=out, cfg=cfg) -> None:
                out["log"] = jit_unlearn(m, batches, cfg, seed=seed, device=dev)
                out["ours"] = m

            def ref(m: nn.Module, n=n, out=out) -> None:
                reference_update(m, batches, SIGMA, ETA, n, seed)
                out["ref"] = m

            ours(copy.deepcopy(base))  # first call: whatever JiT sets up once (a chunk choice)
            rows_ours = _rows_pushed(copy.deepcopy(base), ours)
            gen = torch.Generator(device=dev).manual_seed(seed)
            perturbed = [
                [
                    (
                        xb.unsqueeze(0)
                        + SIGMA * torch.randn((g, *xb.shape), generator=gen, device=dev)
                    )
                    .clamp(xb.min(), xb.max())
                    .reshape(g * len(xb), *xb.shape[1:])
                    for g in _groups(out["log"]["chunk"], n)
                ]
                for xb in batches
            ]
            rows_floor = _rows_pushed(
                copy.deepcopy(base), lambda m, p=perturbed: floor_pass(m, batches, p)
            )
            best = best_of(
                {
                    "ours": lambda b=base: ours(copy.deepcopy(b)),
                    "ref": lambda b=base: ref(copy.deepcopy(b)),
                    "floor": lambda b=base, p=perturbed: floor_pass(copy.deepcopy(b), batches, p),
                },
                rounds,
                dev,
            )
            where = f"{arch}, N={n}, {n_batches} forget batches of {batch}"
            rows.append(
                ratio_row(
                    "jit_reference",
                    f"{where}, chunk {out['log']['chunk']}",
                    best["ours"],
                    best["ref"],
                    "transcription of the reference update",
                    "max |parameter difference|",
                    _param_gap(out["ours"], out["ref"]),
                    tol,
                    target=">= 1.0x",
                    N=n,
                    arch=arch,
                )
            )
            rows.append(
                ratio_row(
                    "jit_floor",
                    f"{where}, floor: (N+1) forwards + 1 backward",
                    best["ours"],
                    best["floor"],
                    "(N+1) forwards + 1 backward",
                    "|forward rows difference|",
                    float(abs(rows_ours - rows_floor)),
                    0.0,
                    target=">= 0.91x (JiT <= 1.1x the floor)",
                    N=n,
                    arch=arch,
                )
            )
    return rows


def _mlp(width: int, d: int, seed: int) -> nn.Module:
    """A 784-``width``-10 MLP with a seeded initialisation."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(nn.Flatten(), nn.Linear(d, width), nn.ReLU(), nn.Linear(width, 10))


def _cost_row(name: str, what: str, setting: str, ns: Sequence[int], best: dict) -> dict:
    seconds = [best[n] for n in ns]
    return {
        "benchmark": name,
        "setting": setting,
        "size": what,
        "sizes": list(ns),
        "seconds": seconds,
        "slope": loglog_slope(ns, seconds),
    }


def bench_cost(
    x: torch.Tensor,
    forget_sizes: Sequence[int],
    widths: Sequence[int],
    ns: Sequence[int],
    rounds: int,
    device: torch.device | str = "cpu",
    n_fixed: int = 128,
    width_fixed: int = 128,
    batch: int = 64,
) -> list[dict]:
    """Time of one JiT pass (paper variant, the package's defaults otherwise) as the forget set,
    the width of a 784-w-10 MLP and N grow, each curve timed round-robin over its sizes, with the
    least-squares slope of log time on log size (:func:`~companion.bench_timing.loglog_slope`).

    Parameters
    ----------
    x : Tensor (M, 1, 28, 28)
        Images to forget, M >= max(forget_sizes) and >= ``n_fixed``.
    """
    forget_sizes, widths, ns = (
        sizes("forget_sizes", forget_sizes),
        sizes("widths", widths),
        sizes("ns", ns),
    )
    if len(forget_sizes) < 2 or len(widths) < 2 or len(ns) < 2:
        raise ValueError(
            f"forget_sizes={forget_sizes}, widths={widths}, ns={ns} is not allowed: expected at "
            "least 2 sizes per curve (a slope needs two points)."
        )
    if not 1 <= integer("n_fixed", n_fixed, 1) <= len(x):
        raise ValueError(f"n_fixed={n_fixed} is not allowed: expected at most the {len(x)} images.")
    integer("width_fixed", width_fixed, 1)
    integer("batch", batch, 1)
    if max(forget_sizes) > len(x):
        raise ValueError(
            f"forget_sizes={forget_sizes} is not allowed: expected sizes up to the {len(x)} images."
        )
    dev = torch.device(device)
    x = x.to(dev)
    d = x[0].numel()

    def run(model: nn.Module, n_forget: int, n: int) -> Callable[[], object]:
        cfg = JitConfig(n_samples=n, batch_size=batch)
        parts = list(x[:n_forget].split(batch))
        return lambda: jit_unlearn(copy.deepcopy(model), parts, cfg, seed=0, device=dev)

    mlp = _mlp(width_fixed, d, 0).to(dev)
    by_forget = best_of({m: run(mlp, m, 25) for m in forget_sizes}, rounds, dev)
    by_width = best_of({w: run(_mlp(w, d, 0).to(dev), n_fixed, 25) for w in widths}, rounds, dev)
    by_n = best_of({n: run(mlp, n_fixed, n) for n in ns}, rounds, dev)
    mlp_name = f"784-{width_fixed}-10 MLP"
    return [
        _cost_row(
            "cost_forget",
            "forget-set size",
            f"{mlp_name}, N=25, batch {batch}",
            forget_sizes,
            by_forget,
        ),
        _cost_row(
            "cost_width",
            "hidden width w",
            f"784-w-10 MLP, {n_fixed} forget images, N=25",
            widths,
            by_width,
        ),
        _cost_row("cost_n", "N", f"{mlp_name}, {n_fixed} forget images", ns, by_n),
    ]
