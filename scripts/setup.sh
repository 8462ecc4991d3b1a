#!/usr/bin/env bash
# Installs what Triage needs on a fresh Debian machine that has Swift: OpenBLAS (and SQLite's
# headers, normally present; curl for the serve tests; PostgreSQL's server for the store tests). Idempotent; quiet when everything is already there.
set -euo pipefail
need=()
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev)
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
# curl: the serve tests talk to a running server with it (and README's examples use it).
command -v curl > /dev/null || need+=(curl)
# PostgreSQL's server: the store conformance suite runs against a real one (scripts/with-postgres.sh).
compgen -G '/usr/lib/postgresql/*/bin/initdb' > /dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "installing: ${need[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >&2
fi
