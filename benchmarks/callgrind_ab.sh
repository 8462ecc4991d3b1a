#!/usr/bin/env bash
# Instruction counts of two builds side by side (callgrind: deterministic, unlike wall time on a
# shared machine). Used for "Checked release builds (issue 14)" in BENCHMARKS.md.
# Usage: benchmarks/callgrind_ab.sh BASE_DIR NEW_DIR [csv iforest trees ae stream]
#   *_DIR hold `triage` and `triage-bench` release binaries (e.g. a checkout of the commit
#   before the change built with `swift build -c release`). valgrind 3.19 cannot read the DWARF
#   of Swift 6 binaries, so copies stripped of debug info are profiled (symbols stay).
# Inputs (seeded, small enough for valgrind): 50 000 × 12 CSV; 20 000 × 16 generated rows for
# the isolation forest (fit 100 trees, score, explain); 15 000 × 20 training and 5 000 test rows
# of 5 classes for a 20-tree forest (read, fit, predict); 20 000 × 16 rows for 2 autoencoder
# epochs; 30 000 rows of NAB machine_temperature for `triage watch`. One thread throughout.
# KEEP=DIR keeps the callgrind profiles for per-function comparison (callgrind_annotate).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE_DIR=$1; NEW_DIR=$2; shift 2
WHICH=${*:-csv iforest trees ae stream}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
D=$WORK/data; mkdir -p "$D"
python3 - "$D" "${NAB_DIR:-$ROOT/../shared/datasets/nab}" <<'PY'
import sys, csv, datetime as dt
import numpy as np
d, nab = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
np.savetxt(f"{d}/csv50k.csv", rng.standard_normal((50000, 12)), delimiter=",", fmt="%.6g",
           header=",".join(f"f{i}" for i in range(12)), comments="")
n = 20000; X = rng.standard_normal((n, 20)); w = rng.standard_normal((20, 5))
y = np.argmax(X @ w + 0.5 * rng.standard_normal((n, 5)), axis=1)
for name, part in [("trees_train.csv", slice(0, 15000)), ("trees_test.csv", slice(15000, n))]:
    with open(f"{d}/{name}", "w") as f:
        f.write(",".join(f"x{i}" for i in range(20)) + ",label\n")
        for r, l in zip(X[part], y[part]): f.write(",".join("%.6g" % v for v in r) + ",%d\n" % l)
z = rng.standard_normal((20000, 4)); A = rng.standard_normal((4, 16))
np.savetxt(f"{d}/ae20k.csv", z @ A + 0.1 * rng.standard_normal((20000, 16)), delimiter=",", fmt="%.6g",
           header=",".join(f"f{i}" for i in range(16)), comments="")
values = [r[1] for r in list(csv.reader(open(f"{nab}/realKnownCause/machine_temperature_system_failure.csv")))[1:]]
t = dt.datetime(2013, 12, 2, 21, 15)
with open(f"{d}/stream30k.csv", "w") as f:
    f.write("timestamp,value\n")
    for i in range(30000): f.write(f"{(t + dt.timedelta(minutes=5 * i)).strftime('%Y-%m-%d %H:%M:%S')},{values[i % len(values)]}\n")
PY
declare -A DIRS=([BASE]=$BASE_DIR [NEW]=$NEW_DIR) COUNTS
for side in BASE NEW; do
  mkdir -p "$WORK/$side"
  src=${DIRS[$side]}
  for b in triage triage-bench; do cp "$src/$b" "$WORK/$side/"; strip --strip-debug "$WORK/$side/$b"; done
done
count() {  # count SIDE NAME COMMAND...: prints the instruction total
  local side=$1 name=$2; shift 2
  valgrind --tool=callgrind --callgrind-out-file="$WORK/$side.$name.out" "$@" > /dev/null 2> "$WORK/$side.$name.err"
  grep -m1 Collected "$WORK/$side.$name.err" | awk '{print $NF}'
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d)"
for w in $WHICH; do
  for side in BASE NEW; do
    B=$WORK/$side
    case $w in
      csv) n=$(count $side $w "$B/triage-bench" csv "$D/csv50k.csv" --threads 1 --repeats 1);;
      iforest) n=$(count $side $w "$B/triage-bench" iforest --rows 20000 --features 16 --trees 100 --threads 1 --repeats 1 --explain);;
      trees) n=$(count $side $w "$B/triage-bench" trees --train "$D/trees_train.csv" --test "$D/trees_test.csv" --model forest --trees 20 --threads 1 --repeats 1);;
      ae) n=$(count $side $w "$B/triage-bench" autoencoder "$D/ae20k.csv" --epochs 2 --threads 1);;
      stream) n=$(count $side $w "$B/triage" watch "$D/stream30k.csv" --scores "$WORK/$side.scores.csv" --quiet);;
    esac
    COUNTS[$side]=$n
  done
  python3 -c "import sys; b, n = int(sys.argv[2]), int(sys.argv[3]); print(f'{sys.argv[1]:8s} {b:>15,} → {n:>15,}  {100 * (n / b - 1):+.1f} %')" "$w" "${COUNTS[BASE]}" "${COUNTS[NEW]}"
done
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$WORK"/*.out "$KEEP"/ && echo "profiles in $KEEP (callgrind_annotate FILE)"; fi
