#!/usr/bin/env bash
# The main job of README, end to end on the embedded defaults (datasets/ and models/):
# train a bundle from the shipped incident history, evaluate its remediation policy on an unseen
# simulator seed, score a fresh simulated stretch with the bundle's detectors, and fit standalone
# detectors on the history's raw metrics to score the same stretch.
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
swift build -c release --product triage >&2
TRIAGE=$(swift build -c release --show-bin-path)/triage
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
for kind in iforest autoencoder; do
  if "$TRIAGE" fit --help | grep -q "^ *$kind "; then
    step "fit $kind on the history's metrics, score the unseen days"
    "$TRIAGE" fit "$kind" "$HISTORY/metrics.csv" --exclude timestamp --exclude service --output "$OUT/$kind.model" --quiet
    "$TRIAGE" score "$OUT/$kind.model" "$OUT/live/metrics.csv" --output "$OUT/$kind-scores.csv"
    flagged=$(awk -F, 'NR > 1 && $2 == 1' "$OUT/$kind-scores.csv" | wc -l)
    echo "$kind: $(( $(wc -l < "$OUT/$kind-scores.csv") - 1 )) rows scored, $flagged flagged as anomalous"
  fi
done
step "done: outputs in $OUT"
