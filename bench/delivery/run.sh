#!/usr/bin/env bash
# Delivery door throughput and latency (figures, not tests):
#   bench/delivery/run.sh [--duration S] [--connections N]
# 1. wrk -t2 -cN posts Dispatcher requests (fresh UUIDs) for S seconds to a broker started here
#    (STORE_SYNC=full: every 202 is durable), each to a local keep-alive sink (bench/delivery/sink.js);
#    prints accepted/s, then waits for every accepted UUID at the sink: end-to-end delivered/s,
#    losses (must be 0) and duplicates.
#    Also the broker's CPU per thread in that phase (main thread; the busiest other thread, the
#    store's writer; the rest), in ms per 1,000 accepted deliveries.
# 2. bench/delivery/latency.js: p50/p99 from 202 to arrival at 200 deliveries/s, and a 200-request burst.
# 3. Acceptance against a slow destination: a fresh broker, a sink that answers after
#    SLOW_SINK_MS (default 1000 ms), wrk as in 1: accepted/s must not fall to the delivery rate
#    (deliveries pile up in the pending queue; intake keeps its rate).
# Needs wrk (Debian: apt-get install wrk). Broker, sink and wrk share this machine's cores.
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

PORT=${DISPATCH_BENCH_PORT:-18480}
SINK_PORT=${SINK_BENCH_PORT:-18580}
DATA=$(mktemp -d /tmp/delivery-bench-XXXXXX)
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null
  [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$DATA" "${SLOW_DATA:-}"
}

# utime+stime ticks per thread of process $1: "tid ticks" lines
thread_ticks() {
  for t in /proc/"$1"/task/*; do echo "$(basename "$t") $(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null || echo 0)"; done | sort
}
# ms per 1,000 deliveries of each thread between two thread_ticks files: main, busiest other, rest
thread_cpu() {
  local hz; hz=$(getconf CLK_TCK)
  join "$1" "$2" | awk -v main="$3" -v n="$4" -v hz="$hz" '
    { d = ($3 - $2) * 1000 / hz; if ($1 == main) m = d; else { o[++k] = d; r += d } }
    END { top = 0; for (i in o) if (o[i] > top) top = o[i];
          printf "broker CPU: main thread %.0f ms, writer (busiest other thread) %.0f ms, other threads %.0f ms per 1,000 accepted\n", m * 1000 / n, top * 1000 / n, (r - top) * 1000 / n }'
}
trap cleanup EXIT

# start_pair DATA_DIR SINK_DELAY_MS: a sink answering after the delay and a broker on the data dir
start_pair() {
  node bench/delivery/sink.js "$SINK_PORT" "$2" >/dev/null &
  SINK_PID=$!
  DATA_DIR=$1 DISPATCH_PORT=$PORT AMQP_PORT=0 MANAGEMENT_PORT=0 JOBS_PORT=0 BIND_HOST=127.0.0.1 DISPATCH_ALLOW_LOOPBACK=true \
    LOG_LEVEL=warn STORE_SYNC=${STORE_SYNC:-full} sh scripts/start-broker.sh &
  PID=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/deliveries" && break; sleep 0.1; done
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$SINK_PORT/stats" && break; sleep 0.1; done
}
start_pair "$DATA" 0

URL="http://127.0.0.1:$PORT"
START_MS=$(date +%s%3N)
thread_ticks "$PID" > "$DATA/ticks.before"
LINE=$(SINK_URL="http://127.0.0.1:$SINK_PORT/in" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/delivery/accept.lua "$URL" | grep '^RESULT')
REQUESTS=$(echo "$LINE" | grep -oE 'requests=[0-9]+' | cut -d= -f2)
NON2XX=$(echo "$LINE" | grep -oE 'non2xx=[0-9]+' | cut -d= -f2)
SECS=$(echo "$LINE" | grep -oE 'seconds=[0-9.]+' | cut -d= -f2)
ACCEPTED=$((REQUESTS - NON2XX))
for _ in $(seq 1 1200); do
  UNIQUE=$(curl -s "http://127.0.0.1:$SINK_PORT/stats" | grep -oE '"unique":[0-9]+' | cut -d: -f2)
  [ "$UNIQUE" -ge "$ACCEPTED" ] && break
  sleep 0.1
done
thread_ticks "$PID" > "$DATA/ticks.after"
STATS=$(curl -s "http://127.0.0.1:$SINK_PORT/stats")
ARRIVED=$(echo "$STATS" | grep -oE '"arrived":[0-9]+' | cut -d: -f2)
UNIQUE=$(echo "$STATS" | grep -oE '"unique":[0-9]+' | cut -d: -f2)
LAST=$(echo "$STATS" | grep -oE '"last":[0-9]+' | cut -d: -f2)

echo
echo "Delivery door, wrk -t2 -c$CONNECTIONS for ${DURATION}s, STORE_SYNC=${STORE_SYNC:-full} (every 202 durable), one local sink"
awk -v a="$ACCEPTED" -v s="$SECS" -v n="$NON2XX" 'BEGIN { printf "accepted:   %d in %.1f s = %.0f/s (%d not 202)\n", a, s, a / s, n }'
awk -v u="$UNIQUE" -v t0="$START_MS" -v t1="$LAST" 'BEGIN { printf "delivered:  %d unique at the sink, end to end %.0f/s (first accept to last arrival)\n", u, u / ((t1 - t0) / 1000) }'
echo "lost:       $((ACCEPTED > UNIQUE ? ACCEPTED - UNIQUE : 0))   duplicates: $((ARRIVED - UNIQUE))   $(echo "$LINE" | grep -oE 'p50_ms=[0-9.]+ p99_ms=[0-9.]+') (202 answer)"
[ "$ACCEPTED" -gt 0 ] && thread_cpu "$DATA/ticks.before" "$DATA/ticks.after" "$PID" "$ACCEPTED"
node bench/delivery/latency.js "$URL/" --rate 200 --seconds 10 --burst 200

# 3. a slow destination: acceptance keeps its rate while deliveries pile up
kill "$PID" "$SINK_PID" 2>/dev/null; wait "$PID" "$SINK_PID" 2>/dev/null || true
SLOW_MS=${SLOW_SINK_MS:-1000}
SLOW_DATA=$(mktemp -d /tmp/delivery-bench-slow-XXXXXX)
start_pair "$SLOW_DATA" "$SLOW_MS"
LINE=$(SINK_URL="http://127.0.0.1:$SINK_PORT/in" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/delivery/accept.lua "$URL" | grep '^RESULT')
REQUESTS=$(echo "$LINE" | grep -oE 'requests=[0-9]+' | cut -d= -f2)
NON2XX=$(echo "$LINE" | grep -oE 'non2xx=[0-9]+' | cut -d= -f2)
SECS=$(echo "$LINE" | grep -oE 'seconds=[0-9.]+' | cut -d= -f2)
ARRIVED=$(curl -s "http://127.0.0.1:$SINK_PORT/stats" | grep -oE '"arrived":[0-9]+' | cut -d: -f2)
echo
echo "Slow destination (answers after ${SLOW_MS} ms), wrk -t2 -c$CONNECTIONS for ${DURATION}s"
awk -v a="$((REQUESTS - NON2XX))" -v s="$SECS" -v n="$NON2XX" -v d="$ARRIVED" 'BEGIN { printf "accepted:   %d in %.1f s = %.0f/s (%d not 202), %d arrived at the sink meanwhile (the rest wait in the pending queue)\n", a, s, a / s, n, d }'
