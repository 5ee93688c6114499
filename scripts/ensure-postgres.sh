#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the registry tests (Debian's package).
# Prints the SQLAlchemy URL on its last line. Idempotent; exits non-zero with a reason when
# PostgreSQL cannot be had here (not root and not installed).
set -euo pipefail
PORT="${CCB_TEST_POSTGRES_PORT:-55432}"
DIR="${CCB_TEST_POSTGRES_DIR:-/tmp/ccb-postgres}"
URL="postgresql+psycopg2://ccb@127.0.0.1:${PORT}/ccb"

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(pgbin)" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-postgres: PostgreSQL is not installed and this is not root; skipping" >&2
    exit 3
  fi
  echo "ensure-postgres: installing Debian's postgresql" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
fi
BIN="$(pgbin)"
RUNAS=()
[ "$(id -u)" = 0 ] && RUNAS=(runuser -u postgres --)

if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    "${RUNAS[@]}" "$BIN/initdb" -D "$DIR" -A trust -U postgres >/dev/null
  fi
  "${RUNAS[@]}" "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k /tmp" start >/dev/null
  echo "ensure-postgres: started PostgreSQL on 127.0.0.1:$PORT" >&2
fi
"$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc \
  "SELECT 1 FROM pg_roles WHERE rolname='ccb'" | grep -q 1 ||
  "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE ROLE ccb LOGIN CREATEDB"
"$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname='ccb'" | grep -q 1 ||
  "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE ccb OWNER ccb"
echo "$URL"
