#!/usr/bin/env bash
# The engine loop on PostgreSQL beside SQLite (issue 18: "1 replica on PostgreSQL", preliminary):
# `watch METRICS.csv --model BUNDLE --db DB --scores /dev/null` over engine_speed.sh's data (30 days
# x 8 services at 1 min of an unseen seed, 345 600 rows; a bundle trained on seed 0), with DB an
# SQLite file and a PostgreSQL database on a server that scripts/with-postgres.sh starts (Unix
# socket, fsync off), alternated, RUNS times each (default 3), a fresh database each run. Prints
# rows/s from wall time and the client's user CPU, and checks both stores raised the same
# recommendations (service, action, created).
#   usage: benchmarks/engine_postgres.sh [RUNS]      (TRIAGE_BASE=/other/triage adds a third binary on PostgreSQL)
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${TRIAGE_TEST_POSTGRES_URL:-}" ]; then
  exec bash "$BENCH_ROOT/scripts/with-postgres.sh" bash "${BASH_SOURCE[0]}" "$@"
fi
if [ -n "${TRIAGE_BUILD_DIR:-}" ]; then
  TRIAGE=$TRIAGE_BUILD_DIR/triage
else
  (cd "$BENCH_ROOT" && swift build -c release --product triage >&2)
  TRIAGE=$BENCH_ROOT/.build/release/triage
fi
RUNS=${1:-3}
D=$BENCH_ROOT/benchmarks/data/engine_speed
if [ ! -f "$D/seed7/metrics.csv" ] || [ ! -f "$D/bundle/manifest.json" ]; then
  echo "run benchmarks/engine_speed.sh once first: it makes $D" >&2; exit 1
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
socket=${TRIAGE_TEST_POSTGRES_URL##*host=}
psql=(psql "$TRIAGE_TEST_POSTGRES_URL" -qAt)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%dT%H:%MZ); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rows=$(($(wc -l < "$D/seed7/metrics.csv") - 1))
echo "rows: $rows"
names=(sqlite postgres); [ -n "${TRIAGE_BASE:-}" ] && names+=(postgres-base)
for k in $(seq "$RUNS"); do
  for name in "${names[@]}"; do
    bin=$TRIAGE; [ "$name" = postgres-base ] && bin=$TRIAGE_BASE
    if [ "$name" = sqlite ]; then
      rm -f "$W/q.sqlite"*; db=$W/q.sqlite
    else
      "${psql[@]}" -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
      db="postgres://triage@/bench?host=$socket"
    fi
    /usr/bin/time -f '%e %U' -o "$W/time" "$bin" watch "$D/seed7/metrics.csv" --model "$D/bundle" --db "$db" \
      --scores /dev/null --quiet > /dev/null
    read -r wall user < "$W/time"
    printf '  run %d %-13s %6.2f s wall, %5.2f s user, %8.0f rows/s\n' "$k" "$name" "$wall" "$user" "$(echo "$rows / $wall" | bc -l)"
    "$bin" approvals list --db "$db" --status all --json | python3 -c '
import json, sys
for r in json.load(sys.stdin): print(r["service"], r["action"], r["created"])' > "$W/$name.list"
  done
  cmp -s "$W/sqlite.list" "$W/postgres.list" && echo "  same recommendations ($(wc -l < "$W/sqlite.list"))" \
    || { echo "  DIFFERENT recommendations" >&2; exit 1; }
done
