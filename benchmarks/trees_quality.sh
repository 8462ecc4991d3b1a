#!/usr/bin/env bash
# Decision tree and random forest quality, Triage vs scikit-learn side by side (issues 5 and 17).
# Every ADBench set in ../shared/datasets/tabular, target `label`, SEEDS stratified 70/30 splits
# (random_state = seed; the fits use the same seed), test ROC-AUC of `triage fit forest`
# (100 trees) vs RandomForestClassifier(100) with the same max_features and bootstrap, and
# `triage fit tree` vs DecisionTreeClassifier.
# Two regimes: the whole sets (max_features sqrt), and issue 17's small-data regime (340 rows,
# 22 positives, features scaled to [0, 1], drawn from each set; max_features sqrt and all).
# Target (issue 17): forest mean ROC-AUC within 0.01 of scikit-learn on every set.
# SEEDS (default 10), SMALL_SEEDS (default 20), REGIMES (default "full small-sqrt small-all").
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
DATASETS=${TRIAGE_DATASETS:-$SHARED/datasets/tabular}
SEEDS=${SEEDS:-10}
SMALL_SEEDS=${SMALL_SEEDS:-20}
REGIMES=${REGIMES:-full small-sqrt small-all}
OUT=$DATA/trees_quality
mkdir -p "$OUT"
"$PY" "$BENCH_ROOT/benchmarks/trees_data.py" quality "$OUT" "$DATASETS" "$SEEDS"
"$PY" "$BENCH_ROOT/benchmarks/trees_data.py" small "$OUT" "$DATASETS" "$SMALL_SEEDS"
echo "machine: $(machine); load: $(cut -d' ' -f1-3 /proc/loadavg)"
SETS="annthyroid breastw cardio mammography pima satellite shuttle thyroid"
results=$OUT/results.jsonl
: > "$results"
for regime in $REGIMES; do
  case $regime in
    full) prefix=""; seeds=$SEEDS; mf=sqrt ;;
    small-sqrt) prefix="small_"; seeds=$SMALL_SEEDS; mf=sqrt ;;
    small-all) prefix="small_"; seeds=$SMALL_SEEDS; mf=all ;;
    *) echo "unknown regime $regime" >&2; exit 64 ;;
  esac
  for name in $SETS; do
    set=$prefix$name
    "$PY" "$BENCH_ROOT/benchmarks/trees_quality.py" "$OUT" "$set" "$seeds" "$mf" > "$OUT/sklearn.jsonl"
    for ((s = 0; s < seeds; s++)); do
      base=$OUT/${set}_s$s
      "$TRIAGE" fit forest "${base}_train.csv" --target label --output "$base.forest" --trees 100 \
        --max-features "$mf" --seed "$s" --quiet
      rf=$("$TRIAGE" evaluate "$base.forest" "${base}_test.csv" --target label --json)
      dt=null
      if [ "$mf" = sqrt ]; then
        "$TRIAGE" fit tree "${base}_train.csv" --target label --output "$base.tree" --seed "$s" --quiet
        dt=$("$TRIAGE" evaluate "$base.tree" "${base}_test.csv" --target label --json)
      fi
      sk=$(sed -n "$((s + 1))p" "$OUT/sklearn.jsonl")
      "$PY" -c '
import json, sys
rf, dt, sk = (json.loads(a) for a in sys.argv[1:4])
print(json.dumps({"regime": sys.argv[4], "set": sk["set"], "seed": sk["seed"], "triage_forest": rf["roc_auc"],
                  "sklearn_forest": sk["forest"], "triage_tree": dt["roc_auc"] if dt else None,
                  "sklearn_tree": sk["tree"]}))' "$rf" "$dt" "$sk" "$regime" >> "$results"
    done
  done
done
"$PY" - "$results" <<'PY'
import json, statistics as st, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for regime in dict.fromkeys(r["regime"] for r in rows):
    part = [r for r in rows if r["regime"] == regime]
    n = len({r["seed"] for r in part})
    print(f"\n{regime} ({n} seeds): mean ± sd of test ROC-AUC over seeds")
    print("%-20s %17s %17s %8s   %8s %8s %8s" % ("set", "triage forest", "sklearn forest", "diff", "tri tree", "sk tree", "diff"))
    worst = 0.0
    means = {"tf": [], "sf": []}
    for name in dict.fromkeys(r["set"] for r in part):
        rs = [r for r in part if r["set"] == name]
        tf, sf = [r["triage_forest"] for r in rs], [r["sklearn_forest"] for r in rs]
        d = st.mean(tf) - st.mean(sf)
        worst = min(worst, d)
        means["tf"].append(st.mean(tf)); means["sf"].append(st.mean(sf))
        tree = ""
        if rs[0]["triage_tree"] is not None:
            tt, stt = st.mean(r["triage_tree"] for r in rs), st.mean(r["sklearn_tree"] for r in rs)
            tree = "%8.4f %8.4f %+8.4f" % (tt, stt, tt - stt)
        print("%-20s %8.4f ± %.4f %8.4f ± %.4f %+8.4f %s  %s" % (name, st.mean(tf), st.pstdev(tf), st.mean(sf),
              st.pstdev(sf), d, "ok" if d >= -0.01 else "GAP", tree))
    print("%-20s %8.4f          %8.4f          %+8.4f   worst set %+.4f (target ≥ −0.01 on every set)" % (
        "mean", st.mean(means["tf"]), st.mean(means["sf"]), st.mean(means["tf"]) - st.mean(means["sf"]), worst))
PY
