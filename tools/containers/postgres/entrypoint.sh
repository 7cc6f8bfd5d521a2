#!/bin/bash
# Entrypoint of the local PostgreSQL image (make-postgres-image.sh): the subset of the official postgres
# image's behaviour the compose stack relies on, so either image runs from the same environment.
#  - Runs as the postgres user (the image's USER), never root.
#  - POSTGRES_PASSWORD_FILE: the password read from that file (a mounted secret), as the official image does;
#    never together with POSTGRES_PASSWORD.
#  - First start (no PG_VERSION in PGDATA): initdb as POSTGRES_USER (default postgres) with
#    POSTGRES_INITDB_ARGS, POSTGRES_PASSWORD when given, a pg_hba.conf line `host all all all
#    <POSTGRES_HOST_AUTH_METHOD, default scram-sha-256>` (without a password only trust is accepted, as the
#    official image refuses to start otherwise), listen_addresses '*'; then, on a server that listens on its
#    socket only, CREATE DATABASE POSTGRES_DB and any /docker-entrypoint-initdb.d/*.sql; later starts skip it.
#  - Later starts with a POSTGRES_HOST_AUTH_METHOD other than trust refuse a PGDATA whose pg_hba.conf still
#    trusts network clients (a volume initialised with trust): the password would not be asked for.
#  - Then the server replaces this shell (exec): it is PID 1 and gets SIGTERM itself (smart shutdown).
set -euo pipefail
if [[ "${1:-}" == -* ]]; then set -- postgres "$@"; fi
[[ "${1:-}" == postgres ]] || exec "$@"

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
[[ "$(id -u)" != 0 ]] || { echo "this image runs PostgreSQL as the postgres user, not root" >&2; exit 1; }

if [[ -n "${POSTGRES_PASSWORD_FILE:-}" ]]; then
  [[ -z "${POSTGRES_PASSWORD:-}" ]] || { echo "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set: give the password one way only" >&2; exit 1; }
  [[ -f "$POSTGRES_PASSWORD_FILE" && -r "$POSTGRES_PASSWORD_FILE" ]] ||
    { echo "POSTGRES_PASSWORD_FILE: cannot read $POSTGRES_PASSWORD_FILE as uid $(id -u) (missing, not a file, or not readable)" >&2; exit 1; }
  # $(...) drops the trailing newline(s) `echo pw > file` adds, as the official image's file_env does.
  POSTGRES_PASSWORD="$(<"$POSTGRES_PASSWORD_FILE")"
  [[ -n "$POSTGRES_PASSWORD" ]] || { echo "POSTGRES_PASSWORD_FILE: $POSTGRES_PASSWORD_FILE is empty" >&2; exit 1; }
  unset POSTGRES_PASSWORD_FILE
fi

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$method" != trust ]]; then
    echo "no POSTGRES_PASSWORD: set one, or POSTGRES_HOST_AUTH_METHOD=trust (any client of the network gets in)" >&2
    exit 1
  fi
  echo "initdb $PGDATA (user $user, database $db, host auth $method)"
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile=()
  if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    (umask 077 && printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pwfile)
    pwfile=(--pwfile=/tmp/pwfile)
  fi
  # Word splitting on purpose: POSTGRES_INITDB_ARGS holds several arguments, as with the official image.
  # shellcheck disable=SC2086
  initdb -D "$PGDATA" -U "$user" --auth-local=trust --auth-host="$method" --encoding=UTF8 --locale=C.UTF-8 "${pwfile[@]}" ${POSTGRES_INITDB_ARGS:-}
  rm -f /tmp/pwfile
  printf '\n# container: every client of the network, as the official image\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"
  # jit off: the image carries no LLVM (llvmjit.so is left out).
  printf "\n# container\nlisten_addresses = '*'\njit = off\n" >>"$PGDATA/postgresql.conf"

  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start
  if [[ "$db" != postgres ]]; then
    psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -q -c "CREATE DATABASE \"$db\""
  fi
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [[ -f "$f" ]] || continue
    echo "running $f"
    psql -v ON_ERROR_STOP=1 -U "$user" -d "$db" -q -f "$f"
  done
  pg_ctl -D "$PGDATA" -w -m fast stop
  echo "PostgreSQL init done"
else
  # The image has no grep: bash's own matching. Uncommented host* lines whose method is trust.
  trusted=()
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" =~ ^[[:space:]]*host(ssl|nossl|gssenc|nogssenc)?[[:space:]].*[[:space:]]trust([[:space:]]|$) ]]; then trusted+=("  $line"); fi
  done <"$PGDATA/pg_hba.conf"
  if [[ "$method" != trust && ${#trusted[@]} -gt 0 ]]; then
    echo "POSTGRES_HOST_AUTH_METHOD is $method, but $PGDATA/pg_hba.conf lets network clients in without a password (trust):" >&2
    printf '%s\n' "${trusted[@]}" >&2
    echo "the data volume was initialised with trust: start over with a new volume (its data is lost), or set a password and change those lines to scram-sha-256 (deploy/README.md)" >&2
    exit 1
  fi
fi
# The server's environment keeps no password.
unset POSTGRES_PASSWORD
exec "$@"
