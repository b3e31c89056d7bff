#!/usr/bin/env bash
# Prints the URL of a PostgreSQL that `make run` or `make test` can use,
# starting one when needed. Everything it starts lives under .data/ (ignored).
#
#   .ci/localpg.sh run    URL of the `erhverv` database: $DATABASE_URL if set,
#                         else the server on 127.0.0.1:5432 if it answers (the
#                         database is created), else a project-local cluster
#                         in .data/pg on port 5433.
#   .ci/localpg.sh test   URL of a server where tests may create databases:
#                         $ERHVERV_TEST_DATABASE_URL if set, else a throwaway
#                         cluster in .data/pgtest on port 55432 with fsync off
#                         (test data need not survive a crash, and creating a
#                         database per test is several times faster).
#   .ci/localpg.sh stop   stops the project-local clusters.
set -euo pipefail
cd "$(dirname "$0")/.."
# Never wait at a password prompt: a server that wants one is not ours to use.
export PGCONNECT_TIMEOUT=5
root=$(pwd)

say() { echo "localpg: $*" >&2; }

pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing PostgreSQL from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
    d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    echo "$d"; return
  fi
  echo "localpg: PostgreSQL is not installed: install it (Debian: apt-get install postgresql) or set DATABASE_URL" >&2
  exit 1
}

# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# 'postgres' system user (made if missing).
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# ensure_cluster DIR PORT [extra server options]
ensure_cluster() {
  local dir=$1 port=$2; shift 2
  local bin; bin=$(pg_bindir)
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then return; fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir" 2>/dev/null || { as_owner true; chown postgres "$dir"; }
    if ! runuser -u postgres -- test -x "$dir"; then
      echo "localpg: the postgres user cannot reach $dir (a parent folder is private): clone the project elsewhere or set DATABASE_URL / ERHVERV_TEST_DATABASE_URL" >&2
      exit 1
    fi
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in ${dir#"$root"/}"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  say "starting PostgreSQL on 127.0.0.1:$port"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $*" >/dev/null
}

case "${1:-}" in
  run)
    if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; exit 0; fi
    if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 && psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
      host=127.0.0.1 port=5432
    else
      ensure_cluster "$root/.data/pg" 5433
      host=127.0.0.1 port=5433
    fi
    bin=$(pg_bindir)
    if ! "$bin/psql" -w -h $host -p $port -U postgres -d postgres -Atqc "select 1 from pg_database where datname='erhverv'" | grep -q 1; then
      "$bin/createdb" -w -h $host -p $port -U postgres erhverv
      say "created database erhverv on $host:$port"
    fi
    echo "postgres://postgres@$host:$port/erhverv?sslmode=disable"
    ;;
  test)
    if [ -n "${ERHVERV_TEST_DATABASE_URL:-}" ]; then echo "$ERHVERV_TEST_DATABASE_URL"; exit 0; fi
    ensure_cluster "$root/.data/pgtest" 55432 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300
    echo "postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable"
    ;;
  stop)
    bin=$(pg_bindir)
    for d in "$root/.data/pg" "$root/.data/pgtest"; do
      [ -f "$d/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$d/data" -m fast stop >/dev/null && say "stopped ${d#"$root"/}"
    done
    exit 0
    ;;
  *)
    echo "usage: .ci/localpg.sh run|test|stop" >&2; exit 2 ;;
esac
