#!/usr/bin/env bash
# Canary analysis quality (issue 16): 200 pairs with no regression and 200 with a bad-deploy
# regression (errors +3 points or p99 x1.3), one hour at one minute a side, judged by
# `triage canary --json` and by a Python peer applying the same rule with scipy's
# mannwhitneyu (canary_quality.py has the series model and the rule). Targets: clean >= 97 %
# pass and no fail; regressions >= 95 % fail; the same verdict from both on every pair.
# Two metric sets: the golden signals errors, latency and traffic (the gate a pipeline runs),
# and triage's default (every metric column but replicas), reported for comparison.
#   usage: benchmarks/canary_quality.sh [CLEAN] [BAD] [SEED]   (default 200 200 16); ~1 minute
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bench_requirements "$BENCH_ROOT/benchmarks/requirements-canary.txt"
CLEAN=${1:-200}; BAD=${2:-200}; SEED=${3:-16}
W=$DATA/canary_quality
rm -rf "$W"; mkdir -p "$W"
echo "machine: $(machine)"
"$PY" "$BENCH_ROOT/benchmarks/canary_quality.py" generate "$W/pairs" "$CLEAN" "$BAD" "$SEED"
# A third run without the minimum effect shows what it is for: significant but tiny shifts.
for run in "error_rate,latency_p99_ms,request_rate 0.1" "default 0.1" "error_rate,latency_p99_ms,request_rate 0"; do
  set=${run% *}; effect=${run#* }
  flags=(--min-effect "$effect"); [ "$set" = default ] || flags+=(--metrics "$set")
  : > "$W/triage.jsonl"
  t0=$(date +%s.%N)
  while read -r line; do
    pair=$(echo "$line" | sed 's/.*"pair": "\([^"]*\)".*/\1/')
    set +e
    out=$("$TRIAGE" canary --baseline "$W/pairs/$pair-base.csv" --canary "$W/pairs/$pair-canary.csv" --json "${flags[@]}")
    status=$?
    set -e
    case "$status" in 0|2|3) ;; *) echo "triage canary failed on $pair (exit $status)" >&2; exit 1 ;; esac
    echo "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"pair": sys.argv[1], "verdict": d["verdict"], "exit": int(sys.argv[2]), "p": [m["p_value"] for m in d["metrics"]]}))' "$pair" "$status" >> "$W/triage.jsonl"
  done < "$W/pairs/pairs.jsonl"
  t1=$(date +%s.%N)
  "$PY" "$BENCH_ROOT/benchmarks/canary_quality.py" judge "$W/pairs" "$set" "$effect" > "$W/peer.jsonl"
  t2=$(date +%s.%N)
  echo "== metrics: $set, min effect $effect =="
  "$PY" "$BENCH_ROOT/benchmarks/canary_quality.py" report "$W/pairs" "$W/triage.jsonl" "$W/peer.jsonl"
  # Exit codes match verdicts (0 pass, 2 marginal, 3 fail).
  "$PY" -c '
import json, sys
bad = [d["pair"] for d in map(json.loads, open(sys.argv[1])) if {"pass": 0, "marginal": 2, "fail": 3}[d["verdict"]] != d["exit"]]
print("exit codes match verdicts" if not bad else f"exit code mismatch: {bad[:5]}")' "$W/triage.jsonl"
  printf 'time: triage %.1f s for %d pairs (one process per pair, with a Python JSON reader each); peer %.1f s\n' \
    "$(echo "$t1 - $t0" | bc -l)" "$((CLEAN + BAD))" "$(echo "$t2 - $t1" | bc -l)"
done
