#!/usr/bin/env bash
# HTTP service throughput and latency with wrk on loopback (issue 5's figures).
#   bench/bench_serve.sh [--dataset ml100k|gowalla|all] [--duration 10] [--connections 64]
#                        [--model ials|ranker]
# Trains ials (64 factors) on the dataset, starts `reckon serve --threads 2` with an access log
# file, waits for the offline lists, runs wrk for each mode and for events, prints a table.
# --model ranker (issue 13's figure): the ranker over 200 candidates (ials:100, itemknn:60,
# popular:40), its cached offline lists, lists ranked per request (at=, which bypasses the
# cache), and with explanations.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=all duration=10 connections=64 wrk_threads=2 model=ials
while [ $# -gt 0 ]; do
  case "$1" in
    --dataset) dataset=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --wrk-threads) wrk_threads=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "bench_serve: wrk is missing (scripts/install-deps)" >&2; exit 1; }
export RECKON_DATA_DIR=${RECKON_DATA_DIR:-$(cd .. && pwd)/shared/data}
reckon=build/reckon
work=$(mktemp -d "${TMPDIR:-/tmp}/reckon-bench-serve.XXXXXX")
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

rows=()
run_wrk() {  # name script args...
  local name=$1 script=$2; shift 2
  local out
  out=$(wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --latency -s "$script" \
        "http://127.0.0.1:$port" -- "$@")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")
  rows+=("$(printf '| %-40s | %10s | %8s | %8s | %s' "$name" "$rps" "$p50" "$p99" "${errors:-0}")")
  echo "$out" >&2
}

serve() {  # dataset-label model-file [serve options]
  local label=$1 model=$2
  shift 2
  "$reckon" serve --model "$model" --port 0 --threads 2 --events "$work/$label.events.db" \
    --access-log "$work/$label.access.log" "$@" >"$work/$label.serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    grep -q "listening on" "$work/$label.serve.log" 2>/dev/null && break
    sleep 0.1
  done
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/$label.serve.log")
  # Offline and similar-item lists are computed in the background: measure after, not during.
  for _ in $(seq 1 1200); do
    curl -s "http://127.0.0.1:$port/health" | grep -q '"similar_ready":true' && break
    sleep 0.1
  done
}

stop_server() {
  local label=$1
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
  rows+=("$(printf '| %-40s | resident %d MB (peak %d MB) after the runs |' "$label server memory" $((rss / 1024)) $((hwm / 1024)))")
}

seed_events() {  # user-lo user-hi item-lo item-hi: 5 events per user, 1000 per request
  awk -v ulo="$1" -v uhi="$2" -v ilo="$3" -v ihi="$4" 'BEGIN {
    srand(42); n = 0
    for (u = ulo; u <= uhi; u++) for (e = 0; e < 5; e++) {
      line = line (n % 1000 ? "," : "") sprintf("{\"user_id\":\"%d\",\"item_id\":\"%d\"}", u, ilo + int(rand() * (ihi - ilo + 1)))
      if (++n % 1000 == 0) { print "[" line "]"; line = "" }
    }
    if (line != "") print "[" line "]"
  }' | while read -r batch; do
    curl -sf -X POST "http://127.0.0.1:$port/events" -H 'Content-Type: application/json' \
      --data-binary "$batch" >/dev/null
  done
}

bench_dataset() {  # label data-args user-lo user-hi item-lo item-hi
  local label=$1 data=$2 ulo=$3 uhi=$4 ilo=$5 ihi=$6
  echo "== $label: training ials (64 factors)" >&2
  # shellcheck disable=SC2086
  "$reckon" -q train $data --model ials -p factors=64 -o "$work/$label.rkm" >&2
  # Every user gets 5 events for random items first, so that online answers fold new events in
  # and mix in items similar to them (and offline answers drop the items those events saw).
  # First the online answers computed on every request (a fold-in and a scan of the catalogue
  # each time) instead of kept until the user's next event: what a request right after an event
  # costs.
  serve "$label" "$work/$label.rkm" --recompute-online
  seed_events "$ulo" "$uhi" "$ilo" "$ihi"
  for mode in online blended; do
    run_wrk "$label $mode, computed per request" bench/wrk/recommend.lua "$mode" "$ulo" "$uhi"
  done
  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
  # Then the server as it runs by default, on the same events.
  serve "$label" "$work/$label.rkm"
  for mode in offline online blended; do
    run_wrk "$label recommend k=10 $mode" bench/wrk/recommend.lua "$mode" "$ulo" "$uhi"
  done
  run_wrk "$label POST /events (1 per request)" bench/wrk/events.lua 1 "$ulo" "$uhi" "$ilo" "$ihi"
  run_wrk "$label POST /events (100 per request)" bench/wrk/events.lua 100 "$ulo" "$uhi" "$ilo" "$ihi"
  stop_server "$label"
}

bench_ranker() {  # label data-args user-lo user-hi moment
  local label=$1 data=$2 ulo=$3 uhi=$4 at=$5
  echo "== $label: training the ranker (200 candidates)" >&2
  # shellcheck disable=SC2086
  "$reckon" -q train $data --model ranker -p candidates=ials:100,itemknn:60,popular:40 \
    -p ials.factors=64 -o "$work/$label-ranker.rkm" >&2
  serve "$label" "$work/$label-ranker.rkm"
  run_wrk "$label ranker offline (cached lists)" bench/wrk/recommend.lua offline "$ulo" "$uhi"
  run_wrk "$label ranker offline at= (ranked per request)" bench/wrk/recommend.lua offline "$ulo" "$uhi" "&at=$at"
  run_wrk "$label ranker at= explain=true" bench/wrk/recommend.lua offline "$ulo" "$uhi" "&at=$at&explain=true"
  stop_server "$label ranker"
}

if [ "$model" = ranker ]; then
  case "$dataset" in
    ml100k|all) bench_ranker ml100k movielens-100k 1 943 893286638 ;;&
    gowalla|all) bench_ranker gowalla "$RECKON_DATA_DIR/gowalla/train.txt --format lightgcn" 0 29857 0 ;;
  esac
  dataset=none
fi

case "$dataset" in
  ml100k|all) bench_dataset ml100k movielens-100k 1 943 1 1682 ;;&
  gowalla|all) bench_dataset gowalla "$RECKON_DATA_DIR/gowalla/train.txt --format lightgcn" 0 29857 0 40980 ;;
esac

echo
echo "reckon serve --threads 2, wrk -t$wrk_threads -c$connections -d${duration}s on loopback, $(nproc) cores, $(date -u +%Y-%m-%d)"
printf '| %-40s | %10s | %8s | %8s | %s\n' "run" "requests/s" "p50" "p99" "errors"
printf '|%s|%s|%s|%s|%s\n' "------------------------------------------" "------------" "----------" "----------" "------"
for r in "${rows[@]}"; do echo "$r"; done
