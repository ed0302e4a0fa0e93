#!/usr/bin/env bash
# Job API throughput, dispenserd's way of measuring it: wrk -t2 -c50, keep-alive, 10 s per step.
#   bench/jobs/run.sh [--duration S] [--connections N]
# Steps: schedule with one priority, receive them; schedule with priorities 0-9, receive them.
# Every "ok" is durable (STORE_SYNC=full by default; set STORE_SYNC=normal to compare).
# Needs wrk (Debian: apt-get install wrk). Anchor (dispenserd on this kind of machine, same wrk
# command): ~41,500 schedules/s and ~42,200 receives/s with one priority; ~2,400 schedules/s when
# priorities vary.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=10
CONNECTIONS=50
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[ -f dist/apps/broker/src/main.js ] || npm run build --silent

PORT=${JOBS_BENCH_PORT:-18382}
DATA=$(mktemp -d /tmp/jobs-bench-XXXXXX)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

DATA_DIR=$DATA JOBS_PORT=$PORT AMQP_PORT=0 MANAGEMENT_PORT=0 DISPATCH_PORT=0 BIND_HOST=127.0.0.1 \
  LOG_LEVEL=warn STORE_SYNC=${STORE_SYNC:-full} node dist/apps/broker/src/main.js &
PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

URL="http://127.0.0.1:$PORT"
run() { # name script [env]
  local name=$1 script=$2
  local line
  line=$(env "${@:3}" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "bench/jobs/$script" "$URL" | grep '^RESULT')
  echo "$name $line"
}

results=()
results+=("$(DURATION=$((DURATION * 3)) run 'schedule/1-priority' schedule.lua PRIORITIES=0)")
results+=("$(run 'receive/1-priority ' receive.lua)")
curl -s -o /dev/null -d '' "$URL/receive_noblock"
results+=("$(DURATION=$((DURATION * 3)) run 'schedule/0-9       ' schedule.lua PRIORITIES=10)")
results+=("$(run 'receive/0-9        ' receive.lua)")

echo
echo "Job API, wrk -t2 -c$CONNECTIONS, ${DURATION}s per step, STORE_SYNC=${STORE_SYNC:-full} (every ok durable)"
printf '%-22s %12s %9s %9s   %s\n' step 'ops/s' 'p50 ms' 'p99 ms' 'vs dispenserd'
for r in "${results[@]}"; do
  name=$(echo "$r" | awk '{print $1}')
  count=$(echo "$r" | grep -oE '(schedules|receives)=[0-9]+' | cut -d= -f2)
  secs=$(echo "$r" | grep -oE 'seconds=[0-9.]+' | cut -d= -f2)
  p50=$(echo "$r" | grep -oE 'p50_ms=[0-9.]+' | cut -d= -f2)
  p99=$(echo "$r" | grep -oE 'p99_ms=[0-9.]+' | cut -d= -f2)
  rate=$(awk -v c="$count" -v s="$secs" 'BEGIN { printf "%.0f", c / s }')
  case "$name" in
    schedule/1-priority) anchor=41500 ;;
    receive/1-priority) anchor=42200 ;;
    schedule/0-9) anchor=2400 ;;
    *) anchor=0 ;;
  esac
  ratio=$( [ "$anchor" -gt 0 ] && awk -v r="$rate" -v a="$anchor" 'BEGIN { printf "%.2fx of %d", r / a, a }' || echo "-")
  printf '%-22s %12s %9s %9s   %s\n' "$name" "$rate" "$p50" "$p99" "$ratio"
done
