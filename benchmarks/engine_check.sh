#!/usr/bin/env bash
# The engine check (issue 16), side by side: this build against a baseline binary (e.g. main's),
# in one run, on the same inputs:
#   1. `triage demo` (4 services, unseen day) → `evaluate --events --truth`;
#   2. 14 days × 8 services of an unseen seed (1) watched with a bundle trained on seed 0
#      (14 days × 8 services) into a queue → `evaluate`;
#   3. scripts/demo.sh's engine step: 2 days × 8 services of seed 1 sampled every 2 min, watched
#      with a bundle trained on the shipped history (datasets/simulated). Slower sampling puts
#      more time between a fault and its first unhealthy row, which is where the critical
#      state's heartbeat rule once turned restarts into alerts (−0.067 action accuracy).
# Prints recall, precision and action accuracy of both and their differences (issue 16: the
# guards, scaling and critical state must keep them within 0.02), plus the scale_down and
# critical counts of this build.
#   usage: TRIAGE_BASE=/path/to/baseline/triage benchmarks/engine_check.sh
# Quality only (no timings): TRIAGE_BUILD_DIR=.build/debug (or .build/release, already built) skips the build.
# Not env.sh: no Python peer is needed (the summary uses the standard library only), so no venv.
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${TRIAGE_BUILD_DIR:-}" ]; then
  TRIAGE=$TRIAGE_BUILD_DIR/triage
else
  (cd "$BENCH_ROOT" && swift build -c release --product triage >&2)
  TRIAGE=$BENCH_ROOT/.build/release/triage
fi
DATA=$BENCH_ROOT/benchmarks/data
PY=python3
machine() { echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%dT%H:%MZ)"; }
BASE=${TRIAGE_BASE:?set TRIAGE_BASE to the baseline triage binary}
W=$DATA/engine_check
rm -rf "$W"; mkdir -p "$W"
echo "machine: $(machine); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "baseline: $BASE"
echo "this:     $TRIAGE"

# Shared inputs for the 14-day check, made once by the baseline (the simulator is unchanged).
"$BASE" simulate --output "$W/train" --seed 0 --services 8 --days 14 --interval 60 --quiet
"$BASE" simulate --output "$W/test" --seed 1 --services 8 --days 14 --interval 60 --quiet
"$BASE" simulate --output "$W/slow" --seed 1 --services 8 --days 2 --interval 120 --quiet

run() {  # run NAME BINARY
  local name=$1 bin=$2
  "$bin" demo --output "$W/demo-$name" --quiet > /dev/null
  "$bin" evaluate --events "$W/demo-$name/events.jsonl" --truth "$W/demo-$name/live/truth.json" --json > "$W/demo-$name.json"
  "$bin" train --metrics "$W/train/metrics.csv" --incidents "$W/train/incidents.csv" --output "$W/bundle-$name" --seed 0 --quiet
  "$bin" watch "$W/test/metrics.csv" --model "$W/bundle-$name" --db "$W/q-$name.sqlite" --events "$W/events-$name.jsonl" --ttl 1d --quiet
  "$bin" evaluate --events "$W/events-$name.jsonl" --truth "$W/test/truth.json" --json > "$W/check-$name.json"
  "$bin" train --metrics "$BENCH_ROOT/datasets/simulated/metrics.csv" --incidents "$BENCH_ROOT/datasets/simulated/incidents.csv" \
    --output "$W/shipped-$name" --seed 0 --quiet
  "$bin" watch "$W/slow/metrics.csv" --model "$W/shipped-$name" --db "$W/qs-$name.sqlite" --events "$W/slow-$name.jsonl" --ttl 1d --quiet
  "$bin" evaluate --events "$W/slow-$name.jsonl" --truth "$W/slow/truth.json" --json > "$W/slow-$name.json"
}
run base "$BASE"
run this "$TRIAGE"

"$PY" - "$W" <<'PYEOF'
import json, sys, collections
w = sys.argv[1]
for label, stem in (("demo (4 services, 1 day)", "demo-"), ("check (8 services, 14 days, seed 1)", "check-"),
                    ("demo.sh engine step (8 services, 2 days at 2 min, seed 1, bundle of datasets/simulated)", "slow-")):
    base = json.load(open(f"{w}/{stem}base.json")); this = json.load(open(f"{w}/{stem}this.json"))
    print(label)
    for k in ("recall", "precision", "action_accuracy"):
        d = this[k] - base[k]
        print(f"  {k:16s} base {base[k]:.3f}  this {this[k]:.3f}  diff {d:+.3f} ({'within 0.02' if abs(d) <= 0.02 else 'OUTSIDE 0.02'})")
    print(f"  recommendations  base {base['recommendations']}  this {this['recommendations']}"
          f" (+ {this.get('scale_down_recommendations', 0)} scale_down, not scored)")
for name in ("demo-this/events.jsonl", "events-this.jsonl", "slow-this.jsonl"):
    causes = collections.Counter(); actions = collections.Counter()
    for line in open(f"{w}/{name}"):
        e = json.loads(line)
        if e["type"] == "state" and e["state"] == "critical": causes[e.get("cause")] += 1
        if e["type"] == "recommendation": actions[e["action"]] += 1
    print(f"{name}: critical escalations {dict(causes)}; recommendations by action {dict(actions)}")
PYEOF
