#!/usr/bin/env bash
# Decision tree and random forest quality, Triage vs scikit-learn side by side (issue 5):
# stratified 70/30 split (seed 0) of each ADBench set with `label` as target; test ROC-AUC of
# `triage fit forest` (100 trees) vs RandomForestClassifier(100) and `triage fit tree` vs
# DecisionTreeClassifier. Targets: forest mean within ±0.01 and no set worse by > 0.02;
# tree mean within ±0.02.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
DATASETS=${TRIAGE_DATASETS:-$SHARED/datasets/tabular}
OUT=$DATA/trees_quality
mkdir -p "$OUT"
"$PY" "$BENCH_ROOT/benchmarks/trees_data.py" quality "$OUT" "$DATASETS"
echo "machine: $(machine)"
printf "%-12s %10s %10s %8s   %10s %10s %8s\n" set triage_rf sklearn_rf diff triage_dt sklearn_dt diff
rows=()
for name in annthyroid breastw cardio mammography pima satellite shuttle thyroid; do
  "$TRIAGE" fit forest "$OUT/${name}_train.csv" --target label --output "$OUT/$name.forest" --trees 100 --seed 0 --quiet
  "$TRIAGE" fit tree "$OUT/${name}_train.csv" --target label --output "$OUT/$name.tree" --seed 0 --quiet
  rf=$("$TRIAGE" evaluate "$OUT/$name.forest" "$OUT/${name}_test.csv" --target label --json)
  dt=$("$TRIAGE" evaluate "$OUT/$name.tree" "$OUT/${name}_test.csv" --target label --json)
  sk=$("$PY" "$BENCH_ROOT/benchmarks/trees_quality.py" "$OUT" "$name")
  rows+=("$("$PY" -c '
import json, sys
rf, dt, sk = (json.loads(a) for a in sys.argv[1:4])
print(json.dumps({"set": sk["set"], "triage_forest": rf["roc_auc"], "sklearn_forest": sk["forest"],
                  "triage_tree": dt["roc_auc"], "sklearn_tree": sk["tree"]}))' "$rf" "$dt" "$sk")")
  echo "${rows[-1]}" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
print("%-12s %10.4f %10.4f %+8.4f   %10.4f %10.4f %+8.4f" % (r["set"], r["triage_forest"], r["sklearn_forest"],
      r["triage_forest"] - r["sklearn_forest"], r["triage_tree"], r["sklearn_tree"], r["triage_tree"] - r["sklearn_tree"]))'
done
printf '%s\n' "${rows[@]}" | "$PY" -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
mean = lambda k: sum(r[k] for r in rows) / len(rows)
worst = min(r["triage_forest"] - r["sklearn_forest"] for r in rows)
print("%-12s %10.4f %10.4f %+8.4f   %10.4f %10.4f %+8.4f" % ("mean", mean("triage_forest"), mean("sklearn_forest"),
      mean("triage_forest") - mean("sklearn_forest"), mean("triage_tree"), mean("sklearn_tree"), mean("triage_tree") - mean("sklearn_tree")))
print("forest: mean diff %+.4f (target ±0.01), worst set %+.4f (target ≥ -0.02); tree: mean diff %+.4f (target ±0.02)" % (
      mean("triage_forest") - mean("sklearn_forest"), worst, mean("triage_tree") - mean("sklearn_tree")))'
