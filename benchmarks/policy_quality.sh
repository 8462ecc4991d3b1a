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

"$PY" "$BENCH_ROOT/benchmarks/policy_quality.py" "$W" "$train_s"
