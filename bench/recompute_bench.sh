#!/bin/sh
# recompute_bench.sh: "memory": "recompute" -- the overhead against store mode where both
# fit (L32 n2048 B256) and a width-8192, batch-256 ReLU run larger than memory (depth 1000:
# 268 GB of weights if stored; hours on 2 cores -- `--depth 100` projects it). With --docs
# it writes its section of docs/benchmarks.md (between its markers; `make bench` keeps it).
#   make varprop && nice sh bench/recompute_bench.sh [--depth 100] [--reps 3] [--docs]
set -eu
cd "$(dirname "$0")/.."
[ -x ./varprop ] || { echo "recompute_bench.sh: build ./varprop first (make)" >&2; exit 2; }
exec python3 bench/recompute_bench.py "$@"
