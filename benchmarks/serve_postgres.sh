#!/usr/bin/env bash
# `triage serve` ingest on SQLite and on PostgreSQL, side by side in one run: the same rows
# (SERVICES services × 2 unseen days of the simulator, seed 7, with a bundle trained on 3 days of
# seed 0) posted as 1 000-row CSV bodies by benchmarks/server_load/ingest.py (CONNECTIONS ordered
# connections), REPEATS times each, alternating stores. Each run gets a fresh SQLite file or a
# fresh PostgreSQL database; the recommendations (service, action, created) of the two are
# compared at the end of each pair.
#
#   bash scripts/with-postgres.sh bash benchmarks/serve_postgres.sh
#
# TRIAGE_BIN (default .build/release/triage), BASELINE_BIN (another build to run on SQLite
# beside it, alternating: to check that a change leaves SQLite serve's speed alone), SERVICES (20),
# CONNECTIONS (4), REPEATS (3), PORT (18580).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TRIAGE=${TRIAGE_BIN:-$ROOT/.build/release/triage}
BASELINE=${BASELINE_BIN:-}
SERVICES=${SERVICES:-20}
CONNECTIONS=${CONNECTIONS:-4}
REPEATS=${REPEATS:-3}
PORT=${PORT:-18580}
: "${TRIAGE_TEST_POSTGRES_URL:?run under scripts/with-postgres.sh (or set TRIAGE_TEST_POSTGRES_URL to a superuser URL)}"
WORK=$(mktemp -d /tmp/triage-serve-pg.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

"$TRIAGE" simulate --output "$WORK/s0" --seed 0 --services "$SERVICES" --days 3 --quiet
"$TRIAGE" simulate --output "$WORK/s7" --seed 7 --services "$SERVICES" --days 2 --quiet
"$TRIAGE" train --metrics "$WORK/s0/metrics.csv" --incidents "$WORK/s0/incidents.csv" --output "$WORK/bundle" --seed 0 --quiet
TOKEN=benchtoken-0123456789abcdef
echo "$TOKEN bench" > "$WORK/tokens" && chmod 600 "$WORK/tokens"
echo bench > "$WORK/approvers.txt"

# The base URL's socket folder and user: a database per run beside the test server's own.
BASE=${TRIAGE_TEST_POSTGRES_URL}
SOCKET=$(printf '%s' "$BASE" | sed -n 's/.*[?&]host=\([^&]*\).*/\1/p')
USER_NAME=$(printf '%s' "$BASE" | sed -n 's|postgres://\([^:@]*\).*|\1|p')
PSQL_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql
psql_admin() { "$PSQL_BIN" -h "$SOCKET" -U "$USER_NAME" -d postgres -qAt -c "$1"; }

serve_and_ingest() {  # BINARY DB NAME → prints rows/s
  local binary=$1 db=$2 name=$3
  "$binary" serve --model "$WORK/bundle" --db "$db" --token-file "$WORK/tokens" --approvers "$WORK/approvers.txt" \
    --outbox "$WORK/outbox-$name.jsonl" --port "$PORT" --log-level warning 2> "$WORK/$name.log" &
  local pid=$!
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1 && break; sleep 0.05; done
  local result
  result=$(cd "$HERE/server_load" && python3 ingest.py 127.0.0.1 "$PORT" "$TOKEN" "$WORK/s7/metrics.csv" "$CONNECTIONS" csv | grep '^RESULT')
  curl -fs "http://127.0.0.1:$PORT/v1/recommendations?status=all" \
    | python3 -c 'import json,sys; [print(r["service"], r["action"], r["created"]) for r in json.load(sys.stdin)["recommendations"]]' \
    | sort > "$WORK/answers-$name.txt"
  local cpu
  cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$pid/stat")
  kill -TERM "$pid"; wait "$pid" || true
  echo "$result cpu_s=$cpu recommendations=$(wc -l < "$WORK/answers-$name.txt")"
}

for run in $(seq "$REPEATS"); do
  rm -f "$WORK"/*.sqlite*
  if [ -n "$BASELINE" ]; then log "run $run: baseline on SQLite: $(serve_and_ingest "$BASELINE" "$WORK/base-$run.sqlite" base-$run)"; fi
  log "run $run: SQLite:     $(serve_and_ingest "$TRIAGE" "$WORK/q-$run.sqlite" sqlite-$run)"
  psql_admin "CREATE DATABASE serve_bench_$run"
  log "run $run: PostgreSQL: $(serve_and_ingest "$TRIAGE" "postgres://$USER_NAME@/serve_bench_$run?host=$SOCKET" postgres-$run)"
  psql_admin "DROP DATABASE serve_bench_$run WITH (FORCE)"
  if cmp -s "$WORK/answers-sqlite-$run.txt" "$WORK/answers-postgres-$run.txt"; then
    log "run $run: same recommendations (service, action, created) on both stores"
  else
    log "run $run: recommendations DIFFER"; diff "$WORK/answers-sqlite-$run.txt" "$WORK/answers-postgres-$run.txt" | head >&2
  fi
done
