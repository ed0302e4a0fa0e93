#!/usr/bin/env bash
# Job API throughput side by side with dispenserd, dispenserd's way of measuring it: wrk -t2 -c50,
# keep-alive. Each round runs the four steps on our broker and on dispenserd, one after the other
# (never both at once), alternating which goes first; the table shows medians over rounds and the
# ratio measured in this run. Also records the machine's raw limits: a trivial Node HTTP server
# under the same load, and bare better-sqlite3 batch commits.
#   bench/jobs/run.sh [--duration S] [--connections N] [--rounds R] [--only ours|dispenserd]
# Steps: schedule with one priority (3*S s), receive them (S s); the same with priorities 0-9;
# schedules pipelined 16 deep (S s); schedules over 1,000 connections (S s). Each on a fresh lane.
# Every "ok" of ours is durable (STORE_SYNC=full by default; set STORE_SYNC=normal to compare);
# dispenserd keeps its queue in memory only.
#
# dispenserd: DISPENSERD_BIN=/path/to/dispenserd (default /tmp/dispenserd-anchor/bin/dispenserd,
# what ../shared/anchors/dispenserd/build-and-run.sh build produces). Without it, ours alone.
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=10
CONNECTIONS=50
ROUNDS=3
ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[ -f dist/apps/broker/src/main.js ] || npm run build --silent

PORT=${JOBS_BENCH_PORT:-18382}
DISPENSERD_BIN=${DISPENSERD_BIN:-/tmp/dispenserd-anchor/bin/dispenserd}
TARGETS=(ours dispenserd)
if [ "$ONLY" = ours ] || { [ -z "$ONLY" ] && [ ! -x "$DISPENSERD_BIN" ]; }; then
  [ "$ONLY" = ours ] || echo "no dispenserd at DISPENSERD_BIN=$DISPENSERD_BIN: measuring ours only" >&2
  TARGETS=(ours)
elif [ "$ONLY" = dispenserd ]; then
  TARGETS=(dispenserd)
fi
RESULTS=$(mktemp /tmp/jobs-bench-results-XXXXXX)
PID=
DIRS=()
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  wait 2>/dev/null || true
  for d in "${DIRS[@]}"; do rm -rf "$d"; done
  rm -f "$RESULTS"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0; sleep 0.1; done; echo "nothing answers on $PORT" >&2; return 1; }

start_target() { # name
  local data
  data=$(mktemp -d /tmp/jobs-bench-XXXXXX); DIRS+=("$data")
  case "$1" in
    ours)
      DATA_DIR=$data JOBS_PORT=$PORT AMQP_PORT=0 MANAGEMENT_PORT=0 DISPATCH_PORT=0 BIND_HOST=127.0.0.1 \
        LOG_LEVEL=warn STORE_SYNC=${STORE_SYNC:-full} sh scripts/start-broker.sh &
      PID=$! ;;
    dispenserd)
      mkdir -p "$data"/{config,data,logs}
      printf '{"address":"127.0.0.1:%s","throttle_receive":false,"throttle_schedule":false,"persist_queue":false,"persist_interval":3600}\n' "$PORT" >"$data/config/config.json"
      ( cd "$data" && ROOT=$data exec "$DISPENSERD_BIN" >"$data/logs/out" 2>&1 ) </dev/null &
      PID=$! ;;
    trivial)
      node bench/jobs/trivial-server.js "$PORT" &
      PID=$! ;;
  esac
  wait_port
}
stop_target() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; sleep 1; }

URL="http://127.0.0.1:$PORT"
step() { # target round step duration script [env]; STEP_CONNECTIONS overrides --connections
  local target=$1 round=$2 name=$3 duration=$4 script=$5 line
  line=$(env "${@:6}" wrk -t2 -c"${STEP_CONNECTIONS:-$CONNECTIONS}" -d"${duration}s" -s "bench/jobs/$script" "$URL" | grep '^RESULT')
  local count secs p50 p99 errors
  count=$(echo "$line" | grep -oE '(schedules|receives)=[0-9]+' | cut -d= -f2)
  secs=$(echo "$line" | grep -oE 'seconds=[0-9.]+' | cut -d= -f2)
  p50=$(echo "$line" | grep -oE 'p50_ms=[0-9.]+' | cut -d= -f2)
  p99=$(echo "$line" | grep -oE 'p99_ms=[0-9.]+' | cut -d= -f2)
  errors=$(echo "$line" | grep -oE 'errors=[0-9]+' | cut -d= -f2 || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$round" "$name" "$(awk -v c="$count" -v s="$secs" 'BEGIN { printf "%.0f", c / s }')" "$p50" "$p99" "${errors:-0}" >>"$RESULTS"
  printf 'round %s %-10s %-20s %8s/s  p50 %6s ms  p99 %7s ms%s\n' "$round" "$target" "$name" \
    "$(awk -v c="$count" -v s="$secs" 'BEGIN { printf "%.0f", c / s }')" "$p50" "$p99" "$( [ "${errors:-0}" != 0 ] && echo "  errors $errors")"
}

run_target() { # target round
  start_target "$1"
  # each pair on a fresh lane: dispenserd's insert cost grows with what its lane already holds
  step "$1" "$2" schedule/1-priority $((DURATION * 3)) schedule.lua PRIORITIES=0 LANE=bench-one
  step "$1" "$2" receive/1-priority "$DURATION" receive.lua LANE=bench-one
  step "$1" "$2" schedule/0-9 $((DURATION * 3)) schedule.lua PRIORITIES=10 LANE=bench-ten
  step "$1" "$2" receive/0-9 "$DURATION" receive.lua LANE=bench-ten
  # dbqueue-style pipelining (16 requests per write), and many connections
  step "$1" "$2" schedule/pipelined-16 "$DURATION" schedule-pipelined.lua PIPELINE=16 LANE=bench-pipelined
  STEP_CONNECTIONS=1000 step "$1" "$2" schedule/1000-conns "$DURATION" schedule.lua LANE=bench-many
  stop_target
}

# the machine's raw limits, measured in this run
start_target trivial
step trivial 0 trivial-http "$DURATION" schedule.lua PRIORITIES=0
stop_target
SQLITE=$(node bench/jobs/sqlite-commit.js)

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order=("${TARGETS[@]}"); else order=(); for ((i=${#TARGETS[@]}-1; i>=0; i--)); do order+=("${TARGETS[$i]}"); done; fi
  for target in "${order[@]}"; do run_target "$target" "$round"; done
done

echo
echo "Job API, wrk -t2 -c$CONNECTIONS, schedule steps $((DURATION * 3)) s, receive steps $DURATION s, $ROUNDS round(s), medians;"
echo "ours with STORE_SYNC=${STORE_SYNC:-full} (every ok durable), dispenserd in memory only"
awk -F'\t' -v targets="${TARGETS[*]}" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n == 0 ? "" : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
  }
  $1 != "trivial" { rate[$1, $3] = rate[$1, $3] " " $4; p99[$1, $3] = p99[$1, $3] " " $6; err[$1, $3] += $7; steps[$3] = 1 }
  END {
    n = split("schedule/1-priority receive/1-priority schedule/0-9 receive/0-9 schedule/pipelined-16 schedule/1000-conns", order, " ")
    printf "%-20s %12s %10s %14s %10s %8s\n", "step", "ours ops/s", "p99 ms", "dispenserd/s", "p99 ms", "ratio"
    for (k = 1; k <= n; k++) {
      s = order[k]
      o = median(rate["ours", s]); d = median(rate["dispenserd", s])
      printf "%-20s %12s %10s %14s %10s %8s%s\n", s, o, median(p99["ours", s]), d, median(p99["dispenserd", s]),
        (o != "" && d != "" && d > 0) ? sprintf("%.2fx", o / d) : "-",
        (err["ours", s] + err["dispenserd", s] > 0) ? sprintf("  (HTTP errors: ours %d, dispenserd %d)", err["ours", s], err["dispenserd", s]) : ""
    }
  }' "$RESULTS"
echo
awk -F'\t' '$1 == "trivial" { printf "machine: trivial Node HTTP server under the same wrk load: %s req/s (p99 %s ms)\n", $4, $6 }' "$RESULTS"
echo "$SQLITE" | sed 's/^RESULT /machine: bare better-sqlite3 /'
