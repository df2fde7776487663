#!/bin/sh
# mpi_bench.sh: runs per second against MPI ranks on this machine and the projected
# efficiency at 64 nodes (bench/mpi_bench.py; about 2 minutes). Prints a markdown
# section for docs/benchmarks.md ("Across machines").
#   make varprop && sh bench/mpi_bench.sh
set -eu
cd "$(dirname "$0")/.."
[ -x ./varprop ] || { echo "mpi_bench.sh: build ./varprop first (make)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpi_bench.sh: no mpirun (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 2; }
ldd ./varprop | grep -q libmpi || { echo "mpi_bench.sh: ./varprop was built without MPI (make clean && make)" >&2; exit 2; }
exec python3 bench/mpi_bench.py "$@"
