#!/usr/bin/env bash
# Autoencoder detection quality, Triage vs the same network in PyTorch, side by side.
# Protocol (issue 6): the 8 ADBench tabular sets, fit and score on the whole file, 50 epochs,
# batch 256, lr 1e-3, seeds 0-4; mean ROC-AUC per set and seed-to-seed spread for both.
# Usage: benchmarks/autoencoder_quality.sh [TABULAR_DIR]   (default ../shared/datasets/tabular)
# Takes ~10 minutes on 2 cores (80 Triage fits, 40 PyTorch fits).
source "$(dirname "$0")/env.sh"
bench_requirements "$BENCH_ROOT/benchmarks/requirements-torch.txt"
# ../shared beside the clone (main), or two levels up from a worktree in wt/.
TABULAR=${1:-$SHARED/datasets/tabular}
SEEDS="0 1 2 3 4"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "machine: $(machine)"
# Triage twice: its defaults (an ensemble of 5 networks) and one network (--ensemble 1), the
# like-for-like counterpart of the PyTorch model.
for ensemble in 5 1; do
  for name in cardio shuttle thyroid breastw mammography pima satellite annthyroid; do
    for seed in $SEEDS; do
      "$TRIAGE" fit autoencoder "$TABULAR/$name.csv" --output "$WORK/$name.model" --seed "$seed" \
        --epochs 50 --batch-size 256 --learning-rate 0.001 --ensemble "$ensemble" --quiet
      auc=$("$TRIAGE" evaluate "$WORK/$name.model" "$TABULAR/$name.csv" --target label --json \
        | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["roc_auc"])')
      echo "{\"dataset\": \"$name\", \"seed\": $seed, \"roc_auc\": $auc}" >> "$WORK/triage-e$ensemble.jsonl"
    done
  done
done
"$PY" "$BENCH_ROOT/benchmarks/autoencoder_quality.py" peer "$TABULAR" $SEEDS > "$WORK/peer.jsonl"
echo "== Triage defaults (ensemble of 5 networks) vs PyTorch (one network) =="
"$PY" "$BENCH_ROOT/benchmarks/autoencoder_quality.py" report "$WORK/triage-e5.jsonl" "$WORK/peer.jsonl"
echo
echo "== Triage --ensemble 1 (one network, like for like) vs PyTorch =="
"$PY" "$BENCH_ROOT/benchmarks/autoencoder_quality.py" report "$WORK/triage-e1.jsonl" "$WORK/peer.jsonl"
