#!/usr/bin/env bash
# Issue 16, "Guards do not cost detection": the engine check (an unseen simulator seed, 14 days,
# 8 services, the shipped bundle models/simulated) scored by `triage evaluate` for main's build
# and this build side by side, then for this build with a circuit breaker forced open for every
# service's best action (the `best_action` most of its faults in truth.json have; over 14 days
# each service has faults of every kind, so forcing all of them would leave nothing to raise):
# no recommendation of a forced action may be raised while its breaker is open.
#   usage: TRIAGE=path/to/triage TRIAGE_MAIN=path/to/main/triage benchmarks/guards_check.sh [SEED]   (default 3)
# Both binaries should be release builds of the same machine; the figures do not depend on timing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TRIAGE:?path to this branch's triage}" "${TRIAGE_MAIN:?path to main's triage}"
SEED=${1:-3}
W=${TRIAGE_GUARDS_WORK:-$ROOT/benchmarks/data/guards_check}
rm -rf "$W"; mkdir -p "$W"
BUNDLE=$ROOT/models/simulated
echo "machine: $(nproc) cores, $(uname -m); $(date -u +%Y-%m-%dT%H:%MZ)"
"$TRIAGE" simulate --output "$W/live" --seed "$SEED" --services 8 --days 14 --quiet
score() {  # score NAME EVENTS: one line of evaluate's figures
  "$1" evaluate --events "$2" --truth "$W/live/truth.json" --json \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print("recall %.4f precision %.4f action_accuracy %.4f" % (d["recall"], d["precision"], d["action_accuracy"]))'
}
for build in main guards; do
  bin=$TRIAGE; [ "$build" = main ] && bin=$TRIAGE_MAIN
  "$bin" watch "$W/live/metrics.csv" --model "$BUNDLE" --db "$W/$build.sqlite" --events "$W/$build.jsonl" --ttl 1d 2> /dev/null
  echo "$build: $(score "$bin" "$W/$build.jsonl")"
done

# Forced open: the queue is created by a run over the header alone, the breakers written into
# it (open now, retry in a day, matching --breaker-wait 1d), then the whole file is watched.
head -1 "$W/live/metrics.csv" > "$W/header.csv"
"$TRIAGE" watch "$W/header.csv" --model "$BUNDLE" --db "$W/forced.sqlite" --breaker-wait 1d 2> /dev/null
python3 - "$W/live/truth.json" "$W/forced.sqlite" > "$W/forced.txt" <<'PY'
import json, sqlite3, sys, time
truth = json.load(open(sys.argv[1]))["faults"]
from collections import Counter
counts = Counter((f["service"], f["best_action"]) for f in truth)
services = sorted({f["service"] for f in truth})
# Each service's most frequent best action (ties: the first by name).
forced = [(s, min((a for (t, a) in counts if t == s), key=lambda a: (-counts[(s, a)], a))) for s in services]
db = sqlite3.connect(sys.argv[2])
now = int(time.time())
for service, action in forced:
    db.execute("INSERT INTO breaker (service, action, state, window, opened_at, retry_at, trial_id, updated_at) "
               "VALUES (?, ?, 'open', 'FFF', ?, ?, NULL, ?)", (service, action, now, now + 86400, now))
db.commit()
for service, action in forced: print(service, action)
PY
echo "forced open: $(wc -l < "$W/forced.txt") breakers ($(tr '\n' ' ' < "$W/forced.txt"))"
"$TRIAGE" watch "$W/live/metrics.csv" --model "$BUNDLE" --db "$W/forced.sqlite" --events "$W/forced.jsonl" --ttl 1d --breaker-wait 1d 2> /dev/null
echo "guards, breakers forced open: $(score "$TRIAGE" "$W/forced.jsonl")"
python3 - "$W/forced.txt" "$W/forced.jsonl" <<'PY'
import json, sys
forced = {tuple(line.split()) for line in open(sys.argv[1]) if line.strip()}
raised = [json.loads(l) for l in open(sys.argv[2]) if '"recommendation"' in l]
raised = [e for e in raised if e.get("type") == "recommendation"]
bad = [e for e in raised if (e["service"], e["action"]) in forced]
said = sum(1 for e in raised if any("circuit breaker" in r for r in e.get("reasons", [])))
print(f"recommendations raised: {len(raised)}; of a forced-open (service, action): {len(bad)}; naming an open breaker in their reasons: {said}")
sys.exit(1 if bad else 0)
PY
"$TRIAGE" breakers --db "$W/forced.sqlite" | head -4
