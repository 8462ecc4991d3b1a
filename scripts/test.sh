#!/usr/bin/env bash
# The test command of README: installs dependencies, builds, runs the whole suite. The store
# conformance suite runs against SQLite and a real PostgreSQL that scripts/with-postgres.sh starts
# on a Unix socket and stops afterwards; TRIAGE_REQUIRE_POSTGRES=1 makes a missing server a
# failure, so this script (and CI, which runs it) can never skip the PostgreSQL suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
export TRIAGE_REQUIRE_POSTGRES=1
bash scripts/with-postgres.sh swift test --skip-build
