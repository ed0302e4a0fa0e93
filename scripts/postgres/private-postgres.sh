#!/usr/bin/env bash
# A private PostgreSQL server in a directory of its own, for tests, benches and manual use: never a
# system service, never a shared one. Debian's PostgreSQL 15 binaries, loopback only, fsync on.
#
#   private-postgres.sh start DIR [PORT]   initdb DIR on first use, start, print the URL
#   private-postgres.sh url DIR            print the URL of the server in DIR
#   private-postgres.sh database DIR NAME  create database NAME, print its URL
#   private-postgres.sh stop DIR           fast shutdown; DIR keeps its data (start again, or rm -r DIR)
#   private-postgres.sh kill DIR           SIGKILL the server and its backends (a crash; start recovers)
#   private-postgres.sh pause DIR          SIGSTOP the server: connections stay open, nothing answers
#   private-postgres.sh resume DIR         SIGCONT after pause
#   private-postgres.sh pids DIR           the server's process ids (postmaster first), for CPU accounting
#   private-postgres.sh reap-after PID DIR stop the server and remove DIR once process PID is gone
#
# POSTGRES_BIN overrides /usr/lib/postgresql/15/bin. Extra settings go into DIR/extra.conf (read at
# start). initdb and postgres refuse to run as root; as root (these machines and CI) both run as
# the `postgres` user, which owns DIR.
set -euo pipefail

BIN=${POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
DATABASE=broker

usage() {
  sed -n '5,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# runs a PostgreSQL binary as the user that may run it
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  # the kernel picks a free port; a race with another process is caught by the start retry below
  node -e "const s=require('node:net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

url_of() {
  echo "postgres://postgres@127.0.0.1:$(cat "$1/port")/${2:-$DATABASE}"
}

init_cluster() {
  local dir=$1
  if [ ! -x "$BIN/postgres" ]; then
    echo "private-postgres: no PostgreSQL server at $BIN/postgres (Debian: apt-get install postgresql; or set POSTGRES_BIN)" >&2
    exit 3
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "private-postgres: running as root needs the postgres user (Debian's postgresql package creates it)" >&2; exit 3; }
    chown postgres "$dir"
    as_owner test -w "$dir" || { echo "private-postgres: the postgres user cannot write to $dir (is a parent directory closed to it? TMPDIR=${TMPDIR:-})" >&2; exit 3; }
  fi
  as_owner "$BIN/initdb" --no-sync -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # the data directory keeps these, so a restart needs no options: loopback TCP, the socket in DIR
  # (not /var/run/postgresql, which may not exist), durable commits as in production
  cat >>"$dir/data/postgresql.conf" <<EOF

# private-postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
max_connections = 200
include_if_exists = '$dir/extra.conf'
EOF
  touch "$dir/extra.conf"
}

start() {
  local dir=$1 port=${2:-} retries=1
  [ -d "$dir/data" ] || init_cluster "$dir"
  # a restart keeps its port, so URLs handed out stay valid; only a port of our own choosing is
  # chosen again when another process took it between choosing and binding
  [ -n "$port" ] || { [ -f "$dir/port" ] && port=$(cat "$dir/port"); } || { port=$(free_port); retries=3; }
  local attempt
  for ((attempt = 1; attempt <= retries; attempt++)); do
    [ "$attempt" = 1 ] || port=$(free_port)
    echo "$port" >"$dir/port"
    if as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -o "-p $port" start >/dev/null 2>&1; then
      if [ ! -f "$dir/database-created" ]; then
        as_owner "$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DATABASE"
        touch "$dir/database-created"
      fi
      url_of "$dir"
      return 0
    fi
    grep -q 'could not bind' "$dir/log" 2>/dev/null || break
  done
  echo "private-postgres: the server in $dir did not start; its log ends:" >&2
  tail -n 20 "$dir/log" >&2 || true
  exit 1
}

stop() {
  local dir=$1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  # after a kill the pid file stays behind with nobody running: nothing to stop
  running "$dir" || return 0
  signal_all CONT "$dir" # a paused server would not hear the stop
  as_owner "$BIN/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >/dev/null
}

postmaster_pid() {
  [ -f "$1/data/postmaster.pid" ] && head -n 1 "$1/data/postmaster.pid"
}

# the postmaster is alive: a process that is not a zombie (a killed postmaster's parent is init,
# which reaps it when it gets to it; until then pg_ctl would take the zombie for a server)
running() {
  local pid
  pid=$(postmaster_pid "$1") || return 1
  [ -r "/proc/$pid/stat" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z ]
}

# every process of the server: the postmaster first, then its children (each child runs in a
# session of its own, so a signal to the postmaster's process group would reach the postmaster only)
pids() {
  local pid
  pid=$(postmaster_pid "$1") || return 0
  echo "$pid"
  pgrep -P "$pid" || true
}

signal_all() {
  local pids
  pids=$(pids "$2")
  [ -z "$pids" ] || kill "-$1" $pids 2>/dev/null || true
}

kill_server() {
  local pid
  pid=$(postmaster_pid "$1") || return 0
  # stopped first, the postmaster forks no new backend between listing its children and the kill
  kill -STOP "$pid" 2>/dev/null || true
  signal_all KILL "$1"
  local waited=0
  while [ -e "/proc/$pid" ] && [ "$waited" -lt 100 ]; do sleep 0.05; waited=$((waited + 1)); done
  # a zombie that init has not reaped yet would make the next start refuse ("lock file already
  # exists": its pid still exists); every process of the server is dead, so the lock is stale
  [ ! -e "/proc/$pid" ] || rm -f "$1/data/postmaster.pid"
}

reap_after() {
  local owner=$1 dir=$2
  while kill -0 "$owner" 2>/dev/null; do sleep 1; done
  if running "$dir"; then
    signal_all CONT "$dir"
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || kill_server "$dir"
  fi
  rm -rf "$dir"
}

[ $# -ge 2 ] || usage
case $1 in
  start) start "$2" "${3:-}" ;;
  url) url_of "$2" ;;
  database)
    [ $# -ge 3 ] || usage
    as_owner "$BIN/createdb" -h 127.0.0.1 -p "$(cat "$2/port")" -U postgres "$3"
    url_of "$2" "$3"
    ;;
  stop) stop "$2" ;;
  kill) kill_server "$2" ;;
  pause) signal_all STOP "$2" ;;
  resume) signal_all CONT "$2" ;;
  pids) pids "$2" ;;
  reap-after) [ $# -ge 3 ] || usage; reap_after "$2" "$3" ;;
  *) usage ;;
esac
