#!/usr/bin/env bash
# The main job of README, end to end on the embedded defaults (datasets/ and models/):
# train a bundle from the shipped incident history, evaluate its remediation policy on an unseen
# simulator seed, score a fresh simulated stretch with the bundle's detectors, and fit standalone
# detectors on the history's raw metrics to score the same stretch, then run the engine loop:
# recommendations into the SQLite approval queue, one approval to the outbox, its outcome back.
# Usage: bash scripts/demo.sh [--output DIR]   (default: out/demo)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/demo
while [ $# -gt 0 ]; do
  case "$1" in
    --output) OUT=$2; shift 2 ;;
    *) echo "usage: bash scripts/demo.sh [--output DIR]" >&2; exit 64 ;;
  esac
done
bash scripts/setup.sh
# CI sets TRIAGE_CONFIGURATION=debug to reuse the test build instead of building everything again.
CONFIGURATION=${TRIAGE_CONFIGURATION:-release}
swift build -c "$CONFIGURATION" --product triage >&2
TRIAGE=$(swift build -c "$CONFIGURATION" --show-bin-path)/triage
rm -rf "$OUT" && mkdir -p "$OUT"
HISTORY=datasets/simulated
step() { printf '\n== %s\n' "$*"; }

step "train a bundle from the shipped history ($HISTORY)"
"$TRIAGE" train --metrics "$HISTORY/metrics.csv" --incidents "$HISTORY/incidents.csv" --output "$OUT/bundle" --seed 0
step "the learned remediation policy on an unseen simulator seed"
"$TRIAGE" policy evaluate --model "$OUT/bundle" --seed 1 --episodes 1000

step "simulate two unseen days to score"
"$TRIAGE" simulate --output "$OUT/live" --seed 1 --services 8 --days 2 --interval 120 --quiet
step "score the unseen days with the bundle's detectors (per-service features from 'triage features')"
"$TRIAGE" features --model "$OUT/bundle" "$OUT/live/metrics.csv" --output "$OUT/live-features.csv"
for kind in iforest autoencoder; do
  "$TRIAGE" score "$OUT/bundle/$kind.model" "$OUT/live-features.csv" --output "$OUT/bundle-$kind-scores.csv"
  flagged=$(awk -F, 'NR > 1 && $2 == 1' "$OUT/bundle-$kind-scores.csv" | wc -l)
  echo "bundle $kind: $(( $(wc -l < "$OUT/bundle-$kind-scores.csv") - 1 )) rows scored, $flagged flagged as anomalous"
done
step "online detector (no model): watch one service's metrics as they would stream in"
awk -F, 'NR == 1 || $2 == "svc-01"' "$OUT/live/metrics.csv" | cut -d, -f1,3- > "$OUT/live-svc-01.csv"
"$TRIAGE" watch "$OUT/live-svc-01.csv" --scores "$OUT/watch-scores.csv" --events "$OUT/watch-events.jsonl"
echo "watch: $(( $(wc -l < "$OUT/watch-scores.csv") - 1 )) rows scored, $(awk -F, 'NR > 1 && $2 >= 0.5' "$OUT/watch-scores.csv" | wc -l) with anomaly_score >= 0.5"

step "engine loop: watch the unseen days with the bundle, recommendations into the approval queue (SQLite)"
"$TRIAGE" watch "$OUT/live/metrics.csv" --model "$OUT/bundle" --db "$OUT/triage.sqlite" --events "$OUT/engine-events.jsonl" --ttl 1d
"$TRIAGE" evaluate --events "$OUT/engine-events.jsonl" --truth "$OUT/live/truth.json"
"$TRIAGE" approvals list --db "$OUT/triage.sqlite" | head -6
# The first incident recommendation (a scale_down's outcome teaches the policy nothing).
FIRST=$("$TRIAGE" approvals list --db "$OUT/triage.sqlite" --json | python3 -c 'import json,sys; q=json.load(sys.stdin); print(next((r["id"] for r in q if r["action"] != "scale_down"), ""))')
if [ -n "$FIRST" ]; then
  step "a person approves $FIRST; the action reaches the outbox; its outcome teaches the policy"
  "$TRIAGE" approvals show "$FIRST" --db "$OUT/triage.sqlite"
  # The OS account (effective uid), which is what approvals check --by against, not $USER.
  id -un > "$OUT/approvers.txt"
  "$TRIAGE" approvals approve "$FIRST" --by "$(id -un)" --db "$OUT/triage.sqlite" --comment "demo"
  cat "$OUT/outbox.jsonl"
  "$TRIAGE" outcome "$FIRST" --db "$OUT/triage.sqlite" --result success --recovery-seconds 240
fi
"$TRIAGE" report --events "$OUT/engine-events.jsonl" --db "$OUT/triage.sqlite" --output "$OUT/report.html"

step "action classifier (the bundle's forest): which symptoms decide the fix"
"$TRIAGE" inspect "$OUT/bundle/forest.model" | sed -n '/^classes:/p; /^feature importances:/,$p'
step "done: outputs in $OUT"
