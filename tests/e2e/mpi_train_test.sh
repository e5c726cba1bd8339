#!/usr/bin/env bash
# `mpirun -np 2 reckon train ... --distributed` as a user runs it: the model rank 0 writes
# serves the same lists as a single-process fit, and bad uses fail with a reason.
# Usage: mpi_train_test.sh PATH/TO/reckon PATH/TO/mpiexec
set -u
RECKON=$1
MPIEXEC=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
mpi() { "$MPIEXEC" -n 2 --oversubscribe --allow-run-as-root --bind-to none "$@"; }
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl=self,vader

"$RECKON" -q data synth --users 3000 --items 800 --interactions 60000 --seed 3 -o "$work/s.csv" ||
  fail "synth"
"$RECKON" -q import "$work/s.csv" -o "$work/s.rkd" >/dev/null || fail "import"
"$RECKON" -q train "$work/s.rkd" --model ials -p factors=16 -p iterations=6 --threads 1 \
  -o "$work/alone.rkm" >/dev/null || fail "single-process train"
if ! mpi "$RECKON" -q train "$work/s.rkd" --model ials -p factors=16 -p iterations=6 --threads 1 \
  --distributed -o "$work/shared.rkm" >"$work/out" 2>"$work/err"; then
  fail "distributed train: $(cat "$work/err")"
fi
grep -q "distributed over 2 processes" "$work/out" || fail "no exchange summary: $(cat "$work/out")"
[ "$(grep -c '^wrote ' "$work/out")" -eq 1 ] || fail "expected one 'wrote' line (rank 0): $(cat "$work/out")"

# The same top-10 for 20 users (a tie broken by float rounding may swap one entry).
for u in $(seq 0 19); do
  "$RECKON" -q recommend "$work/alone.rkm" --user "u$u" -k 10 2>/dev/null |
    awk '$1 ~ /^[0-9]+$/ {print $2}' | sort >"$work/a"
  "$RECKON" -q recommend "$work/shared.rkm" --user "u$u" -k 10 2>/dev/null |
    awk '$1 ~ /^[0-9]+$/ {print $2}' | sort >"$work/b"
  comm -12 "$work/a" "$work/b" | wc -l
done >"$work/overlap"
total=$(awk '{s += $1} END {print s}' "$work/overlap")
[ "${total:-0}" -ge 198 ] || fail "lists differ: $total of 200 entries the same"

# Evaluation shared out over the ranks gives the single-process figures.
"$RECKON" -q evaluate --data "$work/s.rkd" --models ials,itemknn -p ials.factors=16 --threads 1 \
  -k 10 --json "$work/alone.json" >/dev/null || fail "evaluate"
mpi "$RECKON" -q evaluate --data "$work/s.rkd" --models ials,itemknn -p ials.factors=16 \
  --threads 1 -k 10 --distributed --json "$work/shared.json" >/dev/null || fail "evaluate --distributed"
python3 - "$work/alone.json" "$work/shared.json" <<'PY' || fail "distributed evaluation differs"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for ma, mb in zip(a["models"], b["models"]):
    assert ma["users_evaluated"] == mb["users_evaluated"], (ma["users_evaluated"], mb["users_evaluated"])
    for k, v in ma["metrics"].items():
        assert abs(v - mb["metrics"][k]) <= 2e-3 * max(1.0, abs(v)), (ma["name"], k, v, mb["metrics"][k])
assert len(a["models"]) == len(b["models"]) == 2
PY

# Only ials trains across processes; an error on a rank ends the job with the reason.
if mpi "$RECKON" -q train "$work/s.rkd" --model bpr --distributed -o "$work/x.rkm" \
  >"$work/out" 2>"$work/err"; then
  fail "distributed bpr: expected failure"
elif ! grep -q "only ials trains across processes" "$work/err"; then
  fail "distributed bpr: $(cat "$work/err")"
fi
[ ! -e "$work/x.rkm" ] || fail "a model file from a failed distributed run"

echo "mpi_train_test: $failed failed"
[ "$failed" -eq 0 ]
