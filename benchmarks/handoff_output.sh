#!/usr/bin/env bash
# The hand-off hook with a command that floods its output (issue 16: "writes 10 MB to stdout"):
# peak resident memory and hand-off time of `triage approvals approve --exec CMD` against a
# Python peer running the same command the usual way (subprocess.run with capture_output),
# side by side, for 0, 10 MB and 100 MB of output. Triage keeps the first KiB and counts the
# rest, so its memory must not grow with the output; the peer holds all of it.
#   usage: benchmarks/handoff_output.sh [REPEATS]   (default 3); ~1 minute
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
REPEATS=${1:-3}
W=$DATA/handoff_output
rm -rf "$W"; mkdir -p "$W"
echo "machine: $(machine)"
"$TRIAGE" demo --output "$W/demo" > /dev/null
DB=$W/demo/triage.sqlite
ME=$(id -un)
read -r -a IDS <<< "$("$TRIAGE" approvals list --db "$DB" --json | "$PY" -c 'import json,sys; print(" ".join(r["id"] for r in json.load(sys.stdin)))')"
need=$((3 * REPEATS))
[ "${#IDS[@]}" -ge "$need" ] || { echo "the demo queue has ${#IDS[@]} pending recommendations, $need needed" >&2; exit 1; }
printf '%-10s %-8s %14s %14s %12s\n' output runner peak_rss_MiB hand_off_ms output_bytes
k=0
for bytes in 0 10000000 100000000; do
  cmd="head -c $bytes /dev/zero"
  for r in $(seq "$REPEATS"); do
    id=${IDS[$k]}; k=$((k + 1))
    # triage: the whole command (approval, outbox, hand-off, audit); the hand-off time is the
    # audit's duration_ms.
    /usr/bin/time -f '%M' -o "$W/rss" "$TRIAGE" approvals approve "$id" --by "$ME" --db "$DB" --exec "$cmd" > /dev/null
    "$TRIAGE" approvals show "$id" --db "$DB" --json > "$W/show.json"
    "$PY" - "$W/show.json" "$W/rss" "$bytes" <<'PY'
import json, sys
record = json.load(open(sys.argv[1])); a = record["handoff"]["attempts"][-1]
rss = int(open(sys.argv[2]).read().split()[-1]) / 1024
print(f"{int(sys.argv[3]) // 1000000:>4} MB    triage   {rss:14.1f} {a['duration_ms']:14d} {a['output_bytes']:12d}")
PY
    # The peer, given the same outbox line and key.
    grep -F "\"id\":\"$id\"" "$W/demo/outbox.jsonl" > "$W/line.json"
    key=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["idempotency_key"])' "$W/line.json")
    /usr/bin/time -f '%M' -o "$W/rss" "$PY" "$BENCH_ROOT/benchmarks/handoff_peer.py" "$cmd" "$W/line.json" "$key" > "$W/peer.json"
    "$PY" - "$W/peer.json" "$W/rss" "$bytes" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); rss = int(open(sys.argv[2]).read().split()[-1]) / 1024
print(f"{int(sys.argv[3]) // 1000000:>4} MB    python   {rss:14.1f} {p['duration_ms']:14d} {p['output_bytes']:12d}")
PY
  done
done
