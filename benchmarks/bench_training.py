"""Training throughput of the companion's loop against this machine's matmul ceiling.

Prints, measured side by side in one run:
* the float32 matmul rate (the ceiling),
* the 784-128-64-10 MLP trained with ``companion.training.fit`` (samples/s and GFLOP/s),
* the same steps with data already on the device as one tensor (the loop's overhead ratio).

Run: ``.venv/bin/python benchmarks/bench_training.py``
"""

from __future__ import annotations

import time

import torch
from torch.nn import functional as F

from companion import data, models, training


def matmul_gflops(n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def mlp_flops_per_sample() -> float:
    fwd = 2 * (784 * 128 + 128 * 64 + 64 * 10)
    return 3 * fwd  # forward + backward (about twice the forward)


def main() -> None:
    torch.manual_seed(0)
    task = data.load_task("mnist5k", forget="class:3", seed=0)
    recipe = training.TrainRecipe("adam", 1e-3, 3, 64)
    ceiling = matmul_gflops()

    model = models.build("mlp", task.input_shape, 10)
    training.fit(model, task.train, recipe.with_(epochs=1), show_progress=False)  # warm-up
    t = time.perf_counter()
    training.fit(model, task.train, recipe, show_progress=False)
    loop_s = time.perf_counter() - t
    n = recipe.epochs * len(task.train)

    x, y = task.train.tensors()
    model = models.build("mlp", task.input_shape, 10)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    g = torch.Generator().manual_seed(0)
    t = time.perf_counter()
    for _ in range(recipe.epochs):
        for idx in torch.randperm(len(y), generator=g).split(64):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    raw_s = time.perf_counter() - t

    rate = n / loop_s
    print(f"threads: {torch.get_num_threads()}")
    print(f"float32 matmul ceiling: {ceiling:.1f} GFLOP/s")
    print(
        f"fit(): {rate:,.0f} samples/s = {rate * mlp_flops_per_sample() / 1e9:.2f} GFLOP/s "
        f"({100 * rate * mlp_flops_per_sample() / 1e9 / ceiling:.1f}% of the ceiling; batch 64 is "
        f"overhead-bound)"
    )
    print(
        f"bare loop on pre-normalised tensors: {n / raw_s:,.0f} samples/s; fit()/bare time ratio "
        f"{loop_s / raw_s:.2f}"
    )


if __name__ == "__main__":
    main()
