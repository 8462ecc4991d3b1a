#!/usr/bin/env bash
# The HTTP server's load targets (issue 15), side by side with the Python peer, in one run:
#   1. POST /v1/score, one row, 32 connections: Triage (warning log; info log to a file) vs
#      FastAPI + uvicorn + scikit-learn's IsolationForest (2 workers and 1), same model size, same row.
#   2. POST /v1/score, 1 000-row bodies (JSON and CSV): rows scored per second (the peer: JSON).
#   3. POST /v1/metrics, 1 000-row bodies posted once each in order (server_load/ingest.py says why
#      not wrk): metric rows ingested per second into the engine (JSON and CSV bodies).
#   4. Mixed load (score, ingest, list, approve, /metrics, SSE subscribers) for MIXED_SECONDS:
#      non-2xx answers and the server's VmRSS each second.
# Server and load generator share this machine (loopback). Prints a table; appends nothing.
#
# Environment: TRIAGE_BIN (a built triage; default: swift build -c release), TRIAGE_VENV (the
# Python venv, default benchmarks/.venv), SECONDS_PER_RUN (10), MIXED_SECONDS (60), SERVICES (50),
# DAYS (7: SERVICES × DAYS × 1440 metric rows to ingest from), INGEST_ROWS (300 000: the first rows
# of that file posted by the ingest runs), PORT (18480, and the next one for the peer), REPEATS (3:
# timed wrk runs per load, after a 3 s warm-up; the table shows the median run and lists all).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/benchmarks/server_load
RUN_SECONDS=${SECONDS_PER_RUN:-10}
REPEATS=${REPEATS:-3}
MIXED_SECONDS=${MIXED_SECONDS:-60}
SERVICES=${SERVICES:-50}
DAYS=${DAYS:-7}
INGEST_ROWS=${INGEST_ROWS:-300000}
PORT=${PORT:-18480}
PEER_PORT=$((PORT + 1))
TREES=100
SAMPLE_SIZE=256

if ! command -v wrk >/dev/null; then
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
VENV=${TRIAGE_VENV:-$ROOT/benchmarks/.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# Installed once per content of the requirements (the stamp convention of benchmarks/env.sh,
# whose full peer set and triage-bench build this benchmark does not need).
STAMP="$VENV/.installed-$(sha256sum "$HERE/requirements.txt" | cut -c1-16)"
if [ ! -f "$STAMP" ]; then "$VENV/bin/pip" install -q -r "$HERE/requirements.txt" >&2 && touch "$STAMP"; fi
PY=$VENV/bin/python
if [ -z "${TRIAGE_BIN:-}" ]; then
  (cd "$ROOT" && swift build -c release --product triage >&2)
  TRIAGE_BIN=$ROOT/.build/release/triage
fi
TRIAGE=$TRIAGE_BIN

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# start_server LOG URL CMD...: runs CMD in the background, waits (30 s at most) until URL/healthz answers.
start_server() {
  local logfile=$1 url=$2
  shift 2
  "$@" >"$logfile" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$logfile" >&2; echo "server did not start" >&2; exit 1; }
    sleep 0.1
  done
  echo "server did not answer in 30 s" >&2
  exit 1
}
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

# bench NAME URL BODY CONTENT_TYPE CONNECTIONS: one wrk run; keeps its RESULT line under NAME.
declare -A RESULTS ALL_RPS
# A 3 s warm-up (connections, caches, the allocator's arenas: the first seconds after a server
# starts or the data preparation ends ran 10-15 % slower), then REPEATS timed runs; the median
# run by req/s is the result, and every run's req/s is listed.
bench() {
  local name=$1 url=$2 body=$3 type=$4 connections=$5 out runs=() r
  BODY=$body CONTENT_TYPE=$type wrk -t 2 -c "$connections" -d 3s -s "$HERE/post.lua" "$url/v1/score" >/dev/null
  for r in $(seq "$REPEATS"); do
    out=$(BODY=$body CONTENT_TYPE=$type wrk -t 2 -c "$connections" -d "${RUN_SECONDS}s" --latency \
            -s "$HERE/post.lua" "$url/v1/score")
    echo "$out" >"$WORK/wrk-$name-$r.txt"
    runs+=("$(echo "$out" | grep '^RESULT' | cut -d' ' -f2-)")
  done
  RESULTS[$name]=$(printf '%s\n' "${runs[@]}" | sort -t= -k2 -n | sed -n "$(( (REPEATS + 1) / 2 ))p")
  ALL_RPS[$name]=$(printf '%s\n' "${runs[@]}" | tr ' ' '\n' | grep '^rps=' | cut -d= -f2 | paste -sd/)
  log "$name: median ${RESULTS[$name]} (runs: ${ALL_RPS[$name]} req/s)"
}
field() { echo "${RESULTS[$1]}" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }

log "data: simulate $SERVICES services (7 days to train, $DAYS days to ingest), train, fit"
"$TRIAGE" simulate --output "$WORK/train" --services "$SERVICES" --days 7 --seed 0 >/dev/null
"$TRIAGE" simulate --output "$WORK/live" --services "$SERVICES" --days "$DAYS" --seed 1 >/dev/null
"$TRIAGE" train --metrics "$WORK/train/metrics.csv" --incidents "$WORK/train/incidents.csv" \
  --output "$WORK/bundle" --seed 0 >/dev/null
"$PY" "$HERE/prepare.py" "$WORK/train/metrics.csv" "$WORK" "$TREES" "$SAMPLE_SIZE"
"$TRIAGE" fit iforest "$WORK/features.csv" --output "$WORK/model.triage" --trees "$TREES" \
  --sample-size "$SAMPLE_SIZE" --seed 0 >/dev/null
TOKEN=bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
echo "$TOKEN bench" >"$WORK/tokens"
chmod 600 "$WORK/tokens"
echo bench >"$WORK/approvers.txt"
URL=http://127.0.0.1:$PORT
PEER_URL=http://127.0.0.1:$PEER_PORT

log "triage serve --model MODEL --log-level warning"
start_server "$WORK/serve.log" "$URL" "$TRIAGE" serve --model "$WORK/model.triage" --port "$PORT" --log-level warning
bench triage-one "$URL" "$WORK/one.json" application/json 32
bench triage-batch-json "$URL" "$WORK/batch.json" application/json 4
bench triage-batch-csv "$URL" "$WORK/batch.csv" text/csv 4
RSS_SCORE=$(grep VmRSS "/proc/$SERVER_PID/status" | awk '{print $2}')
stop_server

log "triage serve --model MODEL (default info log, one line per request, to a file)"
start_server "$WORK/serve-info.log" "$URL" "$TRIAGE" serve --model "$WORK/model.triage" --port "$PORT"
bench triage-one-info "$URL" "$WORK/one.json" application/json 32
stop_server
INFO_LINES=$(grep -c 'request' "$WORK/serve-info.log" || true)

for workers in 2 1; do
  log "peer: uvicorn --workers $workers --log-level warning (FastAPI + scikit-learn IsolationForest)"
  start_server "$WORK/peer.log" "$PEER_URL" env PEER_MODEL="$WORK/peer_model.pkl" "$VENV/bin/uvicorn" \
    --app-dir "$HERE" peer_app:app --host 127.0.0.1 --port "$PEER_PORT" --workers "$workers" --log-level warning
  bench "peer$workers-one" "$PEER_URL" "$WORK/one.json" application/json 32
  [ "$workers" = 2 ] && bench peer2-batch-json "$PEER_URL" "$WORK/batch.json" application/json 4
  stop_server
done

for form in json csv; do
  log "ingest ($form bodies): triage serve --model BUNDLE --db (fresh) --token-file"
  start_server "$WORK/serve-ingest-$form.log" "$URL" "$TRIAGE" serve --model "$WORK/bundle" --db "$WORK/ingest-$form.sqlite" \
    --token-file "$WORK/tokens" --approvers "$WORK/approvers.txt" --port "$PORT" --log-level warning
  RESULTS[ingest-$form]=$(cd "$HERE" && "$PY" ingest.py 127.0.0.1 "$PORT" "$TOKEN" "$WORK/live/metrics.csv" 4 "$form" "$INGEST_ROWS" | grep '^RESULT' | cut -d' ' -f2-)
  log "ingest-$form: ${RESULTS[ingest-$form]}"
  stop_server
done

log "mixed load, $MIXED_SECONDS s: wrk one-row scores (8 connections) + ingest (5 000 rows/s), list, approve, /metrics, 4 SSE subscribers"
# The approver here approves every pending recommendation at once, far beyond the default rate
# caps (20 an hour in all, 3 per service: past them an approval is refused with 409 `held`, the
# guards failing closed, issue 16); the caps are raised so every approval is a valid request.
start_server "$WORK/serve-mixed.log" "$URL" "$TRIAGE" serve --model "$WORK/bundle" --db "$WORK/mixed.sqlite" \
  --token-file "$WORK/tokens" --approvers "$WORK/approvers.txt" --port "$PORT" --log-level warning \
  --max-approvals-per-hour 100000 --max-approvals-per-service-per-hour 100000
(BODY=$WORK/one_metric.json CONTENT_TYPE=application/json wrk -t 1 -c 8 -d "${MIXED_SECONDS}s" --latency \
   -s "$HERE/post.lua" "$URL/v1/score" >"$WORK/wrk-mixed.txt") &
WRK_PID=$!
MIXED=$(cd "$HERE" && "$PY" mixed.py 127.0.0.1 "$PORT" "$TOKEN" "$SERVER_PID" "$WORK/live/metrics.csv" "$MIXED_SECONDS")
wait "$WRK_PID"
stop_server
RESULTS[mixed-score]=$(grep '^RESULT' "$WORK/wrk-mixed.txt" | cut -d' ' -f2-)
echo "$MIXED" | grep -v '^RESULT' >&2
RESULTS[mixed]=$(echo "$MIXED" | grep '^RESULT' | cut -d' ' -f2-)

rows_per_s() { echo "$(field "$1" rps) * 1000" | bc; }
ratio() { echo "scale=1; $(field "$1" rps) / $(field "$2" rps)" | bc; }
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Model: isolation forest, $TREES trees, sample size $SAMPLE_SIZE, 7 features; wrk -t 2, ${RUN_SECONDS} s per run"
echo "wrk: 3 s warm-up, then $REPEATS runs per load; the median run (by req/s) is shown, all runs' req/s at the right"
printf '%-58s %12s %9s %9s %7s  %s\n' "run" "req/s" "p50 ms" "p99 ms" "non-2xx" "runs (req/s)"
for name in triage-one triage-one-info peer2-one peer1-one triage-batch-json triage-batch-csv peer2-batch-json; do
  printf '%-58s %12s %9s %9s %7s  %s\n' "$name" "$(field "$name" rps)" "$(field "$name" p50_ms)" "$(field "$name" p99_ms)" "$(field "$name" non2xx)" "${ALL_RPS[$name]}"
done
echo
echo "one row, 32 connections: Triage / peer (2 workers) = $(ratio triage-one peer2-one)x, / peer (1 worker) = $(ratio triage-one peer1-one)x"
echo "1 000-row batches: Triage JSON $(rows_per_s triage-batch-json) rows/s, CSV $(rows_per_s triage-batch-csv) rows/s; peer JSON $(rows_per_s peer2-batch-json) rows/s"
echo "ingest of the first $INGEST_ROWS rows, 1 000-row batches, 4 ordered connections: JSON ${RESULTS[ingest-json]}; CSV ${RESULTS[ingest-csv]}"
echo "info log to a file: $INFO_LINES lines written; server RSS after the scoring runs: $((RSS_SCORE / 1024)) MiB"
echo "mixed load: wrk scores ${RESULTS[mixed-score]}; other routes ${RESULTS[mixed]}"
