#!/usr/bin/env bash
# NAB quality on the visible NAB files (26, all 7 categories): `triage watch` (default settings,
# the same for every file) vs river HalfSpaceTrees (defaults, MinMax scaler), both scored by our
# NAB scorer (benchmarks/nab_score.py, checked first against NAB's official reference scores),
# then per category and cross-validated by category (benchmarks/nab_cv.py) beside NAB's stored
# detectors (HTM, CAD OSE, ARTime, RCF, windowed Gaussian) scored the same way.
# Usage: benchmarks/nab_quality.sh [SEED]
#        SEEDS=0-9 benchmarks/nab_quality.sh   # also: every profile's score per seed through
#                                              # `triage watch`, min / mean / max, leave-one-file-out
source "$(dirname "$0")/env.sh"
SEED=${1:-0}
NAB=${NAB_DIR:-$SHARED/datasets/nab}
NAB=$(cd "$NAB" && pwd)
if [ -n "${SEEDS:-}" ]; then
  echo "== triage watch, seeds $SEEDS ($(machine))"
  "$PY" "$BENCH_ROOT/benchmarks/nab_seeds.py" --triage "$TRIAGE" --data "$NAB" --seeds "$SEEDS"
  echo
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "== scorer check against NAB's official scores (reference/)"
"$PY" "$BENCH_ROOT/benchmarks/nab_score.py" --data "$NAB" --check-reference | tail -1
FILES=$("$PY" -c "import json,sys; print('\n'.join(sorted(json.load(open(sys.argv[1])))))" "$NAB/labels.json")
for f in $FILES; do
  mkdir -p "$OUT/triage/$(dirname "$f")" "$OUT/river/$(dirname "$f")"
  "$TRIAGE" watch "$NAB/$f" --scores "$OUT/triage/$f" --seed "$SEED" --quiet
  "$PY" "$BENCH_ROOT/benchmarks/river_hst.py" "$NAB/$f" "$OUT/river/$f" --seed "$SEED" > /dev/null
done
"$PY" "$BENCH_ROOT/benchmarks/nab_score.py" --data "$NAB" --results "$OUT/triage" --json > "$OUT/triage.json"
"$PY" "$BENCH_ROOT/benchmarks/nab_score.py" --data "$NAB" --results "$OUT/river" --json > "$OUT/river.json"
"$PY" - "$OUT/triage.json" "$OUT/river.json" "$NAB/reference/official_scores.json" "$(machine)" "$SEED" <<'PY'
import json, os, sys
triage, river = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
official = json.load(open(sys.argv[3])) if os.path.exists(sys.argv[3]) else None
print(f"machine: {sys.argv[4]}; seed {sys.argv[5]}")
print("\nPer-file raw score, standard profile, at each detector's corpus-optimised threshold")
print(f"{'file':58s} {'triage':>9s} {'river HST':>9s}")
for name in triage["standard"]["per_file"]:
    print(f"{name:58s} {triage['standard']['per_file'][name]:9.4f} {river['standard']['per_file'][name]:9.4f}")
print("\nNormalised NAB score (0 = null detector, 100 = perfect)")
print(f"{'profile':20s} {'triage':>9s} {'river HST':>9s} {'ratio':>7s}   threshold (triage / river)")
for p in triage:
    t, r = triage[p]["normalised"], river[p]["normalised"]
    ratio = f"{t / r:7.2f}" if r > 0 else "    n/a"
    print(f"{p:20s} {t:9.3f} {r:9.3f} {ratio}   {triage[p]['threshold']:.6g} / {river[p]['threshold']:.6g}")
if official:
    print("\nNAB's stored detectors on the same files (official_scores.json), for orientation:")
    for d in ("numenta", "ARTime", "contextOSE", "randomCutForest", "windowedGaussian"):
        row = official["detectors"].get(d)
        if row:
            print(f"  {d:18s} " + "  ".join(f"{p} {row[p]['normalized']:.3f}" for p in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")))
PY
echo
echo "== per category and leave-one-category-out (threshold chosen on the other 6 categories)"
mv "$OUT/triage" "$OUT/triage-watch"
"$PY" "$BENCH_ROOT/benchmarks/nab_cv.py" --data "$NAB" --reference "$OUT/triage-watch"
