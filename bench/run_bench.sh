#!/bin/sh
# run_bench.sh: the benchmark driver (what `make bench` runs after building ./varprop).
#   sh bench/run_bench.sh [bench.py options]     e.g. --quick --no-docs --workloads w3 for a 1-minute smoke test
# (then bench/chart_bench.py: issue 12's chart and theory figures; --no-docs and --quick reach it)
# Needs a python3 that can `import torch` (Debian python3-torch: /usr/bin/python3),
# gcc + OpenBLAS headers (gemm_floor), GNU time (/usr/bin/time), gnuplot for the chart.
set -eu
cd "$(dirname "$0")/.."
[ -x ./varprop ] || { echo "run_bench.sh: build ./varprop first (make)" >&2; exit 2; }
PY=""
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import torch' >/dev/null 2>&1; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "run_bench.sh: no python3 with torch (apt-get install python3-torch)" >&2; exit 2; }
"$PY" bench/bench.py "$@"
# Issue 15's LeNet comparison: its own section of docs/benchmarks.md, spliced in after
# bench.py has rewritten the file (it reads --threads, --quick, --no-docs; ignores the rest).
"$PY" bench/lenet_bench.py "$@"
# Issue 12's figures (chart time; theory time and share): bench/chart_bench.py writes its own
# section of docs/benchmarks.md, after bench.py has rewritten the file.
CB=""
case " $* " in *" --no-docs "*) CB="$CB --no-docs" ;; esac
case " $* " in *" --quick "*) CB="$CB --reps 3" ;; esac
exec "$PY" bench/chart_bench.py $CB
