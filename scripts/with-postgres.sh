#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server: Debian's postgresql binaries, `initdb` in a
# temporary folder, `pg_ctl` listening on a Unix socket only (listen_addresses=''), stopped and
# removed afterwards whatever happens. The command finds the server in TRIAGE_TEST_POSTGRES_URL
# (postgres://triage@/postgres?host=SOCKET_FOLDER: the superuser `triage`, trusted on the socket).
# The role `triage_password` alone must give a SCRAM password (the wrong-password test sets it).
#
#   bash scripts/with-postgres.sh swift test --skip-build
#
# initdb refuses to run as root, so as root the server runs as the `postgres` account that
# Debian's package creates.
set -euo pipefail
if [ $# -eq 0 ]; then echo "usage: $0 COMMAND [ARG...]" >&2; exit 64; fi

bin=""
for candidate in /usr/lib/postgresql/*/bin; do
  [ -x "$candidate/initdb" ] && bin=$candidate   # the newest version sorts last
done
if [ -z "$bin" ]; then
  echo "error: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (scripts/setup.sh installs the postgresql package)" >&2
  exit 1
fi

run_as=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres > /dev/null 2>&1 || { echo "error: running as root and there is no postgres account to run the server" >&2; exit 1; }
  run_as=(runuser -u postgres --)
fi

# Under /tmp when the server runs as another account: it must reach its folder, and a private
# TMPDIR (under /root, say) would hide it.
if [ ${#run_as[@]} -gt 0 ]; then base=/tmp; else base=${TMPDIR:-/tmp}; fi
root=$(mktemp -d "$base/triage-pg.XXXXXX")
data=$root/data
socket=$root/socket
mkdir -p "$socket"
[ ${#run_as[@]} -gt 0 ] && chown -R postgres "$root"
stop() {
  "${run_as[@]}" "$bin/pg_ctl" -D "$data" -m immediate stop > /dev/null 2>&1 || true
  rm -rf "$root"
}
trap stop EXIT
trap 'exit 130' INT TERM

"${run_as[@]}" "$bin/initdb" -D "$data" -U triage --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 > "$root/initdb.log" 2>&1 || {
  cat "$root/initdb.log" >&2; exit 1; }
# First match wins: the password role, then everyone else trusted (local socket only).
cat > "$data/pg_hba.conf" <<'HBA'
local all triage_password scram-sha-256
local all all trust
HBA
[ ${#run_as[@]} -gt 0 ] && chown postgres "$data/pg_hba.conf"
# fsync off: a test server thrown away afterwards need not survive a power cut, and its tests
# should not wait for the disk.
if ! "${run_as[@]}" "$bin/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 \
     -o "-c listen_addresses='' -k $socket -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
     start > /dev/null; then
  cat "$root/server.log" >&2
  exit 1
fi
echo "postgres: $("$bin/postgres" --version) on $socket" >&2

export TRIAGE_TEST_POSTGRES_URL="postgres://triage@/postgres?host=$socket"
status=0
"$@" || status=$?
exit $status
