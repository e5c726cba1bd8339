#!/usr/bin/env bash
# Replicated serving on this machine: two `reckon serve` processes on one PostgreSQL event store
# behind nginx on loopback (docs/SCALING.md).
#   - an event posted to one replica shows in the other's online answer;
#   - one replica killed under load (wrk through nginx): nginx's retries keep the error rate at 0;
#   - a model published once (an atomic rename into the served path) reaches every replica
#     (--watch-model).
# Usage: replicas_test.sh PATH/TO/reckon [--measure SECONDS]
#   --measure: also print requests/s through nginx with 1 and with 2 replicas (BENCHMARKS.md).
# Needs RECKON_TEST_POSTGRES_URL (scripts/test starts a throw-away server), nginx and wrk
# (scripts/install-deps); exits 77 (skipped) without them.
set -u
RECKON=$(realpath "$1")
shift
measure=0
while [ $# -gt 0 ]; do
  case "$1" in
    --measure) measure=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ -z "${RECKON_TEST_POSTGRES_URL:-}" ] || [ ! -x "$NGINX" ] || ! command -v wrk >/dev/null; then
  echo "replicas_test: skipped (needs RECKON_TEST_POSTGRES_URL, nginx and wrk)"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/reckon-replicas.XXXXXX")
key=replicas-test-key-0123456789
db="reckon_replicas_$$"
base=${RECKON_TEST_POSTGRES_URL%/*}
url="$base/$db"
pids=()
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  psql -q "$RECKON_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

psql -q "$RECKON_TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null || { echo "cannot create $db"; exit 1; }
"$RECKON" -q data synth --users 2000 --items 300 --interactions 40000 --seed 9 -o "$work/s.csv" >/dev/null
"$RECKON" -q train "$work/s.csv" --model ials -p factors=16 -p iterations=5 -o "$work/model.rkm" >/dev/null ||
  { echo "train failed"; exit 1; }
"$RECKON" -q train "$work/s.csv" --model itemknn -o "$work/next.rkm" >/dev/null

# replica N: starts `reckon serve` on a free port; its port in port_N, its pid in pid_N.
start_replica() {
  local n=$1 port
  port=$(free_port)
  "$RECKON" serve --model "$work/model.rkm" --events "$url" --port "$port" --threads 2 \
    --access-log off --watch-model 0.5 --api-key "$key" >"$work/r$n.log" 2>&1 &
  pids+=($!)
  eval "pid_$n=$!; port_$n=$port"
  for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "replica $n did not start: $(cat "$work/r$n.log")"
  exit 1
}
start_replica 1
start_replica 2

# nginx in front: both replicas upstream; a failed connection or a reset is retried on the
# other (GETs; a POST is retried only when the first replica never got it).
front=$(free_port)
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
write_nginx() {  # upstream servers...
  {
    echo "$user_line"
    echo "worker_processes 1; pid $work/nginx.pid; error_log $work/nginx.error.log warn; daemon on;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  access_log off;"
    echo "  client_body_temp_path $work/body; proxy_temp_path $work/proxy;"
    echo "  fastcgi_temp_path $work/fcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;"
    echo "  upstream reckon {"
    for p in "$@"; do echo "    server 127.0.0.1:$p max_fails=1 fail_timeout=2s;"; done
    echo "    keepalive 32;"
    echo "  }"
    echo "  server {"
    echo "    listen 127.0.0.1:$front;"
    echo "    location / {"
    echo "      proxy_pass http://reckon;"
    echo "      proxy_http_version 1.1; proxy_set_header Connection \"\";"
    echo "      proxy_next_upstream error timeout http_502 http_503;"
    echo "      proxy_next_upstream_tries 2; proxy_connect_timeout 1s;"
    echo "    }"
    echo "  }"
    echo "}"
  } >"$work/nginx.conf"
}
write_nginx "$port_1" "$port_2"
"$NGINX" -p "$work" -c "$work/nginx.conf" || { echo "nginx did not start: $(cat "$work/nginx.error.log")"; exit 1; }
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$front/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$front/health" | grep -q '"event_store"' || fail "nginx does not reach the replicas"

# 1. An event to replica 1 shows in replica 2's online answer (its cache of a user's events
# expires after 1 s on a shared store).
curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '[{"user_id":"newcomer","item_id":"i5","type":"like"},{"user_id":"newcomer","item_id":"i7","type":"like"}]' \
  "http://127.0.0.1:$port_1/events" >/dev/null || fail "POST /events to replica 1"
seen=0
for _ in $(seq 1 40); do
  if curl -sf "http://127.0.0.1:$port_2/users/newcomer/events" | grep -q '"i7"'; then seen=1; break; fi
  sleep 0.1
done
[ "$seen" -eq 1 ] || fail "replica 2 does not see replica 1's events"
answer=$(curl -sf "http://127.0.0.1:$port_2/recommend/newcomer?k=5&mode=online")
grep -q '"source":"online"\|"mode":"online"' <<<"$answer" && ! grep -q '"i7"' <<<"$answer" ||
  fail "replica 2's online answer for the newcomer: $answer"

# 2. Kill replica 1 under load through nginx: no request may fail.
cat >"$work/rec.lua" <<'EOF'
function request()
  return wrk.format("GET", "/recommend/u" .. math.random(0, 1999) .. "?k=10&mode=offline")
end
EOF
wrk -t2 -c16 -d6s -s "$work/rec.lua" "http://127.0.0.1:$front" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
sleep 2
kill -9 "$pid_1"
wait "$wrk_pid"
requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
errors=$(grep -E "Non-2xx|Socket errors" "$work/wrk.out")
[ -n "$requests" ] && [ "$requests" -gt 100 ] || fail "wrk ran too few requests: $(cat "$work/wrk.out")"
[ -z "$errors" ] || fail "errors while a replica died: $errors"
echo "replicas_test: $requests requests in 6 s through nginx, replica 1 killed after 2 s: ${errors:-no errors}"

# 3. Publish a model once: the live replica reloads it, a replica started later serves it.
start_replica 3
mv "$work/next.rkm" "$work/model.rkm"
for n in 2 3; do
  p=$(eval echo "\$port_$n")
  ok=0
  for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$p/health" | grep -q '"model":"itemknn"' && { ok=1; break; }
    sleep 0.1
  done
  [ "$ok" -eq 1 ] || fail "replica $n did not reload the published model: $(curl -s "http://127.0.0.1:$p/health")"
done

# Requests/s through nginx with 1 replica and with 2 (figures only; nothing asserted).
if [ "$measure" -gt 0 ]; then
  kill "$(cat "$work/nginx.pid")"; sleep 0.5
  start_replica 4
  for upstreams in "$port_2" "$port_2 $port_4"; do
    # shellcheck disable=SC2086
    write_nginx $upstreams
    "$NGINX" -p "$work" -c "$work/nginx.conf"
    sleep 0.5
    wrk -t2 -c32 -d"${measure}s" -s "$work/rec.lua" "http://127.0.0.1:$front" >"$work/m.out" 2>&1
    echo "replicas_test: $(wc -w <<<"$upstreams") replica(s): $(awk '/Requests\/sec/ {print $2}' "$work/m.out") requests/s; $(grep -E 'Latency' "$work/m.out" | tr -s ' ')"
    kill "$(cat "$work/nginx.pid")"; sleep 0.5
  done
fi

echo "replicas_test: $failed failed"
[ "$failed" -eq 0 ]
