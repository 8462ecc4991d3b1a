#!/usr/bin/env bash
# Issue 18's cluster targets, side by side in one run (benchmarks/cluster_bench.py does the work):
#   - same answers: 3 `serve --replica` processes on PostgreSQL fed the same rows as one
#     `watch --model --db watch.sqlite`, one replica SIGKILLed and another SIGSTOPped for 20 s at
#     seeded moments, recommendations (service, action, created) compared once the inbox drained,
#     over SEEDS;
#   - failover: SIGKILL → a survivor's lease claim and its first checkpoint, median and max;
#   - throughput: 1 `serve` on SQLite beside 1 replica and 3 replicas on PostgreSQL, ROUNDS rounds.
# Rows: SERVICES services × 2 unseen days at one row a minute (simulator seed 7; 30 services:
# 86 400 rows), fed at RATE rows/s in the same-answers runs (≈ 45 s a seed); for throughput the
# same services × THROUGHPUT_DAYS days (seed 8; 7 days: 302 400 rows) fed as fast as answered.
# Bundle trained on 3 days of seed 0. About 5 minutes on the 2-core machine (10 seeds: 9-10).
#
#   bash benchmarks/cluster.sh [cluster_bench.py flags]   # starts its own PostgreSQL (scripts/with-postgres.sh)
#
# TRIAGE_BIN (default: a release build of this checkout), SERVICES (30), THROUGHPUT_DAYS (7), SEEDS (1-5), RATE (2000),
# ROUNDS (3), KINDS (sqlite,pg-1,pg-3), SKIP_FAILOVER=1 (throughput only), KEEP=DIR (keep the logs).
# Exit 1 on any mismatch. Figures in BENCHMARKS.md, "Replicas: cluster failover and throughput".
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
if [ -z "${TRIAGE_TEST_POSTGRES_URL:-}" ]; then
  exec bash "$ROOT/scripts/with-postgres.sh" bash "$0" "$@"
fi
if [ -n "${TRIAGE_BIN:-}" ]; then
  TRIAGE=$TRIAGE_BIN
else
  (cd "$ROOT" && swift build -c release --product triage >&2)
  TRIAGE=$ROOT/.build/release/triage
fi
SERVICES=${SERVICES:-30}
PSQL=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql
WORK=${KEEP:-$(mktemp -d /tmp/triage-cluster.XXXXXX)}
mkdir -p "$WORK"
cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), $("$PSQL" --version)"
"$TRIAGE" simulate --output "$WORK/history" --seed 0 --services "$SERVICES" --days 3 --quiet
"$TRIAGE" simulate --output "$WORK/live" --seed 7 --services "$SERVICES" --days 2 --interval 60 --quiet
"$TRIAGE" train --metrics "$WORK/history/metrics.csv" --incidents "$WORK/history/incidents.csv" \
  --output "$WORK/bundle" --seed 0 --quiet
THROUGHPUT_DAYS=${THROUGHPUT_DAYS:-7}
"$TRIAGE" simulate --output "$WORK/long" --seed 8 --services "$SERVICES" --days "$THROUGHPUT_DAYS" --interval 60 --quiet
log "rows: $(( $(wc -l < "$WORK/live/metrics.csv") - 1 )) for the same answers ($SERVICES services × 2 days, one a minute), $(( $(wc -l < "$WORK/long/metrics.csv") - 1 )) for throughput ($THROUGHPUT_DAYS days)"

status=0
python3 "$HERE/cluster_bench.py" --triage "$TRIAGE" --bundle "$WORK/bundle" --metrics "$WORK/live/metrics.csv" \
  --throughput-metrics "$WORK/long/metrics.csv" --base-url "$TRIAGE_TEST_POSTGRES_URL" --work "$WORK" --psql "$PSQL" \
  --seeds "${SEEDS:-1-5}" --rate "${RATE:-2000}" --rounds "${ROUNDS:-3}" --kinds "${KINDS:-sqlite,pg-1,pg-3}" \
  ${SKIP_FAILOVER:+--skip-failover} "$@" || status=$?
log "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
