#!/usr/bin/env bash
# The product loop end to end: import from SQLite and from PostgreSQL (the throw-away server
# scripts/test starts; skipped without RECKON_TEST_POSTGRES_URL), serve, post events, retrain on
# the data plus the events, reload, and see the events in the new model's answers.
# Usage: loop_test.sh PATH/TO/reckon
set -u
RECKON=$1
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
run() { "$@" >"$work/out" 2>"$work/err" || { fail "$*: $(cat "$work/err")"; return 1; }; ok; }

# A feed of 40 users and 30 items in two taste groups (users < 20 read posts < 15).
{
  echo "CREATE TABLE feed (user_id TEXT, post_id INTEGER, ts INTEGER, target REAL);"
  echo "BEGIN;"
  for u in $(seq 0 39); do
    for k in 0 1 2 3 4 5; do
      p=$(( (u * 7 + k * 3) % 15 + (u >= 20 ? 15 : 0) ))
      echo "INSERT INTO feed VALUES ('user$u', $p, $((1700000000 + u * 100 + k)), 1);"
    done
  done
  echo "COMMIT;"
} >"$work/feed.sql"
sqlite3 "$work/feed.db" <"$work/feed.sql" || fail "sqlite3 could not build the test database"
run "$RECKON" -q import "sqlite://$work/feed.db" --query "SELECT user_id, post_id, ts, target FROM feed" \
  -o "$work/base.rkd"
grep -q "40 users, 30 items, 200 interactions" "$work/out" && ok || fail "sqlite import: $(cat "$work/out")"

if [ -n "${RECKON_TEST_POSTGRES_URL:-}" ]; then
  db="reckon_loop_$$"
  admin="$RECKON_TEST_POSTGRES_URL"
  url="${admin%/*}/$db"
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1 \
    || fail "psql could not create $db"
  psql -q "$url" -v ON_ERROR_STOP=1 -f "$work/feed.sql" >/dev/null 2>&1 || fail "psql could not load the feed"
  run "$RECKON" -q import "$url" --table feed -o "$work/pg.rkd"
  grep -q "40 users, 30 items, 200 interactions" "$work/out" && ok || fail "postgres import: $(cat "$work/out")"
  run "$RECKON" -q import "$url" --query "SELECT user_id AS reader, post_id FROM feed WHERE user_id < 'user2'" \
    --user-col reader -o "$work/pg2.rkd"
  "$RECKON" -q import "$url" --query "SELECT nope FROM feed" -o "$work/x.rkd" 2>"$work/err" \
    && fail "a bad query succeeded" || { grep -q 'column "nope" does not exist' "$work/err" && ok || fail "bad query: $(cat "$work/err")"; }
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
fi

# Files from an http(s) address: fetched through a .part file, verified, imported directly.
mkdir -p "$work/site"
printf 'user,item,rating\na,x,5\na,y,3\nb,x,4\n' >"$work/site/r.csv"
sum=$(sha256sum "$work/site/r.csv" | cut -d' ' -f1)
python3 -m http.server 0 --bind 127.0.0.1 --directory "$work/site" >"$work/http.out" 2>&1 &
site=$!
for _ in $(seq 1 100); do grep -q "port" "$work/http.out" && break; sleep 0.1; done
port=$(sed -n 's|.*port \([0-9]*\).*|\1|p' "$work/http.out" | head -1)
if [ -n "$port" ]; then
  run "$RECKON" -q data fetch "http://127.0.0.1:$port/r.csv" --sha256 "$sum" -o "$work/got.csv"
  cmp -s "$work/got.csv" "$work/site/r.csv" && ok || fail "fetched file differs"
  "$RECKON" -q data fetch "http://127.0.0.1:$port/r.csv" --sha256 "${sum/a/b}" -o "$work/bad.csv" 2>"$work/err" \
    && fail "a checksum mismatch succeeded" || { grep -qi "sha-\?256" "$work/err" && [ ! -e "$work/bad.csv" ] && ok || fail "mismatch: $(cat "$work/err")"; }
  ls "$work" | grep -q '\.part' && fail "a .part file was left" || ok
  "$RECKON" -q data fetch "http://127.0.0.1:$port/missing.csv" -o "$work/m.csv" 2>"$work/err" \
    && fail "a 404 succeeded" || { grep -q "404" "$work/err" && ok || fail "404: $(cat "$work/err")"; }
  "$RECKON" -q data fetch "ftp://127.0.0.1/r.csv" -o "$work/f.csv" 2>"$work/err" \
    && fail "ftp:// was fetched" || ok
  run "$RECKON" -q import "http://127.0.0.1:$port/r.csv" -o "$work/web.rkd"
  grep -q "2 users, 2 items, 3 interactions" "$work/out" && ok || fail "import of a URL: $(cat "$work/out")"
else
  fail "python3 -m http.server did not start: $(cat "$work/http.out")"
fi
kill "$site" 2>/dev/null

# Serve a model of the SQLite import.
run "$RECKON" -q train "$work/base.rkd" --model itemknn -o "$work/m.rkm"
"$RECKON" serve --model "$work/m.rkm" --port 0 --events "$work/m.events.db" >"$work/serve.out" 2>&1 &
server=$!
for _ in $(seq 1 300); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
base=$(sed -n 's|.*listening on \(http://[0-9.:]*\).*|\1|p' "$work/serve.out" | head -1)
[ -n "$base" ] && ok || { fail "server did not start: $(cat "$work/serve.out")"; echo "$passed passed, $failed failed"; exit 1; }
items() { curl -sf "$base/recommend/$1?k=$2&mode=offline" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["source"], " ".join(i["item_id"] for i in d["items"]))'; }

before=$(items user3 3)
top=${before#* }
[ "${before%% *}" = model ] && ok || fail "user3 before: $before"
[ "$(items newbie 3 | cut -d' ' -f1)" = popular ] && ok || fail "newbie before: $(items newbie 3)"
# user3 reads the three posts it was offered; newbie likes two posts of the second group.
events="["
for p in $top; do events+="{\"user_id\":\"user3\",\"item_id\":\"$p\",\"type\":\"read\"},"; done
events+='{"user_id":"newbie","item_id":"20","type":"like"},{"user_id":"newbie","item_id":"21","type":"like"}]'
curl -sf -XPOST "$base/events" -H 'Content-Type: application/json' -d "$events" | grep -q '"accepted":5' \
  && ok || fail "events not accepted"

run "$RECKON" import "$work/m.events.db" -o "$work/events.rkd"
grep -q "2 users, 5 items, 5 interactions" "$work/out" && ok || fail "event store import: $(cat "$work/out")"
run "$RECKON" retrain "$work/m.rkm" --data "$work/base.rkd" --events "$work/m.events.db" --serve-url "$base"
grep -q "reloaded" "$work/out" && ok || fail "retrain did not reload: $(cat "$work/out")"
grep -q "5 user-item pairs added" "$work/err" && ok || fail "retrain merge: $(cat "$work/err")"

# The new model knows the events: user3's read posts are history now, newbie is a user of the
# second group.
after=$(items user3 3)
for p in $top; do
  case " ${after#* } " in *" $p "*) fail "user3 is offered post $p it read: $after";; *) ok;; esac
done
newbie=$(items newbie 5)
[ "${newbie%% *}" = model ] && ok || fail "newbie after: $newbie"
second=0
for p in ${newbie#* }; do [ "$p" -ge 15 ] && second=$((second + 1)); done
[ "$second" -ge 4 ] && ok || fail "newbie's answers are not of the second group: $newbie"
curl -sf "$base/health" | grep -q '"users":41' && ok || fail "health after reload: $(curl -s "$base/health")"

# The catalogue API over HTTP: batches, paging, categories, hidden and deleted items, users,
# feedback per item and its deletion, /latest, neighbours.
# py URL EXPR: GETs the URL and prints EXPR of its JSON answer `d`.
py() { curl -s "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
send() { curl -s -o "$work/body" -w '%{http_code}' -X "$1" "$base$2" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
[ "$(send POST /items '[{"item_id":"n1","title":"N1","categories":["news"]},{"item_id":"n2","categories":"sport"}]')" = 200 ] \
  && grep -q '"accepted":2' "$work/body" && ok || fail "POST /items: $(cat "$work/body")"
[ "$(py "$base/items?k=3&offset=29" '" ".join(i["item_id"] for i in d["items"][1:]), len(d["items"]), d["total"]')" = "n1 n2 3 32" ] \
  && ok || fail "items page: $(curl -s "$base/items?k=3&offset=29")"
[ "$(py "$base/items?category=news" '" ".join(i["item_id"] for i in d["items"])')" = n1 ] && ok || fail "items of a category"
for p in 20 21; do send PATCH "/items/$p" '{"categories":["second"]}' >/dev/null; done
[ "$(py "$base/popular?k=10&category=second" '" ".join(sorted(i["item_id"] for i in d["items"]))')" = "20 21" ] \
  && ok || fail "popular of a category: $(curl -s "$base/popular?k=10&category=second")"
hide=$(py "$base/popular?k=1" 'd["items"][0]["item_id"]')
send PATCH "/items/$hide" '{"hidden":true}' >/dev/null
for route in "popular?k=30" "recommend/user30?k=30" "recommend/user3?k=30" "latest?k=40"; do
  case " $(py "$base/$route" '" ".join(i["item_id"] for i in d["items"])') " in
    *" $hide "*) fail "hidden item $hide in /$route";; *) ok;; esac
done
[ "$(send DELETE /items/n2)" = 200 ] && ok || fail "DELETE /items/n2"
[ "$(send GET /items/n2)" = 404 ] && ok || fail "a deleted item is still there"
[ "$(py "$base/latest?k=1" 'd["items"][0]["item_id"]')" = n1 ] && ok || fail "latest: $(curl -s "$base/latest?k=2")"
[ "$(py "$base/users/user3/neighbors?k=3" 'all(int(n["user_id"][4:]) < 20 for n in d["neighbors"]) and len(d["neighbors"])')" = 3 ] \
  && ok || fail "neighbors: $(curl -s "$base/users/user3/neighbors?k=3")"
[ "$(send PUT /users/reader '{"labels":["trial"]}')" = 200 ] && ok || fail "PUT /users/reader: $(cat "$work/body")"
[ "$(py "$base/users/reader" 'd["labels"][0], d["stored"]')" = "trial True" ] && ok || fail "GET /users/reader"
[ "$(send PUT /users/reader '{"features":{"age":30}}')" = 422 ] && grep -q invalid_feature "$work/body" \
  && ok || fail "features the data does not have: $(cat "$work/body")"
[ "$(py "$base/items/20/events" '" ".join(e["user_id"] for e in d["events"])')" = newbie ] && ok || fail "events on item 20"
[ "$(send DELETE '/users/newbie/events?item_id=20')" = 200 ] && ok || fail "DELETE feedback"
[ "$(py "$base/users/newbie/events" '" ".join(e["item_id"] for e in d["events"])')" = 21 ] && ok || fail "feedback left"
[ "$(send DELETE /users/reader)" = 200 ] && [ "$(send GET /users/reader)" = 404 ] && ok || fail "DELETE /users/reader"
[ "$(send DELETE /latest)" = 405 ] && ok || fail "DELETE /latest is not a 405"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
