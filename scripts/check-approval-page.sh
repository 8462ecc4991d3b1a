#!/usr/bin/env bash
# Real-browser check of the approval page (README "The approval page"): starts `triage serve` on
# simulated data and chromedriver, drives headless Chromium with scripts/check_approval_page.py
# (standard-library Python, W3C WebDriver), and saves docs/approval-page.png and
# docs/approval-page-phone.png. Exit 0 when every check passed, 1 with the reason otherwise.
#
#   bash scripts/check-approval-page.sh                 # builds the debug binary first
#   TRIAGE_BIN=.build/release/triage bash scripts/check-approval-page.sh
#
# Needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver);
# installs nothing itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

fail() { echo "check-approval-page: $*" >&2; exit 1; }

for command in chromium chromedriver python3; do
  command -v "$command" >/dev/null 2>&1 \
    || fail "$command not found: install Debian's packages with: apt-get install -y chromium chromium-driver python3"
done

if [ -n "${TRIAGE_BIN:-}" ]; then
  triage=$TRIAGE_BIN
else
  swift build --product triage >&2
  triage="$(swift build --show-bin-path)/triage"
fi
[ -x "$triage" ] || fail "no triage binary at $triage"

work=$(mktemp -d)
server_pid="" driver_pid=""
cleanup() {
  # Only the two processes this script started, by their ids.
  for pid in $server_pid $driver_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for() {  # URL WHAT LOG
  for _ in $(seq 1 100); do
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "--- $3" >&2; tail -20 "$3" >&2 || true
  fail "$2 did not answer at $1"
}

echo "check-approval-page: preparing data in $work" >&2
"$triage" simulate --services 3 --days 2 --seed 1 --output "$work/sim" >/dev/null
"$triage" train --metrics "$work/sim/metrics.csv" --incidents "$work/sim/incidents.csv" --output "$work/bundle" --seed 1 >/dev/null
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
printf '%s alice\n' "$token" > "$work/tokens"
chmod 600 "$work/tokens"
echo alice > "$work/approvers.txt"

port=$(free_port)
"$triage" serve --model "$work/bundle" --db "$work/queue.sqlite" --token-file "$work/tokens" \
  --approvers "$work/approvers.txt" --host 127.0.0.1 --port "$port" > "$work/serve.log" 2>&1 &
server_pid=$!
wait_for "http://127.0.0.1:$port/healthz" "triage serve" "$work/serve.log"

driver_port=$(free_port)
chromedriver --port="$driver_port" > "$work/chromedriver.log" 2>&1 &
driver_pid=$!
wait_for "http://127.0.0.1:$driver_port/status" "chromedriver" "$work/chromedriver.log"

mkdir -p "$root/docs"
python3 "$root/scripts/check_approval_page.py" \
  --base "http://127.0.0.1:$port" --driver "http://127.0.0.1:$driver_port" --token "$token" \
  --metrics "$work/sim/metrics.csv" --db "$work/queue.sqlite" --outbox "$work/outbox.jsonl" --triage "$triage" \
  --screenshot "$root/docs/approval-page.png" --phone-screenshot "$root/docs/approval-page-phone.png" \
  || { echo "--- triage serve log (last lines)" >&2; tail -20 "$work/serve.log" >&2; exit 1; }
