#!/usr/bin/env bash
# Engine loop speed (issue 17 §4: 345 600 rows in ≤ 1 s with `--db`), side by side in one run:
# `watch METRICS.csv --model BUNDLE --db q.sqlite --scores /dev/null` over 30 days × 8 services at
# 1 min of an unseen simulator seed (7), with a bundle trained on seed 0 (same size), this build
# against a baseline binary, alternating, RUNS times each (default 7), fresh queue each run; then
# the same without `--db`; then the kill -9 check: runs killed at several moments and completed
# afterwards must leave the queue equal to a clean run's (none lost, none duplicated).
#   usage: TRIAGE_BASE=/path/to/baseline/triage benchmarks/engine_speed.sh [RUNS]
# Without TRIAGE_BASE only this build is timed. A release build: the figures are timings.
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${TRIAGE_BUILD_DIR:-}" ]; then
  TRIAGE=$TRIAGE_BUILD_DIR/triage
else
  (cd "$BENCH_ROOT" && swift build -c release --product triage >&2)
  TRIAGE=$BENCH_ROOT/.build/release/triage
fi
BASE=${TRIAGE_BASE:-}
RUNS=${1:-7}
W=$BENCH_ROOT/benchmarks/data/engine_speed
mkdir -p "$W"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%dT%H:%MZ); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ! -f "$W/seed7/metrics.csv" ] || [ ! -f "$W/bundle/manifest.json" ]; then
  rm -rf "$W/seed0" "$W/seed7" "$W/bundle"
  "$TRIAGE" simulate --output "$W/seed0" --seed 0 --services 8 --days 30 --interval 60 --quiet
  "$TRIAGE" simulate --output "$W/seed7" --seed 7 --services 8 --days 30 --interval 60 --quiet
  "$TRIAGE" train --metrics "$W/seed0/metrics.csv" --incidents "$W/seed0/incidents.csv" --output "$W/bundle" --seed 0 --quiet
fi
echo "rows: $(($(wc -l < "$W/seed7/metrics.csv") - 1))"

names=(this); [ -n "$BASE" ] && names=(base this)
timed() {  # timed NAME DB-ARGS...: prints wall and user seconds
  local bin=$TRIAGE; [ "$1" = base ] && bin=$BASE; shift
  /usr/bin/time -f '%e %U' -o "$W/time" "$bin" watch "$W/seed7/metrics.csv" --model "$W/bundle" "$@" \
    --scores /dev/null --quiet > /dev/null
  cat "$W/time"
}
for mode in db nodb; do
  declare -A wall=() user=()
  for k in $(seq "$RUNS"); do
    for name in "${names[@]}"; do
      rm -f "$W/q.sqlite"*
      args=(); [ "$mode" = db ] && args=(--db "$W/q.sqlite")
      read -r w u < <(timed "$name" "${args[@]}")
      wall[$name]="${wall[$name]:-} $w"; user[$name]="${user[$name]:-} $u"
      printf '  %-4s run %d %-4s %.2f s wall, %.2f s user\n' "$mode" "$k" "$name" "$w" "$u"
    done
  done
  for name in "${names[@]}"; do
    python3 - "$mode" "$name" "${wall[$name]}" "${user[$name]}" <<'PY'
import statistics, sys
mode, name, wall, user = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
rows = 345600
print(f"{mode:4} {name:4}: median {statistics.median(wall):.2f} s wall (min {min(wall):.2f}, max {max(wall):.2f}), "
      f"{statistics.median(user):.2f} s user; {rows / statistics.median(wall):,.0f} rows/s")
PY
  done
  unset wall user
done

# kill -9: a clean run, then one queue killed at several moments and completed by a last run.
K=$W/kill; rm -rf "$K"; mkdir -p "$K"
"$TRIAGE" watch "$W/seed7/metrics.csv" --model "$W/bundle" --db "$K/clean.sqlite" --quiet > /dev/null
for delay in 0.2 0.4 0.6 0.8 1.0; do
  "$TRIAGE" watch "$W/seed7/metrics.csv" --model "$W/bundle" --db "$K/killed.sqlite" --quiet > /dev/null 2>&1 &
  pid=$!; sleep "$delay"; kill -9 "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true
done
"$TRIAGE" watch "$W/seed7/metrics.csv" --model "$W/bundle" --db "$K/killed.sqlite" --quiet > /dev/null
python3 - "$K" <<'PY'
import sqlite3, sys
k = sys.argv[1]
cols = "service, action, created, confidence, reasons, parameters, scores, symptoms, tried, status"
rows = lambda p: list(sqlite3.connect(f"{k}/{p}").execute(f"select id, {cols} from recommendation order by id"))
clean, killed = rows("clean.sqlite"), rows("killed.sqlite")
duplicates = len(killed) - len({(r[1], r[3]) for r in killed})
lost = len({(r[1], r[3]) for r in clean} - {(r[1], r[3]) for r in killed})
print(f"kill -9 x5 then resumed: {len(killed)} recommendations against {len(clean)} clean; "
      f"lost {lost}, duplicated {duplicates}, identical {clean == killed}")
sys.exit(0 if clean == killed else 1)
PY
