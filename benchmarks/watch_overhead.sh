#!/usr/bin/env bash
# Engine-loop overhead (issue 16: within 10 % of before), side by side in one run: `watch --model
# --db --events` over 30 days × 8 services at 60 s (345 600 rows) with the shipped bundle, this
# build against a baseline binary, alternating, RUNS times each (default 3); prints each run and
# the medians. A release build: figures are timings.
#   usage: TRIAGE_BASE=/path/to/baseline/triage benchmarks/watch_overhead.sh [RUNS]
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${TRIAGE_BUILD_DIR:-}" ]; then
  TRIAGE=$TRIAGE_BUILD_DIR/triage
else
  (cd "$BENCH_ROOT" && swift build -c release --product triage >&2)
  TRIAGE=$BENCH_ROOT/.build/release/triage
fi
BASE=${TRIAGE_BASE:?set TRIAGE_BASE to the baseline triage binary}
RUNS=${1:-3}
W=$BENCH_ROOT/benchmarks/data/watch_overhead
rm -rf "$W"; mkdir -p "$W"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%dT%H:%MZ); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BASE" simulate --output "$W/sim" --seed 3 --services 8 --days 30 --interval 60 --quiet
echo "rows: $(($(wc -l < "$W/sim/metrics.csv") - 1))"
declare -A times
for k in $(seq "$RUNS"); do
  for name in base this; do
    bin=$BASE; [ "$name" = this ] && bin=$TRIAGE
    rm -f "$W/q.sqlite"* "$W/e.jsonl"
    t0=$(date +%s.%N)
    "$bin" watch "$W/sim/metrics.csv" --model "$BENCH_ROOT/models/simulated" --db "$W/q.sqlite" --events "$W/e.jsonl" --ttl 1d --quiet
    t=$(echo "$(date +%s.%N) - $t0" | bc -l)
    times[$name]="${times[$name]:-} $t"
    printf '  run %d %-4s %.2f s\n' "$k" "$name" "$t"
  done
done
python3 - "${times[base]}" "${times[this]}" <<'PYEOF'
import statistics, sys
base = [float(x) for x in sys.argv[1].split()]; this = [float(x) for x in sys.argv[2].split()]
mb, mt = statistics.median(base), statistics.median(this)
print(f"median base {mb:.2f} s, this {mt:.2f} s: {100 * (mt / mb - 1):+.1f} % (target within +10 %)")
PYEOF

# Instruction counts (callgrind: deterministic whatever else the machine does) on the first
# 3 days (34 560 rows) of the same file. valgrind 3.19 cannot read Swift 6's DWARF: stripped copies.
if command -v valgrind > /dev/null; then
  head -n 34561 "$W/sim/metrics.csv" > "$W/head.csv"
  for name in base this; do
    bin=$BASE; [ "$name" = this ] && bin=$TRIAGE
    strip -g -o "$W/triage-$name" "$bin"
    rm -f "$W/q.sqlite"* "$W/e.jsonl"
    valgrind --tool=callgrind --callgrind-out-file="$W/cg-$name.out" "$W/triage-$name" watch "$W/head.csv" \
      --model "$BENCH_ROOT/models/simulated" --db "$W/q.sqlite" --events "$W/e.jsonl" --ttl 1d --quiet 2> "$W/cg-$name.log"
    printf '  instructions %-4s %s\n' "$name" "$(grep -m1 -o 'Collected : [0-9]*' "$W/cg-$name.log" | cut -d' ' -f3)"
  done
  python3 - "$W/cg-base.log" "$W/cg-this.log" <<'PYEOF'
import re, sys
b, t = (int(re.search(r"Collected : (\d+)", open(p).read()).group(1)) for p in sys.argv[1:])
print(f"instructions: this / base = {t / b:.4f} ({100 * (t / b - 1):+.2f} %)")
PYEOF
fi
