"""K shadow models at once (companion.ensemble) against K sequential training.fit runs.

Prints, measured side by side in one run on the same machine and thread count, for each
architecture: the wall-clock of :func:`companion.ensemble.train_ensemble` and of
:func:`companion.ensemble.train_sequential` (K ordinary runs with the same seeds and member
masks), their ratio (the speed-up), and the largest logit difference between the two results
(float rounding only). No timing is asserted; the numbers depend on the machine and its load.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ensemble.py [K] [pool] [epochs]``
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from companion import data, ensemble
from companion.training import TrainRecipe


def main(n_models: int = 32, pool_size: int = 1000, epochs: int = 3) -> None:
    task = data.load_task("mnist5k", forget="class:3", seed=0)
    pool = task.train.subset(np.arange(pool_size))
    masks = ensemble.balanced_masks(
        n_models, pool_size, seed=0, folds=2 if n_models % 4 == 0 else 1
    )
    recipe = TrainRecipe("adam", 1e-3, epochs, 64)
    x = pool.tensors()[0]
    print(
        f"K = {n_models} models, pool {pool_size} MNIST-5k examples (each model on half), {epochs} "
        f"epochs, "
        f"Adam batch 64, torch threads {torch.get_num_threads()}"
    )
    for arch in ("tiny_mlp", "mlp"):
        # warm-up
        ensemble.train_ensemble(pool, masks[:2], [0, 1], arch, 10, recipe.with_(epochs=1))
        t0 = time.perf_counter()
        a = ensemble.train_ensemble(pool, masks, range(n_models), arch, 10, recipe)
        t_ens = time.perf_counter() - t0
        t0 = time.perf_counter()
        b = ensemble.train_sequential(pool, masks, range(n_models), arch, 10, recipe)
        t_seq = time.perf_counter() - t0
        gap = float((a.logits(x) - b.logits(x)).abs().max())
        print(
            f"{arch:9s} ensemble {t_ens:7.2f} s   sequential {t_seq:7.2f} s   speed-up "
            f"x{t_seq / t_ens:5.2f}   "
            f"max |logit difference| {gap:.1e}"
        )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
