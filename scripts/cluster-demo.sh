#!/usr/bin/env bash
# Trying a cluster on one machine (issue 18): a throwaway PostgreSQL (scripts/with-postgres.sh:
# `initdb` in a temporary folder, `pg_ctl` on a Unix socket), three `triage serve --replica`
# processes sharing it, the two unseen days of scripts/demo.sh fed round robin to all three over
# HTTP (each service's rows in time order, by benchmarks/cluster_feed.py), one replica killed with
# SIGKILL halfway, its services taken over by the survivors, and the survivors' recommendations
# compared with one `triage watch` over the same rows. Everything it started is stopped and the
# database removed on exit, whatever happens; the replicas' logs stay in the output folder.
# Usage: bash scripts/cluster-demo.sh [--output DIR]   (default: out/cluster-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/cluster-demo
while [ $# -gt 0 ]; do
  case "$1" in
    --output) OUT=$2; shift 2 ;;
    *) echo "usage: bash scripts/cluster-demo.sh [--output DIR]" >&2; exit 64 ;;
  esac
done
if [ -z "${TRIAGE_CLUSTER_DEMO_SERVER:-}" ]; then
  bash scripts/setup.sh
  # Our own server, whatever TRIAGE_TEST_POSTGRES_URL the caller has: run again beside it.
  TRIAGE_CLUSTER_DEMO_SERVER=1 exec bash scripts/with-postgres.sh bash "$0" --output "$OUT"
fi
DB=$TRIAGE_TEST_POSTGRES_URL
PSQL=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql
sql() { "$PSQL" "$DB" -qAtX -F ' ' -c "$1"; }
CONFIGURATION=${TRIAGE_CONFIGURATION:-release}
swift build -c "$CONFIGURATION" --product triage >&2
TRIAGE=$(swift build -c "$CONFIGURATION" --show-bin-path)/triage
mkdir -p "$OUT"
rm -rf "$OUT/live" "$OUT"/*.log "$OUT"/watch.sqlite* "$OUT"/outbox-*.jsonl
step() { printf '\n== %s\n' "$*"; }

PIDS=()
stop_replicas() {
  for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2> /dev/null || true; kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2> /dev/null || true; done
}
# Replicas first; with-postgres.sh stops the server and removes it afterwards.
trap stop_replicas EXIT
trap 'exit 130' INT TERM

step "a bundle from the shipped history (datasets/simulated), and two unseen days to feed"
if [ -f "$OUT/bundle/manifest.json" ]; then
  echo "reusing $OUT/bundle"
else
  "$TRIAGE" train --metrics datasets/simulated/metrics.csv --incidents datasets/simulated/incidents.csv \
    --output "$OUT/bundle" --seed 0 --quiet
fi
"$TRIAGE" simulate --output "$OUT/live" --seed 1 --services 8 --days 2 --interval 120 --quiet
echo "$(( $(wc -l < "$OUT/live/metrics.csv") - 1 )) rows: 8 services × 2 days, one row every 2 minutes"
TOKEN=cluster-demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
echo "$TOKEN demo" > "$OUT/tokens" && chmod 600 "$OUT/tokens"
echo demo > "$OUT/approvers.txt"

step "three replicas on one PostgreSQL database ($DB)"
URLS=()
for name in r1 r2 r3; do
  "$TRIAGE" serve --model "$OUT/bundle" --db "$DB" --replica "$name" --port 0 --token-file "$OUT/tokens" \
    --approvers "$OUT/approvers.txt" --outbox "$OUT/outbox-$name.jsonl" --ttl 1d --log-level notice 2> "$OUT/$name.log" &
  PIDS+=($!)
done
for i in 0 1 2; do
  url=""
  for _ in $(seq 600); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$OUT/r$((i + 1)).log" | head -1 || true)
    [ -n "$url" ] && break
    kill -0 "${PIDS[$i]}" 2> /dev/null || { cat "$OUT/r$((i + 1)).log" >&2; exit 1; }
    sleep 0.05
  done
  [ -n "$url" ] || { echo "error: r$((i + 1)) did not say where it listens" >&2; cat "$OUT/r$((i + 1)).log" >&2; exit 1; }
  URLS+=("$url")
  echo "r$((i + 1)): pid ${PIDS[$i]}, $url"
done
owners() {  # which replica owns what (unexpired leases), from the service_lease table
  sql "SELECT COALESCE(owner, '(none)') || ': ' || string_agg(service || ' (epoch ' || epoch || ')', ', ' ORDER BY service)
       FROM service_lease WHERE expires_at > clock_timestamp() GROUP BY owner ORDER BY owner"
}
# The services are shared out by the replicas' lease rounds (every 2 s): wait until all three hold some.
for _ in $(seq 100); do
  [ "$(sql "SELECT count(DISTINCT owner) FROM service_lease WHERE expires_at > clock_timestamp()")" = 3 ] && break
  sleep 0.1
done
owners

drain() {  # wait until every accepted row is processed: inbox empty, each checkpoint at its head
  for _ in $(seq 1200); do
    [ "$(sql "SELECT (SELECT count(*) FROM metric_inbox) + (SELECT count(*) FROM inbox_head h
              LEFT JOIN service_checkpoint c ON c.service = h.service WHERE COALESCE(c.inbox_position, 0) <> h.last_seq)")" = 0 ] && return
    sleep 0.1
  done
  echo "error: the inbox did not drain within 2 minutes" >&2; exit 1
}
feed() {  # feed PART (1/2 or 2/2) of each service's rows round robin to the three replicas
  python3 benchmarks/cluster_feed.py "$OUT/live/metrics.csv" --part "$1" --groups 4 --batch 40 --rate 2000 \
    --token "$TOKEN" --db "$DB" --psql "$PSQL" "${URLS[@]/#/--replica=}"
}

step "the first day, round robin to r1, r2 and r3 (POST /v1/metrics answers 202 once the rows are in the inbox)"
feed 1/2
drain
echo "processed: $(sql "SELECT count(*) FROM recommendation") recommendations so far"

VICTIM=r2
step "kill -9 $VICTIM (pid ${PIDS[1]}) halfway through the rows"
KILLED_AT=$(sql "SELECT clock_timestamp()")
kill -KILL "${PIDS[1]}"
wait "${PIDS[1]}" 2> /dev/null || true

step "the second day, round robin to all three ($VICTIM refuses connections: its share goes to the others)"
feed 2/2
for _ in $(seq 300); do
  [ "$(sql "SELECT count(*) FROM service_lease WHERE owner = '$VICTIM' OR expires_at <= clock_timestamp()")" = 0 ] && break
  sleep 0.1
done
sql "SELECT 'the survivors took over $VICTIM''s services ' || string_agg(service, ', ' ORDER BY service) || ' within '
     || round(extract(epoch FROM max(claimed_at) - '$KILLED_AT'::timestamptz)::numeric, 1) || ' s of the kill (lease 10 s, renewed every 2 s)'
     FROM service_lease WHERE claimed_at > '$KILLED_AT'::timestamptz"
drain
owners

step "the survivors' recommendations (any replica answers: GET ${URLS[0]}/v1/recommendations, or the CLI)"
"$TRIAGE" approvals list --db "$DB" --status all | head -12
echo "…"
"$TRIAGE" approvals list --db "$DB" --status all --json \
  | python3 -c 'import json,sys; [print(r["service"], r["action"], r["created"]) for r in json.load(sys.stdin)]' | sort > "$OUT/cluster.txt"
curl -fsS "${URLS[2]}/v1/services" -o "$OUT/services.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["services"]; print("r3 processes now (GET /v1/services):", ", ".join("%s (%s)" % (x["service"], x["state"]) for x in s))' "$OUT/services.json"

step "the same rows through one process: triage watch --model --db watch.sqlite"
"$TRIAGE" watch "$OUT/live/metrics.csv" --model "$OUT/bundle" --db "$OUT/watch.sqlite" --ttl 1d --scores /dev/null --quiet
"$TRIAGE" approvals list --db "$OUT/watch.sqlite" --status all --json \
  | python3 -c 'import json,sys; [print(r["service"], r["action"], r["created"]) for r in json.load(sys.stdin)]' | sort > "$OUT/watch.txt"
if cmp -s "$OUT/cluster.txt" "$OUT/watch.txt"; then
  echo "same $(wc -l < "$OUT/watch.txt") recommendations (service, action, created): none lost, none twice, despite the kill"
else
  echo "error: the cluster's recommendations differ from one process's:" >&2
  diff "$OUT/watch.txt" "$OUT/cluster.txt" | head -20 >&2
  exit 1
fi
step "done: replicas' logs in $OUT (r1.log, r2.log, r3.log); stopping r1 and r3 and the database"
