#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, a package of its own: the normal build and CI never
# see them) and runs each for SECONDS (default 60), one after another, or FUZZ_JOBS at a time.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     harnesses: csv metrics_row timestamp model_file
#                                              bundle incident_log approvals json_rows (default: all)
#   FUZZ_NO_BUILD=1   skip the build          FUZZ_JOBS=2   harnesses run side by side
#   FUZZ_KEEP_GOING=1 libFuzzer's fork mode: a crash is saved and fuzzing goes on (to look past
#                     a known crash for others); the table then counts crashes, timeouts, OOMs
#   FUZZ_SKIP_STRAY_QUOTES=1  the CSV harness sets aside inputs with a quote inside an unquoted
#                     field (a known defect class) and fuzzes everything else
#
# Each harness starts from its seed corpus (fuzz/corpus/NAME, committed) plus what earlier runs
# found (fuzz/runs/NAME/corpus, not committed). A crash, trap, sanitizer report, timeout (10 s
# per input) or memory blow-up (2 GB) stops that harness; its input is saved as
# fuzz/crashes-new/NAME-crash-… (replay: fuzz/.build-fuzz/release/FuzzX FILE). Prints
# executions, coverage (cov = edges, ft = features) and crashes per harness; exits 1 on any crash.
set -uo pipefail
# The Swift runtime's backtracer can hang around crashed sanitizer processes; libFuzzer reports
# crashes itself.
export SWIFT_BACKTRACE=enable=no
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
all=(csv metrics_row timestamp model_file bundle incident_log approvals json_rows)
harnesses=("${@:-${all[@]}}")
[ $# -eq 0 ] && harnesses=("${all[@]}")

binary() {
    case $1 in
        csv) echo FuzzCSV ;; metrics_row) echo FuzzMetricsRow ;; timestamp) echo FuzzTimestamp ;;
        model_file) echo FuzzModelFile ;; bundle) echo FuzzBundle ;; incident_log) echo FuzzIncidentLog ;;
        approvals) echo FuzzApprovals ;; json_rows) echo FuzzJSONRows ;; *) echo "unknown harness '$1' (one of: ${all[*]})" >&2; exit 64 ;;
    esac
}
for h in "${harnesses[@]}"; do binary "$h" > /dev/null || exit 64; done

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    echo "building fuzz harnesses (release, -sanitize=fuzzer,address) in fuzz/.build-fuzz …"
    swift build -c release --scratch-path .build-fuzz \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing 2>&1 \
        | grep -v "warning: Cannot export local symbol" | grep -E "error|warning:|Build complete" | tail -20
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "error: fuzz build failed" >&2; exit 1; }
fi

mkdir -p crashes-new
run() {
    local h=$1 bin work
    bin=.build-fuzz/release/$(binary "$h")
    work=runs/$h
    mkdir -p "$work/corpus"
    # Leaks are not checked: Swift's runtime caches (metadata, Foundation singletons) look like
    # leaks to LeakSanitizer at exit; ASan still catches every invalid access.
    local extra=()
    [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -detect_leaks=0 \
        "${extra[@]}" -artifact_prefix="crashes-new/$h-" "$work/corpus" "corpus/$h" > "$work/log" 2>&1
    echo $? > "$work/rc"
}

pids=()
for h in "${harnesses[@]}"; do
    rm -f "runs/$h/rc"
    run "$h" &
    pids+=($!)
    while [ "$(jobs -rp | wc -l)" -ge "${FUZZ_JOBS:-1}" ]; do sleep 1; done
done
wait

status=0
printf '%-13s %12s %8s %8s %8s  %s\n' harness executions exec/s cov ft result
for h in "${harnesses[@]}"; do
    log=runs/$h/log
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    [ -z "$runs" ] && runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    took=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second|time: [0-9]+s' "$log" | tail -1 | grep -oE '[0-9]+ second|[0-9]+s$' | tr -dc 0-9)
    speed=$([ -n "$runs" ] && [ "${took:-0}" -gt 0 ] && echo $((runs / took)))
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    # Fork mode goes on after a crash and counts them: "oom/timeout/crash: 0/0/3".
    forked=$(grep -oE 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' "$log" | tail -1 | awk '{print $2}')
    if [ -n "$forked" ] && [ "$forked" != 0/0/0 ]; then
        status=1
        result="FAILURES oom/timeout/crash $forked → fuzz/crashes-new/$h-*"
    elif [ "$(cat "runs/$h/rc")" = 0 ]; then
        result=ok
    else
        status=1
        kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|libFuzzer): [a-z-]+|Fatal error: [^:]*|deadly signal|out-of-memory|timeout' "$log" | head -1)
        artifact=$(grep -oE "crashes-new/$h-[a-z-]+-[0-9a-f]+" "$log" | tail -1)
        result="CRASH ($kind) → fuzz/$artifact"
    fi
    printf '%-13s %12s %8s %8s %8s  %s\n' "$h" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
exit $status
