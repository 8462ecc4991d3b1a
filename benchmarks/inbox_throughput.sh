#!/usr/bin/env bash
# Throughput of the replicas' metrics inbox (issue 18) on a throwaway PostgreSQL (Unix socket,
# as the tests use): rows appended per second in batches of 1 and 100 over 50 services, by one
# appender and two at once, and rows consumed per second by the owner (500 rows per fenced
# checkpoint). 3 rounds, medians, the test process's CPU seconds. Figures in BENCHMARKS.md,
# "Replicas: the metrics inbox". Uses the test build (`swift build --build-tests`, debug by
# default; pass `-c release` to build and run the release test build instead).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests "$@"
TRIAGE_INBOX_BENCH=1 bash scripts/with-postgres.sh swift test --skip-build "$@" --filter InboxThroughputTests 2>&1 | grep -E "inbox-bench|✘|error"
