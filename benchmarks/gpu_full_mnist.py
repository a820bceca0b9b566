"""FULL-profile MNIST paths on a CUDA device, timed: the paths a GPU owner runs, exercised end to
end.

Runs with the package API (no notebook kernel) so it needs only torch, numpy, scipy, pandas and
scikit-learn; writes one JSON line per stage to ``$OUT/gpu_full_mnist.jsonl`` (or ./) as it goes:
the device name, torch version, wall time and the stage's key numbers.

    python benchmarks/gpu_full_mnist.py --data-root data --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from companion import config


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", default="data")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--stages", default="intro,cert")
    args = ap.parse_args()
    out = Path(os.environ.get("OUT", ".")) / "gpu_full_mnist.jsonl"
    dev = torch.device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    base = {"device": name, "torch": torch.__version__}
    config.use_tf32(False)  # the CPU numbers are float32: compare like with like (every CUDA run)

    def emit(stage: str, seconds: float, **values) -> None:
        rec = {"stage": stage, "seconds": round(seconds, 2), **base, **values}
        print(json.dumps(rec), flush=True)
        with open(out, "a") as fh:
            fh.write(json.dumps(rec) + "\n")

    from companion.data import full

    t = time.perf_counter()
    full.check_mnist(args.data_root)
    emit("verify MNIST IDX files", time.perf_counter() - t)
    if "intro" in args.stages:
        from companion.experiments.grid import run_grid
        from companion.metrics import summarize

        for forget in ("class:3", "random:100"):
            t = time.perf_counter()
            df = run_grid(
                "mnist",
                forget,
                ["original", "retrain", "finetune", "gradient_ascent"],
                [0],
                "mlp",
                "full",
                args.device,
                {"retrain": {"use_cache": True}},
                args.data_root,
            )
            s = summarize(df.drop(columns=["forget"]))
            keep = ["retain_acc", "forget_acc", "test_acc", "Df", "mia_entropy", "seconds"]
            emit(
                f"intro/01 FULL mnist {forget} seed 0",
                time.perf_counter() - t,
                table={m: {k: round(float(s.loc[m, k]), 4) for k in keep} for m in s.index},
            )
    if "cert" in args.stages:
        from companion.experiments import cert_curves, cert_setup

        t = time.perf_counter()
        st = cert_setup.setup(
            "full",
            seed=0,
            data_root=args.data_root,
            device=args.device,
            seeds=(0,),
            task_name="mnist",
        )
        emit("cert/04 FULL mnist: pretrain tiny_mlp", time.perf_counter() - t)
        t = time.perf_counter()
        df = cert_curves.run_curves(st, epsilon=1.0, delta=1e-5)
        last = df.sort_values("epoch").groupby(["method"]).tail(1)
        emit(
            "cert/04 FULL mnist: curves (eps=1, delta=1e-5)",
            time.perf_counter() - t,
            final={
                str(r.method): {
                    "epoch": int(r.epoch),
                    "test_acc": round(float(r.test_acc), 4),
                    "epsilon": round(float(r.epsilon), 3) if "epsilon" in df else None,
                }
                for r in last.itertuples()
            },
        )


if __name__ == "__main__":
    main()
