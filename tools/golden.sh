#!/bin/sh
# Golden-output check: runs the same configs with ./varprop built from the working tree
# and with varprop built from git revision REF (default HEAD), then compares every output
# byte for byte: layers/runs/jacobian/histograms CSV, config.json, and each chart's .dat,
# .gp and report.md (PNG/SVG are gnuplot's rendering, not varprop's bytes). runs.csv's
# `seconds` column is wall time, so it is dropped before comparing.
#
# Configs: configs/demo.json, every experiments/*.json and tests/golden/*.json (every
# activation x every initializer, row-wise activations and bias initializers in float64,
# theory + Jacobian for every elementwise activation).
#
# Usage: tools/golden.sh [REF]     (make golden [GOLDEN_REF=REF]); exit 0 = identical.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${1:-HEAD}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/varprop-golden.XXXXXX")
cleanup() { git -C "$ROOT" worktree remove --force "$WORK/ref-src" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

echo "golden: building $REF"
git -C "$ROOT" worktree add --detach -q "$WORK/ref-src" "$REF"
make -s -C "$WORK/ref-src" -j2 varprop >/dev/null
echo "golden: building the working tree"
make -s -C "$ROOT" -j2 varprop >/dev/null

mkdir -p "$WORK/cfg"
cp "$ROOT"/configs/demo.json "$ROOT"/experiments/*.json "$ROOT"/tests/golden/*.json "$WORK/cfg/"

# run_all BIN OUT: every config into OUT/res/<name> and OUT/plots/<name>, with the same
# relative paths for both builds so that paths written into .gp files agree.
# A config the reference refuses as a config error (exit 2: it uses a feature newer than
# the reference, e.g. "train" before issue 14) is skipped for both builds, and named.
run_all() {
    mkdir -p "$2"
    for c in "$WORK"/cfg/*.json; do
        n=$(basename "$c" .json)
        if [ -e "$WORK/skip-$n" ]; then continue; fi
        rc=0
        (cd "$2" && "$1" run "$c" -o "res/$n" --plots "plots/$n" --quiet --threads 2 2>"$WORK/err-$n") || rc=$?
        if [ $rc -eq 2 ] && [ "$1" = "$WORK/ref-src/varprop" ]; then
            echo "golden: skipping $n (the reference refuses it: $(head -c 160 "$WORK/err-$n"))"
            touch "$WORK/skip-$n"; continue
        fi
        [ $rc -eq 0 ] || { cat "$WORK/err-$n" >&2; echo "golden: $1 failed on $n" >&2; exit 1; }
    done
    # drop runs.csv's wall-time column
    for f in "$2"/res/*/runs.csv; do
        python3 -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
s = rows[0].index("seconds")
w = csv.writer(open(sys.argv[1] + ".cmp", "w", newline=""), lineterminator="\n")
w.writerows([r[:s] + r[s + 1:] for r in rows])' "$f" && rm "$f"
    done
    find "$2" \( -name '*.png' -o -name '*.svg' \) -delete
}
cd "$WORK"
run_all "$WORK/ref-src/varprop" "$WORK/out-ref"
run_all "$ROOT/varprop" "$WORK/out-new"
nfiles=$(find out-ref -type f | wc -l)
if diff -r out-ref out-new > diff.txt; then
    echo "golden: identical ($nfiles files; $REF vs the working tree)"
else
    head -40 diff.txt; echo "golden: DIFFERENT from $REF (above: the first lines of diff -r)"; exit 1
fi
