#!/usr/bin/env bash
# Scale on one machine (docs/SCALING.md, BENCHMARKS.md "Scale-out"): synthetic interactions
# written, imported and fitted by ials, each step's wall and CPU seconds and peak memory; then
# the same fit as 2 MPI ranks of 1 thread against 1 process of 2 threads.
#   bench/bench_scale.sh [--users 5000000] [--items 1000000] [--interactions 100000000]
#                        [--iterations 3] [--factors 64] [--data FILE.rkd] [--no-mpi]
#                        [--import-only]
# --data: skip synth and import, fit an existing .rkd (e.g. Gowalla's) instead.
# --import-only: stop after the import.
set -euo pipefail
cd "$(dirname "$0")/.."
users=5000000 items=1000000 interactions=100000000 iterations=3 factors=64 data="" mpi=1
import_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --users) users=$2; shift 2 ;;
    --items) items=$2; shift 2 ;;
    --interactions) interactions=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --factors) factors=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --no-mpi) mpi=0; shift ;;
    --import-only) import_only=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
reckon=$(pwd)/build/reckon
work=$(mktemp -d "${TMPDIR:-/tmp}/reckon-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Peak anonymous (heap) and file-backed (the memory-mapped .rkd or .rkm, shared by every process
# that maps the file and given back to the page cache under pressure, plus ~105 MB of shared
# libraries) memory of a process and its descendants (mpirun's ranks), sampled every 0.1 s. The
# proportional set sizes (Pss_Anon, Pss_File) are summed: a page two ranks share counts once.
sample_rss() {  # pid out_file
  local root=$1 out=$2 anon_peak=0 file_peak=0
  while kill -0 "$root" 2>/dev/null; do
    local anon=0 file=0 pids
    pids="$root $(pgrep -d ' ' -P "$root") $(pgrep -d ' ' -f "^$reckon " || true)"
    for p in $(echo "$pids" | tr ' ' '\n' | sort -u); do
      read -r a f < <(awk '/^Pss_Anon/ {a=$2} /^Pss_File/ {f=$2} END {print a+0, f+0}' \
        "/proc/$p/smaps_rollup" 2>/dev/null || echo "0 0")
      anon=$((anon + a)) file=$((file + f))
    done
    [ "$anon" -gt "$anon_peak" ] && anon_peak=$anon
    [ "$file" -gt "$file_peak" ] && file_peak=$file
    echo "$anon_peak $file_peak" >"$out"
    sleep 0.1
  done
}
measure() {  # label command...: wall, user and system CPU seconds, peak RSS, peak anon/file
  local label=$1; shift
  echo "0 0" >"$work/rss"
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" &
  local pid=$!
  sample_rss "$pid" "$work/rss" &
  local sampler=$!
  wait "$pid" || { cat "$work/err" >&2; exit 1; }
  wait "$sampler" || true
  read -r wall user sys kb <"$work/time"
  read -r anon file <"$work/rss"
  printf '| %-40s | %7s | %7s | %6s | %8d | %8d | %8d |\n' "$label" "$wall" "$user" "$sys" \
    "$((kb / 1024))" "$((anon / 1024))" "$((file / 1024))"
}
echo "| step | wall s | user s | sys s | peak RSS MB | peak anon MB | peak file MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
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
[ "$import_only" -eq 1 ] && exit 0
fit="train $data --model ials -p factors=$factors -p iterations=$iterations"
measure "ials, 1 process, 2 threads" "$reckon" -q $fit --threads 2 -o "$work/a.rkm"
grep "fitted in" "$work/out"
measure "load the model (reckon info)" "$reckon" -q info "$work/a.rkm"
if [ "$mpi" -eq 1 ]; then
  export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl=self,vader
  measure "ials, 2 MPI ranks, 1 thread each" mpirun -n 2 --oversubscribe --allow-run-as-root \
    --bind-to none "$reckon" -q $fit --threads 1 --distributed -o "$work/b.rkm"
  grep "fitted in\|distributed over" "$work/out"
fi
