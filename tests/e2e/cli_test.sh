#!/usr/bin/env bash
# Drives the reckon CLI as a user would: exit codes, messages, no half-written outputs.
# Usage: cli_test.sh PATH/TO/reckon
set -u
RECKON=$1
DATA=${RECKON_DATA_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect_ok NAME CMD...: exits 0
expect_ok() {
  local name=$1; shift
  if "$@" >"$work/out" 2>"$work/err"; then ok; else fail "$name (exit $?): $(cat "$work/err")"; fi
}
# expect_error NAME PATTERN CMD...: exits non-zero with PATTERN on stderr and a one-line reason
expect_error() {
  local name=$1 pattern=$2; shift 2
  if "$@" >"$work/out" 2>"$work/err"; then
    fail "$name: expected failure, got exit 0"
  elif ! grep -q -- "$pattern" "$work/err"; then
    fail "$name: stderr lacks '$pattern': $(cat "$work/err")"
  else
    ok
  fi
}

expect_ok "help" "$RECKON" --help
for cmd in data import info split train retrain recommend similar evaluate tune export serve demo; do expect_ok "help $cmd" "$RECKON" "$cmd" --help; done
expect_ok "data list" "$RECKON" data list
grep -q "movielens-100k" "$work/out" && ok || fail "data list lacks movielens-100k"
grep -q "gowalla" "$work/out" && ok || fail "data list lacks gowalla"
expect_error "unknown dataset" 'unknown dataset "nope"' "$RECKON" data fetch nope
expect_error "unknown command" "" "$RECKON" frobnicate

# Synthetic data: the same seed gives the same file; it imports with its features.
expect_ok "data synth" "$RECKON" -q data synth --users 200 --items 80 --interactions 3000 --times --features -o "$work/syn.csv"
sum1=$(sha256sum "$work/syn.csv" | cut -d' ' -f1)
expect_ok "data synth again" "$RECKON" -q data synth --users 200 --items 80 --interactions 3000 --times -o "$work/syn.csv"
[ "$sum1" = "$(sha256sum "$work/syn.csv" | cut -d' ' -f1)" ] && ok || fail "synth is not deterministic"
[ "$(wc -l <"$work/syn.csv")" -eq 3001 ] && [ -s "$work/syn.items.csv" ] && [ -s "$work/syn.users.csv" ] && ok || fail "synth files"
expect_ok "import synth" "$RECKON" -q import "$work/syn.csv" --items "$work/syn.items.csv" --users "$work/syn.users.csv" -o "$work/syn.rkd"
grep -q "items, " "$work/out" && ok || fail "import synth: $(cat "$work/out")"
# Sorted in runs of 250 rows through a temporary file: the same .rkd as held in memory.
expect_ok "import in sorted runs" "$RECKON" -q import "$work/syn.csv" --items "$work/syn.items.csv" --users "$work/syn.users.csv" --sort-rows 250 -o "$work/syn-runs.rkd"
cmp -s "$work/syn.rkd" "$work/syn-runs.rkd" && ok || fail "an import in sorted runs differs from one held in memory"
mkdir -p "$work/tmpdir"
TMPDIR=$work/tmpdir expect_ok "import in runs, TMPDIR" "$RECKON" -q import "$work/syn.csv" --sort-rows 250 -o "$work/syn-runs2.rkd"
[ -z "$(ls -A "$work/tmpdir")" ] && ok || fail "the import left files in TMPDIR: $(ls "$work/tmpdir")"
expect_error "import in runs without TMPDIR" 'set TMPDIR' env TMPDIR="$work/none" "$RECKON" -q import "$work/syn.csv" --sort-rows 250 -o "$work/x.rkd"
[ ! -e "$work/x.rkd" ] && ok || fail "a failed import in runs left an output file"
expect_error "synth into a .rkd" 'takes a .csv or .tsv' "$RECKON" data synth -o "$work/x.rkd"
expect_error "synth bad option" '--affinity' "$RECKON" data synth --affinity 2 -o "$work/x.csv"

# A small CSV through import, info, split.
printf 'user,item,rating,timestamp\nu1,a,5,100\nu1,b,3,200\nu2,a,4,300\nu2,c,1,400\nu3,b,2,500\nu3,c,5,600\n' >"$work/r.csv"
expect_ok "import csv" "$RECKON" -q import "$work/r.csv" -o "$work/r.rkd"
[ -s "$work/r.rkd" ] && ok || fail "import wrote no file"
expect_ok "info rkd" "$RECKON" info "$work/r.rkd"
grep -q "interactions   6" "$work/out" && ok || fail "info: $(cat "$work/out")"
expect_ok "info json" "$RECKON" info --json "$work/r.rkd"
grep -q '"users": 3' "$work/out" && ok || fail "info --json: $(cat "$work/out")"
expect_ok "split" "$RECKON" -q split "$work/r.rkd" --split last -o "$work/s"
[ -s "$work/s.train.rkd" ] && [ -s "$work/s.test.rkd" ] && ok || fail "split outputs missing"
expect_ok "import with weights" "$RECKON" -q import "$work/r.csv" --weight confidence:2 --min-item 2 -o "$work/w.rkd"

# Bad input: a clear one-line error naming file and line, non-zero exit, no output file.
printf 'user,item,rating\n1,2,5\n1,3,five\n' >"$work/bad.csv"
expect_error "bad rating" 'bad.csv:3: expected a numeric rating' "$RECKON" import "$work/bad.csv" -o "$work/bad.rkd"
[ ! -e "$work/bad.rkd" ] && ok || fail "a failed import left an output file"
[ "$(wc -l <"$work/err")" -eq 1 ] && ok || fail "error is not one line: $(cat "$work/err")"
ls "$work" | grep -q '\.tmp' && fail "temporary files left behind" || ok
expect_error "missing source" "no such file" "$RECKON" import "$work/nope.csv" -o "$work/x.rkd"
expect_error "output dir missing" "does not exist" "$RECKON" import "$work/r.csv" -o "$work/no/dir/x.rkd"
head -c 100 "$work/r.rkd" >"$work/cut.rkd"
expect_error "truncated rkd" "cut.rkd" "$RECKON" info "$work/cut.rkd"
expect_error "bad format name" 'unknown format "xml"' "$RECKON" import "$work/r.csv" --format xml -o "$work/x.rkd"
expect_error "bad split" 'unknown split' "$RECKON" split "$work/r.rkd" --split sideways -o "$work/x"
expect_error "bad weight" 'unknown weight scheme' "$RECKON" import "$work/r.csv" --weight magic -o "$work/x.rkd"

# Pipes and standard input are read once; outputs must be regular files.
if cat "$work/r.csv" | "$RECKON" -q import - -o "$work/stdin.rkd" >"$work/out" 2>"$work/err"; then ok
else fail "import from stdin: $(cat "$work/err")"; fi
expect_ok "import from a process substitution" "$RECKON" -q import <(cat "$work/r.csv") -o "$work/sub.rkd"
"$RECKON" -q info "$work/stdin.rkd" >"$work/a" 2>&1; "$RECKON" -q info "$work/r.rkd" >"$work/b" 2>&1
grep -q "interactions" "$work/a" && ok || fail "info of the stdin import: $(cat "$work/a")"
expect_error "output onto a device" "not a regular file" "$RECKON" import "$work/r.csv" -o /dev/null
[ -c /dev/null ] && ok || fail "/dev/null is no longer a device"
printf 'item,c0,c1\n1,0,0\n' >"$work/nouser.csv"
expect_error "header without a user column" "no user column" "$RECKON" import "$work/nouser.csv" -o "$work/x.rkd"
printf '\xef\xbb\xbfuser,item,rating\n1,2,5\n' >"$work/bom.csv"
expect_ok "byte-order mark" "$RECKON" -q import "$work/bom.csv" -o "$work/bom.rkd"
# Global flags anywhere: -q after the command as well as before it.
expect_ok "-q after the command" "$RECKON" import "$work/r.csv" -o "$work/q.rkd" -q

# Train, recommend, evaluate on the small CSV.
expect_ok "train" "$RECKON" -q train "$work/r.rkd" --model popular -o "$work/p.rkm"
expect_ok "recommend" "$RECKON" recommend "$work/p.rkm" --user u1 -k 2 --json
grep -q '"source": "model"' "$work/out" && ok || fail "recommend source: $(cat "$work/out")"
expect_ok "recommend unknown user" "$RECKON" recommend "$work/p.rkm" --user stranger
grep -q "source: popular" "$work/out" && ok || fail "unknown user not popular: $(cat "$work/out")"
expect_error "recommend bad like" 'unknown item "zzz"' "$RECKON" recommend "$work/p.rkm" --like zzz
expect_error "recommend user with likes" "give one or the other" "$RECKON" recommend "$work/p.rkm" --user u1 --like i1
expect_error "similar unsupported" "does not compute similar items" "$RECKON" similar "$work/p.rkm" --item a
expect_error "unknown model" 'unknown model "magic"' "$RECKON" train "$work/r.rkd" --model magic -o "$work/m.rkm"
expect_error "bad param" 'unknown parameter' "$RECKON" train "$work/r.rkd" --model popular -p nope=1 -o "$work/m.rkm"
expect_ok "train help lists params" "$RECKON" train --model popular --help
grep -q "window_days" "$work/out" && ok || fail "train --model popular --help lacks its parameters"
expect_error "model file is not a dataset" "not a reckon model" "$RECKON" recommend "$work/r.rkd" --user u1

if [ -d "$DATA/gowalla" ]; then
  expect_ok "evaluate gowalla" "$RECKON" -q evaluate --train "$DATA/gowalla/train.txt" --test "$DATA/gowalla/test.txt" \
    --format lightgcn --models popular,random -k 20 --json "$work/r.json" --md "$work/r.md" --svg "$work/r.svg"
  grep -q '"recall@20": 0.041' "$work/r.json" && ok || fail "gowalla popular recall@20: $(grep recall "$work/r.json")"
  grep -q '"candidates": "all-unseen"' "$work/r.json" && ok || fail "protocol candidates missing"
  grep -q '"train_interactions": 810128' "$work/r.json" && ok || fail "dataset counts missing"
  grep -q '<svg' "$work/r.svg" && ok || fail "no SVG written"
  grep -q '| popular |' "$work/r.md" && ok || fail "no Markdown table"
fi

if [ -d "$DATA/movielens-100k" ]; then
  expect_ok "evaluate sampled" "$RECKON" -q evaluate --data "$DATA/movielens-100k" --split time --models popular \
    --sampled 100 -k 10 --json "$work/s.json"
  grep -q 'sampled-100-uniform' "$work/out" && ok || fail "sampled protocol not labelled in the table"
  grep -q '"candidates": "sampled-100-uniform"' "$work/s.json" && ok || fail "sampled protocol not labelled in JSON"
  expect_ok "evaluate held-out users" "$RECKON" -q evaluate --data "$DATA/movielens-100k" --split users \
    --test-fraction 0.2 --models popular -k 5,10
  grep -q 'recall@5' "$work/out" && grep -q 'recall@10' "$work/out" && ok || fail "several k: $(cat "$work/out")"
  expect_error "evaluate bad metric" 'unknown metric "accuracy"' "$RECKON" evaluate --data "$DATA/movielens-100k" \
    --models popular --metrics accuracy
  export RECKON_DATA_DIR=$DATA
  expect_ok "import ml-100k" "$RECKON" -q import movielens-100k -o "$work/ml.rkd"
  grep -q "943 users, 1682 items, 100000 interactions" "$work/out" && ok || fail "ml-100k counts: $(cat "$work/out")"
  expect_ok "demo" "$RECKON" -q demo --no-serve
  grep -q "100,000" "$work/out" && ok || fail "demo output: $(cat "$work/out")"
  expect_ok "kcore" "$RECKON" -q import "$work/ml.rkd" --kcore 50 -o "$work/k.rkd"

  # Features: a hybrid with demographics serves a stranger from favourites and demographics
  # together; unknown labels and columns are refused with the known ones.
  expect_ok "train hybrid" "$RECKON" -q train "$work/ml.rkd" --model hybrid -p epochs=3 \
    -p user_columns=age,gender,occupation -o "$work/h.rkm"
  expect_ok "hybrid likes + demographics" "$RECKON" -q recommend "$work/h.rkm" --like 50 --gender F \
    --occupation student -k 5 --json
  grep -q '"source": "model"' "$work/out" && ok || fail "hybrid stranger: $(cat "$work/out")"
  expect_ok "hybrid demographics only" "$RECKON" -q recommend "$work/h.rkm" --feature occupation=writer -k 5
  grep -q 'source: model' "$work/out" && ok || fail "hybrid demographics: $(cat "$work/out")"
  expect_error "unknown label" 'unknown occupation "astronaut" (known:' "$RECKON" recommend "$work/h.rkm" \
    --occupation astronaut
  expect_error "unknown feature" 'no user feature "planet"' "$RECKON" recommend "$work/h.rkm" --feature planet=mars
  # interactive, through a pipe and in a terminal (a pty from script(1))
  printf 'search star wars\nlike 50\nset gender=F\nset occupation=astronaut\nquit\n' \
    | "$RECKON" -q interactive "$work/h.rkm" -k 3 >"$work/ia.out" 2>&1
  grep -q 'Star Wars (1977)' "$work/ia.out" && grep -q 'recommendations (model, hybrid)' "$work/ia.out" \
    && grep -q 'unknown occupation "astronaut"' "$work/ia.out" && ok || fail "interactive: $(cat "$work/ia.out")"
  if command -v script >/dev/null; then
    printf 'like 50\nquit\n' | script -qec "$RECKON -q interactive $work/h.rkm -k 3" /dev/null >"$work/tty.out" 2>&1
    grep -q 'commands:' "$work/tty.out" && grep -q 'recommendations (model' "$work/tty.out" && ok \
      || fail "interactive on a terminal: $(cat "$work/tty.out")"
  fi
  expect_ok "cold-items split" "$RECKON" -q evaluate --data "$work/ml.rkd" --split cold-items \
    --test-fraction 0.1 --models content -k 10 --metrics recall
  grep -q 'split cold-items' "$work/out" && ok || fail "cold-items protocol: $(cat "$work/out")"
  expect_ok "users split, 3 favourites" "$RECKON" -q evaluate --data "$work/ml.rkd" --split users \
    --foldin-count 3 --models popular -k 10 --json "$work/fc.json"
  grep -q '"foldin_count": 3' "$work/fc.json" && ok || fail "foldin_count not in the report"
  expect_ok "masks split" "$RECKON" -q evaluate --data "$work/ml.rkd" --split masks \
    --test-fraction 0.2 --models popular -k 10 --json "$work/mk.json"
  grep -q '"split": "masks"' "$work/mk.json" && ok || fail "masks protocol: $(head -c 400 "$work/mk.json")"

  # Evaluate the files reckon split writes, saved models, labelled rows; tune on validation.
  expect_ok "split ml" "$RECKON" -q split "$work/ml.rkd" --split random -o "$work/ms"
  expect_ok "evaluate rkd split, labelled rows" "$RECKON" -q evaluate --train "$work/ms.train.rkd" \
    --test "$work/ms.test.rkd" --models 'ials:f16=ials(factors=16,iterations=5),ials:f32=ials(factors=32)' \
    -p ials:f32.iterations=4 -k 10 --metrics recall,ndcg --json "$work/lab.json"
  grep -q '"name": "ials:f16"' "$work/lab.json" && grep -q '"factors": 32' "$work/lab.json" \
    && grep -q '"sha256"' "$work/lab.json" && grep -q '"reckon_version"' "$work/lab.json" && ok \
    || fail "labelled rows or provenance: $(head -c 800 "$work/lab.json")"
  python3 -c "import json,sys; m=json.load(open(sys.argv[1]))['models']; sys.exit(0 if m[1]['params']['iterations']==4 and m[0]['params']['iterations']==5 else 1)" "$work/lab.json" \
    && ok || fail "-p LABEL.key did not reach its row"
  expect_error "duplicate rows" "appears twice" "$RECKON" evaluate --data "$work/ml.rkd" --models ials,ials
  expect_error "unbalanced" "without its" "$RECKON" evaluate --data "$work/ml.rkd" --models 'ials(factors=3'
  expect_ok "rmse of a ranking model is a warning" "$RECKON" -q evaluate --train "$work/ms.train.rkd" \
    --test "$work/ms.test.rkd" --models popular,mf --metrics rmse,recall -k 10
  grep -q 'rmse does not apply to popular' "$work/err" && grep -q '^mf ' "$work/out" && ok \
    || fail "rmse warning: $(cat "$work/err") $(cat "$work/out")"
  expect_error "only rmse for a ranking model" "no model left" "$RECKON" -q evaluate --data "$work/ml.rkd" \
    --models popular --metrics rmse
  expect_ok "rating-only report" "$RECKON" -q evaluate --data "$work/ml.rkd" --models mf -p epochs=2 --metrics rmse
  grep -q 'candidates' "$work/out" && fail "rating-only report prints candidates" || ok
  expect_ok "train on the split" "$RECKON" -q train "$work/ms.train.rkd" --model itemknn -o "$work/ms.rkm"
  expect_ok "evaluate a saved model" "$RECKON" -q evaluate --model "$work/ms.rkm" --test "$work/ms.test.rkd" -k 10
  grep -q 'itemknn (ms.rkm)' "$work/out" && grep -q 'split saved-model' "$work/out" && ok \
    || fail "saved model row: $(cat "$work/out")"
  expect_ok "evaluate on validation" "$RECKON" -q evaluate --train "$work/ms.train.rkd" --test "$work/nope.rkd" \
    --validation random --models popular -k 10 --json "$work/val.json"
  grep -q '"evaluated_on": "validation"' "$work/val.json" && ok || fail "validation protocol"
  # The search must not read the test part: a test file that does not exist fails only after
  # every trial, when the refit is evaluated.
  expect_error "tune never reads test during the search" "nope.rkd" "$RECKON" tune itemknn \
    --train "$work/ms.train.rkd" --test "$work/nope.rkd" --budget 3
  [ "$(grep -c '] trial [0-9]*:' "$work/err")" -eq 3 ] && ok || fail "tune trials before the test read: $(cat "$work/err")"
  expect_ok "tune" "$RECKON" tune ials --train "$work/ms.train.rkd" --test "$work/ms.test.rkd" --budget 4 \
    -p iterations=4 --space factors=8:32 --json "$work/tune.json" --svg "$work/tune.svg" --md "$work/tune.md"
  grep -q 'ials (tuned)' "$work/out" && grep -q 'ials (default)' "$work/out" && grep -q 'test was used once' "$work/out" \
    && ok || fail "tune output: $(cat "$work/out")"
  grep -q '"test_used"' "$work/tune.json" && grep -q '<svg' "$work/tune.svg" && grep -q '| trial |' "$work/tune.md" \
    && ok || fail "tune reports"
  expect_error "tune a searched -p" "this parameter is searched" "$RECKON" tune ials --data "$work/ml.rkd" -p factors=8
  expect_error "tune bad budget" "expected N trials or a time" "$RECKON" tune ials --data "$work/ml.rkd" --budget soon

  # Export: a split part, every user's recommendations; a failed export leaves nothing.
  expect_ok "export a split part" "$RECKON" -q export "$work/ms.test.rkd" -o "$work/test.csv"
  [ "$(head -1 "$work/test.csv")" = "user_id,item_id,value,timestamp" ] && [ "$(wc -l <"$work/test.csv")" -eq 20001 ] \
    && ok || fail "export csv: $(head -2 "$work/test.csv")"
  expect_ok "export recommendations" "$RECKON" -q export "$work/ms.rkm" --recommendations -k 3 -o "$work/recs.jsonl"
  [ "$(wc -l <"$work/recs.jsonl")" -eq 943 ] && grep -q '"source":"model"' "$work/recs.jsonl" && ok \
    || fail "export recommendations: $(head -c 300 "$work/recs.jsonl")"
  "$RECKON" -q recommend "$work/ms.rkm" --user 1 -k 3 --json >"$work/one.json"
  first=$(grep -o '"item_id": *"[^"]*"' "$work/one.json" | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
  grep '"user_id":"1"' "$work/recs.jsonl" | grep -q "\"item_id\":\"$first\"" && ok \
    || fail "export and recommend disagree for user 1 ($first)"
  expect_error "export into a missing folder" "does not exist" "$RECKON" export "$work/ms.rkm" --recommendations -o "$work/no/r.csv"

  # A server configured by a TOML file: unknown keys and bad values are errors naming the key.
  printf 'model = "%s"\nprot = 1\n' "$work/ms.rkm" >"$work/bad.toml"
  expect_error "config unknown key" 'bad.toml:2: unknown key "prot"' "$RECKON" serve --config "$work/bad.toml"
  printf 'model = "%s"\nport = "high"\n' "$work/ms.rkm" >"$work/bad2.toml"
  expect_error "config bad value" 'bad2.toml:2: port' "$RECKON" serve --config "$work/bad2.toml"
  # Non-ASCII text in comments and strings is read (toml++ is given escapes: its whitespace table
  # is undefined behaviour on most non-ASCII characters); elsewhere it is refused.
  printf '# caf\xc3\xa9\nprot = "r\xc3\xa9sum\xc3\xa9"\n' >"$work/utf8.toml"
  expect_error "config non-ASCII in a string" 'utf8.toml:2: unknown key "prot"' "$RECKON" serve --config "$work/utf8.toml"
  # A literal string with non-ASCII text, a backslash and a double quote reaches the option as
  # written (toml++ is given the equal basic string).
  printf "model = '/nonexistent/caf\xc3\xa9\\\\x\"y.rkm' # \xc3\xa9t\xc3\xa9\n" >"$work/utf8l.toml"
  expect_error "config non-ASCII in a literal string" 'File does not exist: /nonexistent/café.x"y.rkm' "$RECKON" serve --config "$work/utf8l.toml"
  printf 'port = 1\n\xef\xb2\xbfmax_k = 1\n' >"$work/utf8b.toml"
  expect_error "config non-ASCII between tokens" 'utf8b.toml:2:1: a non-ASCII character' "$RECKON" serve --config "$work/utf8b.toml"
  expect_error "serve without a model" 'give --model' "$RECKON" serve

  # A user with no training interactions (global-time split) gets the fallback, said so
  # (demographic popular: ML-100K has age, gender and occupation).
  expect_ok "global-time split" "$RECKON" -q split "$work/ml.rkd" --split global-time --test-fraction 0.2 -o "$work/gt"
  expect_ok "train on the global-time train part" "$RECKON" -q train "$work/gt.train.rkd" --model ials -p factors=16 -o "$work/gt.rkm"
  expect_ok "recommend for a user without training interactions" "$RECKON" recommend "$work/gt.rkm" --user 4 -k 5 --json
  grep -q '"source": *"demographic-popular"' "$work/out" && ok || fail "empty-history user source: $(cat "$work/out")"

  # The ranker: trained, described by info (importance), explaining its items.
  expect_ok "train ranker" "$RECKON" -q train "$work/ml.rkd" --model ranker -p candidates=ials:50,popular:20 \
    -p ials.factors=16 -p rounds=30 -p max_users=300 -o "$work/rk.rkm"
  expect_ok "info ranker" "$RECKON" info "$work/rk.rkm"
  grep -q 'feature importance' "$work/out" && grep -q 'ials.score' "$work/out" && grep -q 'user.gender=F' "$work/out" \
    && ok || fail "info of a ranker: $(cat "$work/out")"
  expect_ok "info ranker json" "$RECKON" info --json "$work/rk.rkm"
  grep -q '"importance"' "$work/out" && ok || fail "info --json of a ranker: $(head -c 600 "$work/out")"
  expect_ok "recommend explain" "$RECKON" -q recommend "$work/rk.rkm" --user 1 -k 3 --explain --json
  grep -q '"contribution"' "$work/out" && ok || fail "recommend --explain: $(cat "$work/out")"
  expect_ok "recommend explain by the history" "$RECKON" -q recommend "$work/gt.rkm" --user 1 -k 3 --explain
  grep -q 'because (history item' "$work/out" && ok || fail "ials --explain: $(cat "$work/out")"
  expect_ok "train popular" "$RECKON" -q train "$work/ml.rkd" --model popular -o "$work/pop.rkm"
  expect_error "explain needs a model that explains" "does not explain" "$RECKON" recommend "$work/pop.rkm" --user 1 --explain
  expect_error "ranker of rankers" "cannot generate its own" "$RECKON" train "$work/ml.rkd" --model ranker \
    -p candidates=ranker:10 -o "$work/x.rkm"

  # The demo ends by serving its best model and printing curl lines to try.
  "$RECKON" -q demo --port 0 --dir "$work/demo" >"$work/demo.out" 2>&1 &
  demo_pid=$!
  for _ in $(seq 1 900); do grep -q "curl '" "$work/demo.out" && break; sleep 0.1; done
  url=$(sed -n "s|.*curl '\(http://127.0.0.1:[0-9]*\)/recommend.*|\1|p" "$work/demo.out" | head -1)
  if [ -n "$url" ] && curl -sf "$url/recommend/1?k=3" | grep -q '"source":"model"'; then ok
  else fail "demo server: $(cat "$work/demo.out")"; fi
  kill -TERM "$demo_pid"
  if wait "$demo_pid"; then ok; else fail "demo server did not stop cleanly on SIGTERM"; fi
  [ -f "$work/demo/model.rkm" ] && [ -f "$work/demo/model.events.db" ] && ok || fail "demo files"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
