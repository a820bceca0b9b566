"""The thread policy, measured: ``companion.training.fit`` of the 784-128-64-10 MLP with one
intra-op thread (the policy's default for small networks) against every core of this machine.

The settings alternate (round-robin, one warm-up round, best of 5; one epoch of MNIST-5k at batch
64 each), as ``python -m companion bench`` measures its ``threads`` row. On a loaded 2-core machine
every core has been 17x slower; on a quiet one the ratio is near 1, which is why the policy is one
thread per process and parallelism across processes.

Run: ``.venv/bin/python benchmarks/bench_threads.py``
"""

from __future__ import annotations

from companion import bench, data


def main(rounds: int = 5) -> None:
    task = data.load_task("mnist5k", forget="class:3", seed=0)
    row = bench.bench_threads(task, rounds)
    print(row["setting"])
    print(f"  1 thread:  {row['ours_s']:6.3f} s per epoch")
    print(f"  {row['baseline']}: {row['baseline_s']:6.3f} s per epoch")
    print(
        f"  {row['baseline']} / 1 thread time ratio: {row['speedup']:.2f}x ({row['same_result']})"
    )


if __name__ == "__main__":
    main()
