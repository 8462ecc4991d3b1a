# Sourced by every benchmark script: a Python virtualenv with the peers, and a release build
# of Triage. Override the venv location with TRIAGE_VENV (e.g. to share one across clones).
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${TRIAGE_VENV:-$BENCH_ROOT/benchmarks/.venv}
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
PY=$VENV/bin/python
bench_requirements() {  # bench_requirements FILE...: install once per file content
  for f in "$@"; do
    local stamp="$VENV/.installed-$(sha256sum "$f" | cut -c1-16)"
    if [ ! -f "$stamp" ]; then "$VENV/bin/pip" install -q -r "$f" >&2 && touch "$stamp"; fi
  done
}
bench_requirements "$BENCH_ROOT/benchmarks/requirements.txt"
# TRIAGE_BUILD_DIR (e.g. .build/debug) uses binaries already built there, skipping the release
# build: for quality runs, whose figures do not depend on the optimiser; never for timings.
if [ -n "${TRIAGE_BUILD_DIR:-}" ]; then
  TRIAGE=$TRIAGE_BUILD_DIR/triage
  TRIAGE_BENCH=$TRIAGE_BUILD_DIR/triage-bench
else
  (cd "$BENCH_ROOT" && swift build -c release --product triage >&2 && swift build -c release --product triage-bench >&2)
  TRIAGE=$BENCH_ROOT/.build/release/triage
  TRIAGE_BENCH=$BENCH_ROOT/.build/release/triage-bench
fi
DATA=$BENCH_ROOT/benchmarks/data
# The shared benchmark data (ADBench, NAB): ../shared beside the clone, or TRIAGE_SHARED.
SHARED=${TRIAGE_SHARED:-}
for candidate in "$BENCH_ROOT/../shared" "$BENCH_ROOT/../../shared"; do
  [ -n "$SHARED" ] || { [ -d "$candidate/datasets" ] && SHARED=$(cd "$candidate" && pwd); }
done
mkdir -p "$DATA"
machine() { echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d)"; }
export PY TRIAGE TRIAGE_BENCH DATA BENCH_ROOT SHARED
