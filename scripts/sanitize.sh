#!/usr/bin/env bash
# Runs the test suite under a sanitizer, in its own build folder so the normal build stays:
#   scripts/sanitize.sh address [swift test args…]   → .build-asan  (AddressSanitizer)
#   scripts/sanitize.sh thread  [swift test args…]   → .build-tsan  (ThreadSanitizer)
# e.g. scripts/sanitize.sh thread --filter ParallelTests. Slow (a cold build of everything, then
# tests several times slower than usual): run it by hand or nightly, not on every CI run.
# The full log is kept in .build-{asan,tsan}/sanitize.log; the end prints every sanitizer report's
# SUMMARY line and the failed tests. Exit status: non-zero when the build fails, a test fails or
# the sanitizer reports anything.
set -uo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
shift || true
case $kind in
    address) scratch=.build-asan ;;
    thread) scratch=.build-tsan ;;
    *) echo "usage: scripts/sanitize.sh address|thread [swift test args…]" >&2; exit 64 ;;
esac
mkdir -p "$scratch"
log=$scratch/sanitize.log
# Swift's runtime keeps caches (type metadata, Foundation singletons) alive to exit, which
# LeakSanitizer would report as leaks; ASan's memory-error checks are what this run is for.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
# Report every race, not only the first, and keep going so one run lists them all.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0}
# The Swift backtracer and the sanitizers both want the crash signals; the sanitizer's report
# is the useful one.
export SWIFT_BACKTRACE=enable=no

echo "building tests with -sanitize=$kind in $scratch (log: $log) …"
swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" > "$log" 2>&1
build=$?
if [ $build != 0 ]; then
    grep -E "error:" "$log" | head -20
    echo "error: sanitizer build failed (see $log)" >&2
    exit 1
fi
echo "running tests under $kind sanitizer …"
swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "$@" >> "$log" 2>&1
tests=$?

reports=$(grep -cE "^(==[0-9]+==ERROR: AddressSanitizer|WARNING: ThreadSanitizer)" "$log")
echo "sanitizer reports: $reports"
grep -E "^SUMMARY: (AddressSanitizer|ThreadSanitizer)" "$log" | sort | uniq -c | sort -rn | head -40
grep -E "✘ Test .* (failed|recorded an issue)|error: .*Test.*failed|Test run with .* (failed|passed)" "$log" | tail -20
[ $tests = 0 ] && [ "$reports" = 0 ]
