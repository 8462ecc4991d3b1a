#!/usr/bin/env bash
# Raise and approve throughput of the two recommendation stores, side by side in one run:
# SQLite (ApprovalQueue) and PostgreSQL (a throwaway server on a Unix socket, as the tests use).
# 3 rounds of 2 000 raises and 200 approvals with their outbox lines, stores alternated; prints
# medians and the test process's CPU seconds. Uses the debug test build (`swift build --build-tests`).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
TRIAGE_STORE_BENCH=1 bash scripts/with-postgres.sh swift test --skip-build --filter StoreThroughputTests 2>&1 | grep -E "store-bench|✘"
