#!/usr/bin/env bash
# Isolation forest quality: mean ROC-AUC over 5 seeds on the 8 ADBench sets, Triage (CLI: fit +
# evaluate on the whole file, label excluded) beside scikit-learn's IsolationForest(n_estimators=100,
# max_samples=256) on the same files and seeds. Target: |Triage − scikit-learn| ≤ 0.01 per set.
# Usage: benchmarks/iforest_quality.sh [DATASET_DIR]   (TRIAGE_VENV=/work/venv to share a venv)
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
SETS_DIR=${1:-$SHARED/datasets/tabular}
SETS=${SETS:-"cardio shuttle thyroid breastw mammography pima satellite annthyroid"}
SEEDS=${SEEDS:-"0 1 2 3 4"}  # e.g. SEEDS="$(seq -s " " 0 19)" for a tighter comparison
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/triage.csv
echo "set,seed,roc_auc" > "$RESULTS"
for set in $SETS; do
  for seed in $SEEDS; do
    "$TRIAGE" fit iforest "$SETS_DIR/$set.csv" --output "$WORK/m" --seed "$seed" --quiet
    auc=$("$TRIAGE" evaluate "$WORK/m" "$SETS_DIR/$set.csv" --target label --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["roc_auc"])')
    echo "$set,$seed,$auc" >> "$RESULTS"
  done
done
echo "machine: $(machine)"
"$PY" "$BENCH_ROOT/benchmarks/iforest_quality.py" --sets-dir "$SETS_DIR" --triage-results "$RESULTS" --seeds $SEEDS --sets $SETS
