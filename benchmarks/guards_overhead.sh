#!/usr/bin/env bash
# Issue 16, "Overhead": `triage watch METRICS.csv --model BUNDLE --db q.sqlite --scores /dev/null`
# over 30 days x 8 services at 1 min (345 600 rows, `simulate --seed 7`, as in BENCHMARKS.md
# "Engine loop"), main's release build and this branch's side by side, alternating, RUNS times
# each with a fresh queue (alternating which goes first); prints each run's wall and user CPU seconds and the medians.
#   usage: TRIAGE=… TRIAGE_MAIN=… benchmarks/guards_overhead.sh [RUNS]   (default 5)
# The bundle is the shipped models/simulated (the section above trained one on seed 0; any
# bundle serves an A/B comparison as long as both builds use the same).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TRIAGE:?path to this branch's release triage}" "${TRIAGE_MAIN:?path to main's release triage}"
RUNS=${1:-5}
W=${TRIAGE_GUARDS_WORK:-$ROOT/benchmarks/data/guards_overhead}
mkdir -p "$W"
BUNDLE=$ROOT/models/simulated
echo "machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
[ -f "$W/month/metrics.csv" ] || "$TRIAGE" simulate --output "$W/month" --seed 7 --services 8 --days 30 --interval 60 --quiet
echo "rows: $(( $(wc -l < "$W/month/metrics.csv") - 1 ))"
: > "$W/times.txt"
for run in $(seq 1 "$RUNS"); do
  # The order alternates, so a load that rises or falls during the runs favours neither build.
  order="main guards"; [ $((run % 2)) -eq 0 ] && order="guards main"
  for build in $order; do
    bin=$TRIAGE; [ "$build" = main ] && bin=$TRIAGE_MAIN
    rm -f "$W/q.sqlite" "$W/q.sqlite-wal" "$W/q.sqlite-shm"
    /usr/bin/time -f "%e %U" -o "$W/t" "$bin" watch "$W/month/metrics.csv" --model "$BUNDLE" --db "$W/q.sqlite" \
      --scores /dev/null --quiet
    read -r wall user < "$W/t"
    recs=$("$bin" approvals list --db "$W/q.sqlite" --status all --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    echo "$build $wall $user" >> "$W/times.txt"
    echo "run $run $build: wall ${wall} s, user ${user} s, $recs recommendations, load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
python3 - "$W/times.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for build in ("main", "guards"):
    walls = [float(r[1]) for r in rows if r[0] == build]; users = [float(r[2]) for r in rows if r[0] == build]
    med[build] = (statistics.median(walls), statistics.median(users))
    print(f"{build}: median wall {med[build][0]:.2f} s, median user {med[build][1]:.2f} s over {len(walls)} runs")
print(f"guards / main: wall {med['guards'][0] / med['main'][0]:.3f}, user {med['guards'][1] / med['main'][1]:.3f} (target <= 1.10)")
PY
