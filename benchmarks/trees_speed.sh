#!/usr/bin/env bash
# Decision tree and random forest speed, Triage vs scikit-learn in one run (issue 5):
# make_classification(200k × 20, 10 informative, 5 classes, random_state=0), 75/25 split.
# Targets: forest fit (100 trees, 2 threads) ≥ 3× faster than RandomForestClassifier(n_jobs=-1)
# with test accuracy ≥ sklearn − 0.005; single tree fit ≥ 3× faster at ±0.005 accuracy;
# forest prediction ≥ 1 M rows/s on 2 cores.
# Triage is timed in process (triage-bench trees: CSV read excluded, as for the pandas peer).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
THREADS=${THREADS:-2}
"$PY" "$BENCH_ROOT/benchmarks/trees_data.py" speed "$DATA"
echo "machine: $(machine); load: $(cut -d' ' -f1-3 /proc/loadavg)"
forest=$("$TRIAGE_BENCH" trees --train "$DATA/speed_train.csv" --test "$DATA/speed_test.csv" --model forest --trees 100 --threads "$THREADS")
tree=$("$TRIAGE_BENCH" trees --train "$DATA/speed_train.csv" --test "$DATA/speed_test.csv" --model tree --threads "$THREADS")
sk=$("$PY" "$BENCH_ROOT/benchmarks/trees_speed.py" "$DATA")
echo "triage forest: $forest"
echo "triage tree:   $tree"
echo "scikit-learn:  $sk"
"$PY" -c '
import json, sys
f, t, s = (json.loads(a) for a in sys.argv[1:4])
print("%-28s %12s %12s %8s" % ("", "triage", "sklearn", "ratio"))
def row(label, a, b, fmt="%12.3f"):
    print(("%-28s " + fmt + " " + fmt + " %8.2f") % (label, a, b, b / a if "seconds" in label else a / b))
row("forest fit seconds", f["fit_seconds"], s["forest_fit_seconds"])
row("forest fit CPU seconds", f["fit_cpu_seconds"], s["forest_fit_cpu_seconds"])
print("%-28s %12.4f %12.4f %+8.4f" % ("forest test accuracy", f["accuracy"], s["forest_accuracy"], f["accuracy"] - s["forest_accuracy"]))
row("forest predict rows/s", f["predict_rows_per_second"], s["forest_predict_rows_per_second"], "%12.0f")
row("forest predict CPU seconds", f["predict_cpu_seconds"], s["forest_predict_cpu_seconds"])
row("tree fit seconds", t["fit_seconds"], s["tree_fit_seconds"])
row("tree fit CPU seconds", t["fit_cpu_seconds"], s["tree_fit_cpu_seconds"])
print("%-28s %12.4f %12.4f %+8.4f" % ("tree test accuracy", t["accuracy"], s["tree_accuracy"], t["accuracy"] - s["tree_accuracy"]))
row("tree predict rows/s", t["predict_rows_per_second"], s["tree_predict_rows_per_second"], "%12.0f")
if "lightgbm_fit_seconds" in s:
    print("LightGBM GBDT (100 rounds, 31 leaves, all cores) beside the Triage forest:")
    row("  fit seconds (forest/GBDT)", f["fit_seconds"], s["lightgbm_fit_seconds"])
    row("  fit CPU seconds", f["fit_cpu_seconds"], s["lightgbm_fit_cpu_seconds"])
    print("%-28s %12.4f %12.4f %+8.4f" % ("  test accuracy", f["accuracy"], s["lightgbm_accuracy"], f["accuracy"] - s["lightgbm_accuracy"]))
    row("  predict rows/s", f["predict_rows_per_second"], s["lightgbm_predict_rows_per_second"], "%12.0f")
    row("  predict CPU seconds", f["predict_cpu_seconds"], s["lightgbm_predict_cpu_seconds"])
print("(ratio: speed-up of Triage for seconds and rows/s)")' "$forest" "$tree" "$sk"
