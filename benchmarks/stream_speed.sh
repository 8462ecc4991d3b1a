#!/usr/bin/env bash
# Online detector throughput, end to end from file to scores file, on one core:
# machine_temperature_system_failure.csv (22 695 rows) repeated to 1 M rows (timestamps continue
# in 5-minute steps), `triage watch` vs river HalfSpaceTrees (defaults, MinMax scaler).
# Memory: peak RSS of triage watch at 100 k and at 1 M rows (bounded = the same).
# Usage: benchmarks/stream_speed.sh [ROWS (default 1000000)] [RIVER_ROWS (default 200000)]
source "$(dirname "$0")/env.sh"
ROWS=${1:-1000000}
RIVER_ROWS=${2:-200000}
SRC=${NAB_DIR:-$SHARED/datasets/nab}/realKnownCause/machine_temperature_system_failure.csv
BIG=$DATA/machine_temperature_${ROWS}.csv
SMALL=$DATA/machine_temperature_100000.csv
make_series() {  # make_series ROWS OUT
  [ -f "$2" ] || "$PY" - "$SRC" "$1" "$2" <<'PY'
import csv, sys, datetime as dt
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
values = [r[1] for r in list(csv.reader(open(src)))[1:]]
t = dt.datetime(2013, 12, 2, 21, 15)
with open(out + ".tmp", "w") as f:
    f.write("timestamp,value\n")
    for i in range(n):
        f.write(f"{(t + dt.timedelta(minutes=5 * i)).strftime('%Y-%m-%d %H:%M:%S')},{values[i % len(values)]}\n")
import os; os.replace(out + ".tmp", out)
PY
}
make_series "$ROWS" "$BIG"
make_series 100000 "$SMALL"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run_triage() {  # run_triage FILE -> "wall_seconds cpu_seconds max_rss_kb"
  /usr/bin/time -f "%e %U %S %M" -o "$OUT/time" taskset -c 0 "$TRIAGE" watch "$1" --scores "$OUT/scores.csv" --quiet
  awk '{print $1, $2 + $3, $4}' "$OUT/time"
}
read -r T_SEC T_CPU T_RSS < <(run_triage "$BIG")
read -r S_SEC S_CPU S_RSS < <(run_triage "$SMALL")
LINES=$(($(wc -l < "$OUT/scores.csv") - 1))
RIVER=$(taskset -c 0 "$PY" "$BENCH_ROOT/benchmarks/river_hst.py" "$BIG" "$OUT/river.csv" --rows "$RIVER_ROWS")
"$PY" - "$ROWS" "$T_SEC" "$T_CPU" "$T_RSS" "$S_RSS" "$RIVER" "$(machine)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
rows, t_sec, t_cpu, t_rss, s_rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
river = json.loads(sys.argv[6])
tp, tc = rows / t_sec, rows / t_cpu
print(f"machine: {sys.argv[7]}; load average {sys.argv[8]}")
print(f"triage watch : {rows} rows, wall {t_sec:.2f} s = {tp:,.0f} points/s, CPU {t_cpu:.2f} s = {tc:,.0f} points/s, "
      f"peak RSS {t_rss/1024:.1f} MiB (100 k rows: {s_rss/1024:.1f} MiB)")
print(f"river HST    : {river['rows']} rows, wall {river['seconds']:.2f} s = {river['points_per_s']:,.0f} points/s, "
      f"CPU {river['cpu_seconds']:.2f} s = {river['cpu_points_per_s']:,.0f} points/s")
print(f"ratio        : wall {tp / river['points_per_s']:.1f}x, CPU {tc / river['cpu_points_per_s']:.1f}x (target >= 10x)")
PY
