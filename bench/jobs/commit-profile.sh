#!/usr/bin/env bash
# Where a durable schedule's time goes: runs our broker alone under the jobs bench's schedule load
# (wrk -t2 -cN, one priority, fresh lane) and prints, from /metrics and /proc for that step only:
# commits/s, rows per commit, ms per commit from hand-off to reply and ms of the SQLite transaction
# itself, and the CPU of the main thread, the store writer thread and the rest of the process.
#   bench/jobs/commit-profile.sh [--duration S] [--connections N] [--script schedule.lua|schedule-pipelined.lua]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=10
CONNECTIONS=50
SCRIPT=schedule.lua
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --script) SCRIPT=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[ -f dist/apps/broker/src/main.js ] || npm run build --silent

PORT=${JOBS_BENCH_PORT:-18382}
METRICS_PORT=${JOBS_BENCH_METRICS_PORT:-18383}
DATA=$(mktemp -d /tmp/jobs-commit-XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

DATA_DIR=$DATA JOBS_PORT=$PORT AMQP_PORT=0 MANAGEMENT_PORT=$METRICS_PORT DISPATCH_PORT=0 BIND_HOST=127.0.0.1 \
  LOG_LEVEL=warn STORE_SYNC=${STORE_SYNC:-full} node dist/apps/broker/src/main.js &
PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

metric() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# per thread: tid, name, utime+stime ticks; the busiest other thread after the main one is the writer
threads() { for t in /proc/$PID/task/*; do printf '%s %s\n' "$(basename "$t")" "$(awk '{print $14 + $15}' "$t/stat")"; done; }

before_threads=$(threads)
c0=$(metric broker_store_commit_seconds_count); s0=$(metric broker_store_commit_seconds_sum)
t0=$(metric broker_store_transaction_seconds_sum); o0=$(metric broker_store_committed_operations_total)
line=$(PRIORITIES=0 LANE=commit-profile wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "bench/jobs/$SCRIPT" "http://127.0.0.1:$PORT" | grep '^RESULT')
c1=$(metric broker_store_commit_seconds_count); s1=$(metric broker_store_commit_seconds_sum)
t1=$(metric broker_store_transaction_seconds_sum); o1=$(metric broker_store_committed_operations_total)
after_threads=$(threads)

echo "$line"
awk -v c="$((c1 - c0))" -v s="$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
  -v o="$(awk -v a="$o0" -v b="$o1" 'BEGIN { print b - a }')" -v d="$DURATION" 'BEGIN {
  printf "store: %.0f commits/s, %.1f rows per commit, %.3f ms per commit hand-off to reply, %.3f ms of it in the SQLite transaction\n", c / d, o / c, s / c * 1000, t / c * 1000
}'
hz=$(getconf CLK_TCK)
join <(echo "$before_threads" | sort) <(echo "$after_threads" | sort) | awk -v pid="$PID" -v d="$DURATION" -v hz="$hz" '
  { used = ($3 - $2) / hz / d * 100; if ($1 == pid) main = used; else { rest += used; if (used > writer) writer = used } }
  END { printf "cpu: main thread %.0f%%, store writer %.0f%%, other threads %.0f%% (of one core)\n", main, writer, rest - writer }'
