"""The ensemble engine on a GPU against the same engine on the CPU, side by side in one run.

For K in (32, 128) tiny_mlp models (784-5-10), each on its own half of a 1,000-image MNIST-5k pool,
3 epochs of Adam at batch 64: wall-clock of :func:`companion.ensemble.train_ensemble` on ``cuda``
and on the CPU (one intra-op thread), their ratio, and the largest logit difference between the two
results (float rounding; TF32 off). One JSON line per K on stdout and in
``$OUT/gpu_ensemble.jsonl``.

    python benchmarks/gpu_ensemble.py
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from companion import config, data, ensemble
from companion.training import TrainRecipe


def main() -> None:
    config.use_tf32(False)
    torch.set_num_threads(1)
    out = Path(os.environ.get("OUT", ".")) / "gpu_ensemble.jsonl"
    task = data.load_task("mnist5k", forget="class:3", seed=0)
    pool = task.train.subset(np.arange(1000))
    recipe = TrainRecipe("adam", 1e-3, 3, 64)
    x = pool.tensors()[0]
    # warm-up
    ensemble.train_ensemble(
        pool,
        ensemble.balanced_masks(4, 1000, seed=0),
        range(4),
        "tiny_mlp",
        10,
        recipe.with_(epochs=1),
        device="cuda",
    )
    for k in (32, 128):
        masks = ensemble.balanced_masks(k, 1000, seed=0, folds=2)
        t0 = time.perf_counter()
        a = ensemble.train_ensemble(pool, masks, range(k), "tiny_mlp", 10, recipe, device="cuda")
        torch.cuda.synchronize()
        t_gpu = time.perf_counter() - t0
        t0 = time.perf_counter()
        b = ensemble.train_ensemble(pool, masks, range(k), "tiny_mlp", 10, recipe, device="cpu")
        t_cpu = time.perf_counter() - t0
        rec = {
            "K": k,
            "device": torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "seconds_cuda": round(t_gpu, 3),
            "seconds_cpu_1thread": round(t_cpu, 3),
            "cpu_over_cuda": round(t_cpu / t_gpu, 2),
            "max_logit_gap": float((a.logits(x) - b.logits(x)).abs().max()),
        }
        print(json.dumps(rec), flush=True)
        with open(out, "a") as fh:
            fh.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
