#!/bin/sh
# profile.sh: where does varprop's time go?
#   sh bench/profile.sh [CONFIG] [VARPROP]     (defaults: bench/w1_reference.json, ./varprop)
# perf sampling (cpu-clock, DWARF call graphs) of one `varprop run` with 2 threads,
# samples sorted into categories by bench/perf_categories.py; without a usable
# perf, or with PROFILE_CALLGRIND=1, callgrind on bench/profile_small.json
# (1 thread) instead. Output in bench/out/profile/.
set -eu
cd "$(dirname "$0")/.."
cfg=${1:-bench/w1_reference.json}
vp=${2:-./varprop}
out=bench/out/profile
mkdir -p "$out"
rm -rf "$out/run"
extra=""
if "$vp" run --help 2>&1 | grep -q -- --no-plot; then extra="--no-plot"; fi
if [ "${PROFILE_CALLGRIND:-0}" != 1 ] && perf record -e cpu-clock -o "$out/probe.data" true >/dev/null 2>&1; then
    perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -o "$out/perf.data" \
        "$vp" run "$cfg" -o "$out/run" --quiet --threads 2 --max-runs 0 $extra
    perf script -i "$out/perf.data" 2>/dev/null > "$out/perf.txt"
    perf report -i "$out/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
        | grep -v '^#' | grep '%' | head -40 > "$out/flat.txt"
    echo "== perf cpu-clock samples by category ($cfg, --threads 2 $extra) =="
    python3 bench/perf_categories.py < "$out/perf.txt" | tee "$out/categories.txt"
    echo "== flat profile (top symbols) =="
    head -25 "$out/flat.txt"
else
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
        "$vp" run bench/profile_small.json -o "$out/run" --quiet --threads 1 $extra 2>"$out/callgrind.log"
    callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null | head -70 | tee "$out/callgrind_inclusive.txt"
    callgrind_annotate "$out/callgrind.out" 2>/dev/null | head -50 | tee "$out/callgrind_self.txt"
fi
