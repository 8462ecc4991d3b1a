#!/usr/bin/env bash
# Seeded black-box mutation run over `fit`, `score`, `inspect`, `watch` and `watch --model`:
#   scripts/mutation_run.sh [CASES=4000] [SEED=14] [--binary PATH] [--timeout S] [--jobs N] [--out DIR]
# Uses .build/debug/triage unless --binary is given (e.g. .build/release/triage). Prints a table
# of ok / clean_error / CRASH / HANG / DIRTY per command (definitions in scripts/mutation_run.py)
# and copies every CRASH, HANG and DIRTY case, replayable, under mutation-failures/. Exits 1
# when there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/mutation_run.py "$@"
