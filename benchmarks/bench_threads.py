"""The thread policy, measured: ``companion.training.fit`` of the 784-128-64-10 MLP with one
intra-op thread (the policy's default for small networks) against every core of this machine.

The settings alternate (round-robin, 5 rounds, one epoch of MNIST-5k at batch 64 each) and the
best time of each is kept; the ratio printed is the multi-thread time over the one-thread time.
On a loaded 2-core machine it has been 17x; on a quiet one it is nearer 1, which is why the policy
is one thread per process and parallelism across processes.

Run: ``.venv/bin/python benchmarks/bench_threads.py``
"""

from __future__ import annotations

import os
import time

import torch

from companion import data, models, threads, training


def one_epoch(task, recipe) -> float:
    model = models.build("mlp", task.input_shape, task.num_classes, 0)
    t = time.perf_counter()
    training.fit(model, task.train, recipe, seed=0, show_progress=False)
    return time.perf_counter() - t


def main(rounds: int = 5) -> None:
    task = data.load_task("mnist5k", forget="class:3", seed=0)
    recipe = training.TrainRecipe("adam", 1e-3, 1, 64)
    cores = os.cpu_count() or 1
    best = {1: float("inf"), cores: float("inf")}
    one_epoch(task, recipe)  # warm-up
    for _ in range(rounds):
        for n in best:
            os.environ[threads.ENV] = str(n)
            best[n] = min(best[n], one_epoch(task, recipe))
    os.environ.pop(threads.ENV, None)
    steps = task.train.n_batches(64)
    print(f"torch {torch.__version__}, {cores} cores, MLP 784-128-64-10, {steps} steps per epoch")
    for n, s in best.items():
        print(f"  {n} thread(s): {s:6.3f} s per epoch ({steps / s:7.1f} steps/s)")
    print(f"  {cores} threads / 1 thread time ratio: {best[cores] / best[1]:.2f}x")


if __name__ == "__main__":
    main()
