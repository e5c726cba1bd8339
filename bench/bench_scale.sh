#!/usr/bin/env bash
# Scale on one machine (docs/SCALING.md, BENCHMARKS.md "Scale-out"): synthetic interactions
# written, imported and fitted by ials, each step's wall and CPU seconds and peak memory; then
# the same fit as 2 MPI ranks of 1 thread against 1 process of 2 threads.
#   bench/bench_scale.sh [--users 5000000] [--items 1000000] [--interactions 100000000]
#                        [--iterations 3] [--factors 64] [--data FILE.rkd] [--no-mpi]
# --data: skip synth and import, fit an existing .rkd (e.g. Gowalla's) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
users=5000000 items=1000000 interactions=100000000 iterations=3 factors=64 data="" mpi=1
while [ $# -gt 0 ]; do
  case "$1" in
    --users) users=$2; shift 2 ;;
    --items) items=$2; shift 2 ;;
    --interactions) interactions=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --factors) factors=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --no-mpi) mpi=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
reckon=$(pwd)/build/reckon
work=$(mktemp -d "${TMPDIR:-/tmp}/reckon-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT
measure() {  # label command...: prints wall, user and system CPU seconds and the peak RSS
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  read -r wall user sys kb <"$work/time"
  printf '| %-44s | %8s | %8s | %7s | %9.0f |\n' "$label" "$wall" "$user" "$sys" "$((kb / 1024))"
}
echo "| step | wall s | user s | sys s | peak MB |"
echo "| --- | ---: | ---: | ---: | ---: |"
if [ -z "$data" ]; then
  measure "synth $interactions rows" "$reckon" -q data synth --users "$users" --items "$items" \
    --interactions "$interactions" --seed 1 -o "$work/s.csv"
  measure "import" "$reckon" -q import "$work/s.csv" -o "$work/s.rkd"
  csv_mb=$(($(stat -c %s "$work/s.csv") / 1048576))
  rm -f "$work/s.csv"
  data="$work/s.rkd"
  echo "(CSV $csv_mb MB)"
fi
echo "(.rkd $(($(stat -c %s "$data") / 1048576)) MB)"
"$reckon" -q info "$data" | grep -i "interactions\|users\|items" | head -3
fit="train $data --model ials -p factors=$factors -p iterations=$iterations"
measure "ials, 1 process, 2 threads" "$reckon" -q $fit --threads 2 -o "$work/a.rkm"
grep "fitted in" "$work/out"
if [ "$mpi" -eq 1 ]; then
  export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl=self,vader
  measure "ials, 2 MPI ranks, 1 thread each" mpirun -n 2 --oversubscribe --allow-run-as-root \
    --bind-to none "$reckon" -q $fit --threads 1 --distributed -o "$work/b.rkm"
  grep "fitted in\|distributed over" "$work/out"
fi
