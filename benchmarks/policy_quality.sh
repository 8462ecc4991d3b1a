#!/usr/bin/env bash
# Simulator and policy benchmark (issue 8): simulate/train timings on 30 days × 8 services at
# 60 s, and the learned policy against value iteration, the historical operators and random
# choice over simulated incidents on a seed the training data never used. The Python peer
# (policy_quality.py) times pandas on the same metrics and trains a scikit-learn random forest
# on the same incident symptoms as a supervised action recommender.
#   usage: benchmarks/policy_quality.sh [EPISODES]   (default 5000)
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
EPISODES=${1:-5000}
W=$DATA/policy_quality
rm -rf "$W"; mkdir -p "$W"
now() { date +%s.%N; }
echo "machine: $(machine)"

t0=$(now); "$TRIAGE" simulate --output "$W/train30" --seed 0 --services 8 --days 30 --interval 60 --quiet; t1=$(now)
"$TRIAGE" train --metrics "$W/train30/metrics.csv" --incidents "$W/train30/incidents.csv" --output "$W/bundle30" --seed 0 --quiet; t2=$(now)
sim_s=$(echo "$t1 - $t0" | bc -l); train_s=$(echo "$t2 - $t1" | bc -l)
rows=$(($(wc -l < "$W/train30/metrics.csv") - 1)); incidents=$(grep -c . "$W/train30/truth.json" || true)
printf 'simulate 30 d x 8 services @ 60 s: %.2f s (%d metric rows; target <= 10 s)\n' "$sim_s" "$rows"
printf 'train    on the same:              %.2f s (target <= 30 s)\n' "$train_s"

# Unseen incidents for the peer: a separate seed, trained into its own bundle for its symptom table.
"$TRIAGE" simulate --output "$W/test" --seed 1 --services 8 --days 30 --interval 60 --quiet
"$TRIAGE" train --metrics "$W/test/metrics.csv" --incidents "$W/test/incidents.csv" --output "$W/bundle_test" --seed 0 --quiet

for bundle in "$W/bundle30" "$BENCH_ROOT/models/simulated"; do
  echo "policy evaluate --model ${bundle#$BENCH_ROOT/} --seed 1 --episodes $EPISODES:"
  "$TRIAGE" policy evaluate --model "$bundle" --seed 1 --episodes "$EPISODES" --json > "$W/eval.json"
  "$PY" - "$W/eval.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("learned", "historical", "optimal", "optimal_from_symptoms", "random"):
    print(f"  {k:22s} mean_reward {r[k]['mean_reward']:9.1f}  mean_downtime_s {r[k]['mean_downtime_s']:8.1f}  first-action accuracy {r[k]['accuracy']:.3f}")
ratio = r["optimal"]["mean_reward"] / r["learned"]["mean_reward"]
cut = 1 - r["learned"]["mean_downtime_s"] / r["historical"]["mean_downtime_s"]
acc = r["learned"]["accuracy"]
print(f"  learned return vs optimum: {ratio:.3f} (target >= 0.95: {'met' if ratio >= 0.95 else 'SHORT'})")
obs = r["optimal_from_symptoms"]["mean_reward"] / r["learned"]["mean_reward"]
print(f"  learned return vs optimum from symptoms: {obs:.3f}")
print(f"  downtime below historical: {cut:.1%} (target >= 20%: {'met' if cut >= 0.20 else 'SHORT'})")
print(f"  recommendation accuracy:   {acc:.3f} (target >= 0.85: {'met' if acc >= 0.85 else 'SHORT'})")
PYEOF
done

# The bundle's action classifier (forest.model: symptoms -> the action that fixed the incident)
# on the unseen seed's incidents, against the fault's best action, next to the Q-policy's
# first-action accuracy from `policy evaluate` above (same seed, its own incident draws).
"$TRIAGE" policy evaluate --model "$W/bundle30" --seed 1 --episodes "$EPISODES" --json > "$W/eval30.json"
t3=$(now); "$TRIAGE" score "$W/bundle30/forest.model" "$W/bundle_test/symptoms.csv" --output "$W/forest_pred.csv"; t4=$(now)
"$PY" - "$W" "$(echo "$t4 - $t3" | bc -l)" <<'PYEOF'
import json, sys
import pandas as pd
w, score_s = sys.argv[1], float(sys.argv[2])
BEST = {"memory_leak": "restart", "hung_process": "restart", "traffic_surge": "scale_up", "bad_deploy": "rollback",
        "dependency_outage": "failover", "slow_disk": "alert", "noisy_neighbour": "alert"}
test = pd.read_csv(f"{w}/bundle_test/symptoms.csv")
pred = pd.read_csv(f"{w}/forest_pred.csv")["prediction"]
acc = float((pred.to_numpy() == test["fault"].map(BEST).to_numpy()).mean())
m = json.load(open(f"{w}/bundle30/manifest.json"))
q = json.load(open(f"{w}/eval30.json"))["learned"]["accuracy"]
print(f"action classifier (bundle forest.model, {m['training']['action_classifier_incidents']:.0f} fixed training incidents, "
      f"OOB accuracy vs fixed_by {m['training']['action_classifier_oob_accuracy']:.3f}): "
      f"accuracy {acc:.3f} on {len(test)} unseen incidents (seed 1; score {score_s:.2f} s)")
print(f"Q-policy first-action accuracy (policy evaluate --seed 1): {q:.3f}")
print(f"detectors: iforest threshold {m['thresholds']['detector.iforest']:.4f}, autoencoder threshold "
      f"{m['thresholds']['detector.autoencoder']:.4f}, fitted on {m['training']['detector_rows']:.0f} rows outside incidents")
PYEOF

# The bundle's detectors on the unseen seed's metrics (features via `triage features`).
"$TRIAGE" features --model "$W/bundle30" "$W/train30/metrics.csv" --output "$W/train_features.csv"
"$TRIAGE" features --model "$W/bundle30" "$W/test/metrics.csv" --output "$W/test_features.csv"
for kind in iforest autoencoder; do
  "$TRIAGE" score "$W/bundle30/$kind.model" "$W/test_features.csv" --output "$W/${kind}_scores.csv"
done
"$PY" "$BENCH_ROOT/benchmarks/bundle_detectors.py" "$W"

"$PY" "$BENCH_ROOT/benchmarks/policy_quality.py" "$W" "$train_s"
