#!/usr/bin/env bash
# `python -m companion bench` on a CUDA device at the issue's sizes, one row group at a time (so a
# run stopped at its time limit still leaves the groups it finished).
#
# Writes $OUT/bench_<group>.json (the bench's JSON) and $OUT/gpu_bench.jsonl (one stage record per
# row, the format of results/gpu/*.jsonl that the performance appendix reads; copy it there as
# results/gpu/<device>_<date>.jsonl to commit it). The threads row is CPU-only and is skipped.
# Methods whose optional dependency is missing on the machine (DP-SGD needs Opacus) are left out.
#
#   OUT=/tmp/gpu ROUNDS=3 [DEVICE=cuda] [BENCH_GROUPS="ensemble cost"] bash benchmarks/gpu_bench.sh [extra bench arguments, e.g. --quick]
set -euo pipefail
PY=${PY:-python3}
OUT=${OUT:-_build/bench}
ROUNDS=${ROUNDS:-3}
DEVICE=${DEVICE:-cuda}
BENCH_GROUPS=${BENCH_GROUPS:-ensemble jit_chunk jit_reference flops methods cost}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
METHODS=$($PY -c "
import importlib.util as u
from companion import bench_rows
print(' '.join(n for n in bench_rows.method_names() if n != 'dpsgd' or u.find_spec('opacus')))")
for g in $BENCH_GROUPS; do
    echo "== $g"
    $PY -m companion bench --device "$DEVICE" --rounds "$ROUNDS" --groups "$g" --methods $METHODS \
        --out "$OUT/bench_$g.json" "$@"
    $PY -c "
import json, sys
from companion import bench
with open(sys.argv[2], 'a') as fh:
    for rec in bench.stage_records(json.load(open(sys.argv[1]))):
        fh.write(json.dumps(rec) + '\n')" "$OUT/bench_$g.json" "$OUT/gpu_bench.jsonl"
done
