#!/usr/bin/env bash
# AMQP 0-9-1 benchmark: our broker and a private RabbitMQ under the same load, one after the other.
# Run `bench/amqp/run.sh --help` for usage; see bench/amqp/README.md.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

usage() {
    cat <<EOF
usage: bench/amqp/run.sh [--quick] [--only ours|rabbit] [--scenarios a,b,...]

Runs the AMQP scenarios against our broker (started from this repo) and then against a private
RabbitMQ (bench/amqp/rabbitmq.sh, loopback only, if rabbitmq-server is installed). The two brokers
never run at the same time. Prints a comparison table and writes every raw result to
bench/results/amqp-<UTC timestamp>.json.

Scenarios (one shared queue; a..h: 12-byte bodies, prefetch 100):
  a  transient                  -x 2 -y 4 -q 100 -s 12
  b  transient, confirms        ... --confirm 100
  c  persistent, confirms       ... --confirm 100 --persistent
  d  latency 10k/s transient    ... --rate 5000 (per producer, 2 producers)
  e  latency 10k/s persistent   ... --rate 5000 --confirm 100 --persistent
  f  autoack 1x1                -x 1 -y 1 -q 100 -s 12 --autoack
  g  message TTL + DLX          -x 2 -y 4 -q 100 -s 12, queue under a policy
                                {"message-ttl":60000,"dead-letter-exchange":"amq.fanout"}
  h  max-length drop-head       -x 2 -y 0 -s 12 --confirm 100 (publish rate into a full queue),
                                policy {"max-length":1000,"overflow":"drop-head"}
  i  16 KB transient            -x 1 -y 1 -q 50 -s 16384
  j  100 KB persistent, confirms -x 2 -y 2 -q 50 -s 102400 --persistent --confirm 20
  k  1 MB transient             -x 1 -y 1 -q 50 -s 1048576
  l  1 KB transient             -x 1 -y 1 -q 50 -s 1024
  m  1 KB persistent, confirms  -x 2 -y 2 -q 50 -s 1024 --persistent --confirm 20
  n  16 KB persistent, confirms -x 2 -y 2 -q 50 -s 16384 --persistent --confirm 20
  o  100 KB transient           -x 1 -y 1 -q 50 -s 102400
  p  1 MB persistent, confirms  -x 2 -y 2 -q 50 -s 1048576 --persistent --confirm 20
  (i..p: the body-size matrix, 1 KB to 1 MB, transient and persistent with confirms)

Both brokers are started once; the one not being measured is paused with SIGSTOP. Runs
alternate: scenario a run 1 on ours, then on RabbitMQ, then run 2 on ours, and so on.

Options:
  --quick             smoke run: 1 run per scenario, -z 8
  --only ours|rabbit  measure one broker only
  --scenarios LIST    comma-separated subset of a..p (default: all)
  -h, --help          this text

Environment:
  BENCH_RUNS=3        runs per scenario (the table shows medians)
  BENCH_TIME=15       seconds per run (amqp-perf -z; its first 2 s are warmup)
  BENCH_PAUSE=2       seconds of rest before each run
  BENCH_QUIET_MAX=10  the machine is shared: before each run, wait until other work (every process
  BENCH_QUIET_WAIT=180  but the broker under test and this harness) uses at most this % of the
                      machine, for at most this many seconds. A run during which other work used
  BENCH_RETRIES=2     more than that on average is repeated, at most this many times, and flagged
                      as disturbed if it still is
  AMQP_PERF=PATH      the amqp-perf load generator to use. Otherwise /tmp/amqp-perf/amqp-perf is used,
                      and built there when missing from AMQP_PERF_SRC (needs Debian packages
                      golang-go and golang-github-rabbitmq-amqp091-go-dev)
  AMQP_PERF_SRC=DIR   amqp-perf sources (default /work/shared/tools/amqp-perf)
  AMQP_PERF_ARGS=".." extra amqp-perf flags for every run, e.g. "--procs 0" (recorded in the JSON)
  AMQP_PORT=5682      AMQP port for our broker (the other ports it opens are picked free)
  OURS_AUTH=guest:guest        credentials for our broker
  OURS_START_TIMEOUT=30        seconds to wait for our AMQP port
  RABBIT_PORT=5673             AMQP port of the private RabbitMQ (also RMQ_DIST_PORT=25683,
                               RMQ_EPMD_PORT=4373, see bench/amqp/rabbitmq.sh)
  OURS_URI / RABBIT_URI=amqp://user:pass@host:port/
                      use an already running broker at that URI instead of starting one
                      (OURS_PID / RABBIT_PID: its pid, so its CPU is recorded)

Our broker is started as npm start starts it, by scripts/start-broker.sh (after 'npm run build' if
dist is missing; the launcher sets GLIBC_TUNABLES unless given, GLIBC_TUNABLES= for glibc's defaults) with a temporary DATA_DIR, BIND_HOST=127.0.0.1, LOG_LEVEL=warn, STORE_SYNC=full.
If a broker cannot be started or reached, that is reported and the other broker is still measured.

Exit status: 0 the harness worked (whatever the figures, and even if one broker could not be
measured); 1 the harness itself failed (load generator missing or unbuildable, a run that left no
readable result, the report could not be written); 2 bad usage; 3 no broker could be measured at all.
EOF
}

die_usage() { echo "run.sh: $*" >&2; echo "try: bench/amqp/run.sh --help" >&2; exit 2; }

# ------------------------------------------------------------------ options
QUICK=0 ONLY="" SCENARIOS="a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --only) [ $# -ge 2 ] || die_usage "--only needs ours or rabbit"; ONLY=$2; shift ;;
        --only=*) ONLY=${1#--only=} ;;
        --scenarios) [ $# -ge 2 ] || die_usage "--scenarios needs a list"; SCENARIOS=$2; shift ;;
        --scenarios=*) SCENARIOS=${1#--scenarios=} ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown argument '$1'" ;;
    esac
    shift
done
case "$ONLY" in ""|ours|rabbit) ;; *) die_usage "--only takes ours or rabbit, not '$ONLY'" ;; esac

RUNS=${BENCH_RUNS:-3}
TIME=${BENCH_TIME:-15}
PAUSE=${BENCH_PAUSE:-2}
if [ "$QUICK" = 1 ]; then RUNS=1; TIME=8; fi
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die_usage "BENCH_RUNS must be a positive integer (got '$RUNS')"
[[ "$TIME" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk "BEGIN{exit !($TIME > 2)}" ||
    die_usage "BENCH_TIME must be a number of seconds above the 2 s warmup (got '$TIME')"
QUIET_MAX=${BENCH_QUIET_MAX:-10}
QUIET_WAIT=${BENCH_QUIET_WAIT:-180}
RETRIES=${BENCH_RETRIES:-2}
[[ "$RETRIES" =~ ^[0-9]+$ ]] || die_usage "BENCH_RETRIES must be a whole number (got '$RETRIES')"
[[ "$QUIET_MAX" =~ ^[0-9]+$ ]] || die_usage "BENCH_QUIET_MAX must be a whole percentage (got '$QUIET_MAX')"
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || die_usage "BENCH_QUIET_WAIT must be whole seconds (got '$QUIET_WAIT')"
[[ "$PAUSE" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die_usage "BENCH_PAUSE must be a number of seconds (got '$PAUSE')"

declare -A SC_NAME SC_ARGS SC_LAT
SC_NAME[a]="transient";                SC_LAT[a]=0; SC_ARGS[a]="-x 2 -y 4 -q 100 -s 12"
SC_NAME[b]="transient, confirms";      SC_LAT[b]=0; SC_ARGS[b]="-x 2 -y 4 -q 100 -s 12 --confirm 100"
SC_NAME[c]="persistent, confirms";     SC_LAT[c]=0; SC_ARGS[c]="-x 2 -y 4 -q 100 -s 12 --confirm 100 --persistent"
SC_NAME[d]="latency 10k/s transient";  SC_LAT[d]=1; SC_ARGS[d]="-x 2 -y 4 -q 100 -s 12 --rate 5000"
SC_NAME[e]="latency 10k/s persistent"; SC_LAT[e]=1; SC_ARGS[e]="-x 2 -y 4 -q 100 -s 12 --rate 5000 --confirm 100 --persistent"
SC_NAME[f]="autoack 1x1";              SC_LAT[f]=0; SC_ARGS[f]="-x 1 -y 1 -q 100 -s 12 --autoack"
# queue features, set by a policy on both brokers (amqp-perf declares its queue without arguments)
declare -A SC_POLICY
SC_NAME[g]="message TTL + DLX";        SC_LAT[g]=0; SC_ARGS[g]="-x 2 -y 4 -q 100 -s 12 --queue bench-ttl-dlx"
SC_POLICY[g]='{"message-ttl":60000,"dead-letter-exchange":"amq.fanout"}'
SC_NAME[h]="max-length drop-head";     SC_LAT[h]=0; SC_ARGS[h]="-x 2 -y 0 -s 12 --confirm 100 --queue bench-drop-head"
SC_POLICY[h]='{"max-length":1000,"overflow":"drop-head"}'
# large bodies (the sizes users send)
SC_NAME[i]="16 KB transient";          SC_LAT[i]=0; SC_ARGS[i]="-x 1 -y 1 -q 50 -s 16384"
SC_NAME[j]="100 KB persistent, confirms"; SC_LAT[j]=0; SC_ARGS[j]="-x 2 -y 2 -q 50 -s 102400 --persistent --confirm 20"
SC_NAME[k]="1 MB transient";           SC_LAT[k]=0; SC_ARGS[k]="-x 1 -y 1 -q 50 -s 1048576"
SC_NAME[l]="1 KB transient";           SC_LAT[l]=0; SC_ARGS[l]="-x 1 -y 1 -q 50 -s 1024"
SC_NAME[m]="1 KB persistent, confirms"; SC_LAT[m]=0; SC_ARGS[m]="-x 2 -y 2 -q 50 -s 1024 --persistent --confirm 20"
SC_NAME[n]="16 KB persistent, confirms"; SC_LAT[n]=0; SC_ARGS[n]="-x 2 -y 2 -q 50 -s 16384 --persistent --confirm 20"
SC_NAME[o]="100 KB transient";         SC_LAT[o]=0; SC_ARGS[o]="-x 1 -y 1 -q 50 -s 102400"
SC_NAME[p]="1 MB persistent, confirms"; SC_LAT[p]=0; SC_ARGS[p]="-x 2 -y 2 -q 50 -s 1048576 --persistent --confirm 20"

SELECTED=()
IFS=',' read -r -a _list <<<"$SCENARIOS"
for s in "${_list[@]}"; do
    s=${s// /}
    [ -z "$s" ] && continue
    [ -n "${SC_NAME[$s]+x}" ] || die_usage "unknown scenario '$s' (known: a to p)"
    [[ " ${SELECTED[*]-} " == *" $s "* ]] || SELECTED+=("$s")
done
[ ${#SELECTED[@]} -gt 0 ] || die_usage "--scenarios selects nothing"

BROKERS=()
[ "$ONLY" != rabbit ] && BROKERS+=(ours)
[ "$ONLY" != ours ] && BROKERS+=(rabbit)

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
warn() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ state and cleanup
HARNESS_FAILED=0
WORK=$(mktemp -d /tmp/amqp-bench.XXXXXX) || { echo "run.sh: cannot create a temporary directory" >&2; exit 1; }
OURS_CHILD="" RMQ_BASE="" RMQ_STARTED=0 TOOL_PID=""
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)

stop_ours() {
    [ -n "$OURS_CHILD" ] || return 0
    if kill -0 "$OURS_CHILD" 2>/dev/null; then
        kill -TERM "$OURS_CHILD" 2>/dev/null
        local i=0
        while kill -0 "$OURS_CHILD" 2>/dev/null; do
            i=$((i + 1))
            if [ $i -gt 60 ]; then
                warn "our broker (pid $OURS_CHILD) did not exit 15 s after SIGTERM; sending SIGKILL"
                kill -KILL "$OURS_CHILD" 2>/dev/null
                break
            fi
            sleep 0.25
        done
    fi
    wait "$OURS_CHILD" 2>/dev/null
    OURS_CHILD=""
}

stop_rabbit() {
    [ "$RMQ_STARTED" = 1 ] || return 0
    RMQ_BASE=$RMQ_BASE RMQ_PORT=$RABBIT_PORT "$HERE/rabbitmq.sh" stop >"$WORK/rabbit-stop.log" 2>&1 ||
        warn "stopping RabbitMQ reported a problem: $(tail -n 3 "$WORK/rabbit-stop.log")"
    RMQ_STARTED=0
    [ -n "$RMQ_BASE" ] && rm -rf "$RMQ_BASE"
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "${LIVE_BROKERS+x}" ] && for b in "${LIVE_BROKERS[@]}"; do resume_broker "$b"; done
    if [ -n "$TOOL_PID" ] && kill -0 "$TOOL_PID" 2>/dev/null; then kill -INT "$TOOL_PID" 2>/dev/null; sleep 1; kill -KILL "$TOOL_PID" 2>/dev/null; fi
    stop_ours
    stop_rabbit
    [ "${BENCH_KEEP_WORK:-0}" = 1 ] && echo "work directory kept: $WORK" || rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'warn "interrupted"; exit 130' INT
trap 'warn "terminated"; exit 143' TERM

# ------------------------------------------------------------------ helpers
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

# wait_quiet BASE: rest BENCH_PAUSE s, then wait (at most BENCH_QUIET_WAIT s) until the machine,
# leaving the broker under test out, is at most BENCH_QUIET_MAX % busy; notes what it saw in BASE.pre
wait_quiet() {
    sleep "$PAUSE"
    local m waited=0
    m=($(machine_busy "$BROKER_PID"))
    while [ "${m[1]}" -gt "$QUIET_MAX" ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
        [ "$waited" = 0 ] && log "the machine is ${m[1]}% busy with other work; waiting up to ${QUIET_WAIT} s for it to calm down"
        sleep 4; waited=$((waited + 5))
        m=($(machine_busy "$BROKER_PID"))
    done
    [ "$waited" -gt 0 ] && log "waited ${waited} s; other work now ${m[1]}% of the machine"
    echo "${m[0]} ${m[1]} $waited" >"$1.pre"
    if [ "${m[1]}" -gt "$QUIET_MAX" ]; then
        warn "running anyway with other work at ${m[1]}% of the machine; this run's figures are disturbed"
    fi
}

set_status() { # broker status message
    echo "$2" >"$WORK/$1/status"
    printf '%s\n' "$3" >"$WORK/$1/message"
}

# ------------------------------------------------------------------ 1. load generator
find_tool() {
    if [ -n "${AMQP_PERF:-}" ]; then
        [ -x "$AMQP_PERF" ] || { echo "run.sh: AMQP_PERF=$AMQP_PERF is not an executable file" >&2; return 1; }
        TOOL=$AMQP_PERF
    else
        TOOL=/tmp/amqp-perf/amqp-perf
        if [ ! -x "$TOOL" ]; then
            local src=${AMQP_PERF_SRC:-/work/shared/tools/amqp-perf}
            log "amqp-perf not found at $TOOL; building it from $src"
            if [ -x "$src/build.sh" ]; then
                "$src/build.sh" >"$WORK/tool-build.log" 2>&1
            elif [ -f "$src/main.go" ]; then
                command -v go >/dev/null || { echo "run.sh: 'go' is not installed (apt-get install -y golang-go golang-github-rabbitmq-amqp091-go-dev)" >&2; return 1; }
                mkdir -p /tmp/amqp-perf &&
                    (cd "$src" && GOPATH=/usr/share/gocode GO111MODULE=off go build -trimpath -o "$TOOL" .) >"$WORK/tool-build.log" 2>&1
            else
                echo "run.sh: no amqp-perf sources in $src (set AMQP_PERF_SRC or AMQP_PERF)" >&2; return 1
            fi
            if [ $? -ne 0 ] || [ ! -x "$TOOL" ]; then
                echo "run.sh: building amqp-perf from $src failed:" >&2
                tail -n 15 "$WORK/tool-build.log" >&2
                echo "(it needs the Debian packages golang-go and golang-github-rabbitmq-amqp091-go-dev)" >&2
                return 1
            fi
            log "$(tail -n 1 "$WORK/tool-build.log")"
        fi
    fi
    "$TOOL" --help >/dev/null 2>&1 || { echo "run.sh: $TOOL --help fails; is it amqp-perf?" >&2; return 1; }
}
find_tool || exit 1
command -v node >/dev/null || { echo "run.sh: node is needed (for the report)" >&2; exit 1; }

for s in "${SELECTED[@]}"; do
    printf '%s\t%s\t%s\t%s\n' "$s" "${SC_NAME[$s]}" "${SC_LAT[$s]}" "${SC_ARGS[$s]}" >>"$WORK/scenarios.tsv"
done

# ------------------------------------------------------------------ 2. our broker
AMQP_PORT=${AMQP_PORT:-5682}
RABBIT_PORT=${RABBIT_PORT:-5673}

start_ours() {
    local dir=$WORK/ours
    if [ -n "${OURS_URI:-}" ]; then
        echo "$OURS_URI" >"$dir/uri"; echo "${OURS_PID:-}" >"$dir/pid"; echo "external" >"$dir/version"
        BROKER_PID=${OURS_PID:-}; BROKER_URI=$OURS_URI
        return 0
    fi
    BROKER_URI="amqp://${OURS_AUTH:-guest:guest}@127.0.0.1:$AMQP_PORT/"
    echo "$BROKER_URI" >"$dir/uri"
    echo "repo $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+dirty')" >"$dir/version"
    if accepts 127.0.0.1 "$AMQP_PORT"; then
        set_status ours not-started "port $AMQP_PORT is already in use by another process; set AMQP_PORT"
        return 1
    fi
    local main=$REPO/dist/apps/broker/src/main.js
    if [ ! -f "$main" ]; then
        log "ours: $main is missing; running npm run build"
        if ! (cd "$REPO" && npm run build) >"$WORK/ours-build.log" 2>&1; then
            set_status ours not-started "npm run build failed: $(tail -n 5 "$WORK/ours-build.log")"
            return 1
        fi
    fi
    local newer
    newer=$(cd "$REPO" && find apps libs -name '*.ts' -newer "$main" -print -quit 2>/dev/null)
    if [ -n "$newer" ]; then
        warn "ours: WARNING: $newer is newer than dist/; the build may be stale (run npm run build)"
        echo "+ dist older than $newer" >>"$dir/version"
    fi
    local ports mgmt jobs disp
    ports=$(free_ports 3) || { set_status ours not-started "could not pick free ports"; return 1; }
    read -r mgmt jobs disp <<<"$ports"
    OURS_MGMT_PORT=$mgmt
    mkdir -p "$dir/data"
    (cd "$REPO" && exec env -u CONFIG_FILE DATA_DIR="$dir/data" AMQP_PORT="$AMQP_PORT" MANAGEMENT_PORT="$mgmt" \
        JOBS_PORT="$jobs" DISPATCH_PORT="$disp" BIND_HOST=127.0.0.1 LOG_LEVEL=warn STORE_SYNC=full \
        sh "$REPO/scripts/start-broker.sh") >"$dir/broker.log" 2>&1 &
    OURS_CHILD=$!
    echo "$OURS_CHILD" >"$dir/pid"
    BROKER_PID=$OURS_CHILD
    local timeout=${OURS_START_TIMEOUT:-30} t0=$SECONDS
    while ! accepts 127.0.0.1 "$AMQP_PORT"; do
        if ! kill -0 "$OURS_CHILD" 2>/dev/null; then
            wait "$OURS_CHILD"; local code=$?
            OURS_CHILD=""
            set_status ours not-started "the broker exited with status $code before its AMQP port opened: $(grep -v '^[[:space:]]*$' "$dir/broker.log" | tail -n 1 | cut -c1-300)"
            { echo "last lines of its output:"; tail -n 12 "$dir/broker.log" | sed 's/^/    /'; } >&2
            return 1
        fi
        if [ $((SECONDS - t0)) -ge "$timeout" ]; then
            local hint="nothing else is listening either"
            accepts 127.0.0.1 "$mgmt" && hint="the process is up and its management port $mgmt answers, so its AMQP listener is probably not there yet"
            set_status ours not-started "pid $OURS_CHILD did not accept connections on 127.0.0.1:$AMQP_PORT within ${timeout} s ($hint)"
            stop_ours
            return 1
        fi
        sleep 0.2
    done
    log "ours: started pid $OURS_CHILD, AMQP on 127.0.0.1:$AMQP_PORT (management $mgmt, jobs $jobs, dispatch $disp), data in $dir/data"
}

# ------------------------------------------------------------------ 3. RabbitMQ
start_rabbit() {
    local dir=$WORK/rabbit
    if [ -n "${RABBIT_URI:-}" ]; then
        echo "$RABBIT_URI" >"$dir/uri"; echo "${RABBIT_PID:-}" >"$dir/pid"; echo "external" >"$dir/version"
        BROKER_PID=${RABBIT_PID:-}; BROKER_URI=$RABBIT_URI
        return 0
    fi
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        set_status rabbit not-installed "rabbitmq-server is not installed (apt-get install -y rabbitmq-server); RabbitMQ's side skipped"
        return 1
    fi
    echo "RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo '?')" >"$dir/version"
    BROKER_URI="amqp://guest:guest@127.0.0.1:$RABBIT_PORT/"
    echo "$BROKER_URI" >"$dir/uri"
    RMQ_BASE=$(mktemp -d /tmp/amqp-bench-rmq.XXXXXX) || { set_status rabbit not-started "cannot create a data directory"; return 1; }
    chmod 755 "$RMQ_BASE"
    RMQ_STARTED=1 # from here on, cleanup stops whatever came up
    log "rabbit: starting a private RabbitMQ on 127.0.0.1:$RABBIT_PORT (data in $RMQ_BASE)"
    if ! RMQ_BASE=$RMQ_BASE RMQ_PORT=$RABBIT_PORT "$HERE/rabbitmq.sh" start >"$WORK/rabbit-start.log" 2>&1; then
        set_status rabbit not-started "RabbitMQ did not start: $(tail -n 5 "$WORK/rabbit-start.log")"
        tail -n 15 "$RMQ_BASE"/log/*.log 2>/dev/null | sed 's/^/    /' >&2
        stop_rabbit
        return 1
    fi
    BROKER_PID=$(tail -n 1 "$WORK/rabbit-start.log")
    echo "$BROKER_PID" >"$dir/pid"
    log "rabbit: $(head -n 1 "$WORK/rabbit-start.log") (pid $BROKER_PID)"
}

# ------------------------------------------------------------------ 4. scenarios
broker_alive() { # true when the broker we measure still runs (unknown pid: judged by its port)
    if [ -n "$BROKER_PID" ] && ! kill -0 "$BROKER_PID" 2>/dev/null; then return 1; fi
    accepts "$(uri_host "$BROKER_URI")" "$(uri_port "$BROKER_URI")"
}

tool_error() { # tool_error BASE: the first error amqp-perf reported for that run
    node -e 'try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        console.log((r.errors || [])[0] || `amqp-perf exit ${r.exit_code}`) } catch { console.log("no result") }' "$1.json"
}

# run_once BROKER SCENARIO BASE: one amqp-perf run into BASE.{json,err,rc,outside}; sets RC
# set_policy BROKER SCENARIO: the scenario's policy, on the queue amqp-perf will declare
set_policy() {
    local b=$1 s=$2 queue
    [ -n "${SC_POLICY[$s]+x}" ] || return 0
    queue=$(sed -n 's/.*--queue \([^ ]*\).*/\1/p' <<<"${SC_ARGS[$s]}")
    if [ "$b" = ours ]; then
        curl -sf -u "${OURS_AUTH:-guest:guest}" -X PUT -H 'content-type: application/json' \
            "http://127.0.0.1:${OURS_MGMT_PORT:?}/api/policies/%2F/bench-$s" \
            -d "{\"pattern\":\"^$queue\$\",\"apply-to\":\"queues\",\"definition\":${SC_POLICY[$s]}}" >/dev/null
    else
        "$HERE/rabbitmq.sh" policy "bench-$s" "^$queue\$" "${SC_POLICY[$s]}" >/dev/null
    fi || warn "$b $s: could not set the policy ${SC_POLICY[$s]}"
}

run_once() {
    local base=$3 pid_args=()
    set_policy "$1" "$2"
    [ -n "$BROKER_PID" ] && pid_args=(--broker-pid "$BROKER_PID")
    wait_quiet "$base"
    node "$HERE/report.js" snap "$base.snap0" 2>/dev/null
    # amqp-perf exits by itself at -z + 9.5 s at the latest; the outer timeout is a safety net
    # shellcheck disable=SC2086
    timeout -k 5 "$(awk "BEGIN{print int($TIME + 30)}")" \
        "$TOOL" --uri "$BROKER_URI" ${SC_ARGS[$2]} ${AMQP_PERF_ARGS:-} -z "$TIME" --json --quiet "${pid_args[@]}" \
        >"$base.json" 2>"$base.err" &
    TOOL_PID=$!
    wait "$TOOL_PID"; RC=$?
    TOOL_PID=""
    echo "$RC" >"$base.rc"
    if node "$HERE/report.js" snap "$base.snap1" 2>/dev/null; then
        node "$HERE/report.js" outside "$base.snap0" "$base.snap1" $$ ${BROKER_PID:-0} >"$base.outside" 2>/dev/null
    fi
    rm -f "$base.snap0" "$base.snap1"
}

# The brokers run side by side but only one is ever awake: the other is stopped with SIGSTOP, so
# it takes no CPU during the other's runs. Rounds alternate (scenario s: ours run 1, RabbitMQ run
# 1, ours run 2, ...), so a slow drift of the machine (another tenant, thermal state) affects both.
declare -A B_PID B_URI B_LIVE B_OK B_SETUP_FAILS
LIVE_BROKERS=()

# external brokers (OURS_URI / RABBIT_URI) are never paused
pausable() { [ -n "${B_PID[$1]:-}" ] && { { [ "$1" = ours ] && [ -z "${OURS_URI:-}" ]; } || { [ "$1" = rabbit ] && [ -z "${RABBIT_URI:-}" ]; }; }; }
pause_broker() { pausable "$1" && kill -STOP "${B_PID[$1]}" 2>/dev/null; return 0; }
resume_broker() { pausable "$1" && kill -CONT "${B_PID[$1]}" 2>/dev/null; return 0; }

# start_broker BROKER: starts it, records its idle load, leaves it paused; false if it cannot be measured
start_broker() {
    local b=$1 busy
    mkdir -p "$WORK/$b"
    BROKER_PID="" BROKER_URI=""
    log "=== $b ==="
    if ! "start_$b"; then
        log "$b: NOT MEASURED: $(cat "$WORK/$b/message")"
        return 1
    fi
    busy=($(machine_busy "$BROKER_PID"))
    echo "${busy[0]}" >"$WORK/$b/idle_busy"
    log "$b: idle machine ${busy[0]}% busy (${busy[1]}% without the broker)"
    set_status "$b" measured ""
    B_PID[$b]=$BROKER_PID B_URI[$b]=$BROKER_URI B_LIVE[$b]=1 B_OK[$b]=0 B_SETUP_FAILS[$b]=0
    LIVE_BROKERS+=("$b")
    pause_broker "$b"
}

# measure_run BROKER SCENARIO N: run N of SCENARIO on BROKER (woken for it). A run that other work
# on the machine disturbed (> BENCH_QUIET_MAX % of the machine on average) is repeated up to
# BENCH_RETRIES times; the disturbed attempts are kept as BASE-tryK.*. A broker that went away is
# not measured any further; two set-up failures before anything worked make it unusable.
measure_run() {
    local b=$1 s=$2 n=$3 dir=$WORK/$1 k rc base summary other others
    BROKER_PID=${B_PID[$b]} BROKER_URI=${B_URI[$b]}
    resume_broker "$b"
    base=$dir/$s-$n
    for ((k = 0; ; k++)); do
        run_once "$b" "$s" "$base"; rc=$RC
        other=0 others=""
        [ -f "$base.outside" ] && IFS=$'\t' read -r other others <"$base.outside"
        [[ "$other" =~ ^[0-9]+$ ]] || other=0
        case $rc in
            0|1|2|3)
                if ! summary=$(node "$HERE/report.js" line "$base.json" "$rc"); then
                    warn "$b $s run $n: amqp-perf (exit $rc) left no readable JSON: $(tail -n 2 "$base.err")"
                    HARNESS_FAILED=1
                fi
                [ "$other" -gt "$QUIET_MAX" ] && summary="$summary  [other work ${other}% of the machine: $others]"
                log "$b $s run $n/$RUNS: $summary" ;;
            124|137)
                log "$b $s run $n/$RUNS: amqp-perf did not exit by itself; killed after $((${TIME%.*} + 30)) s"
                HARNESS_FAILED=1 ;;
            *)
                log "$b $s run $n/$RUNS: amqp-perf failed with exit status $rc: $(tail -n 3 "$base.err")"
                HARNESS_FAILED=1 ;;
        esac
        if [ "$rc" = 0 ] && [ "$other" -gt "$QUIET_MAX" ] && [ "$k" -lt "$RETRIES" ]; then
            for f in "$base".*; do mv "$f" "$base-try$((k + 1)).${f##*.}"; done
            log "$b $s run $n: disturbed by other work; repeating it (attempt $((k + 2)) of at most $((RETRIES + 1)))"
            continue
        fi
        break
    done
    if [ "$rc" != 0 ] && ! broker_alive; then
        if [ "${B_OK[$b]}" = 0 ]; then
            set_status "$b" unreachable "$(tool_error "$base")"
        else
            set_status "$b" died "the broker went away during scenario $s run $n; later runs skipped"
        fi
        log "$b: $(head -n 1 "$dir/message")"
        B_LIVE[$b]=0
        return
    fi
    if [ "$rc" = 0 ]; then B_OK[$b]=1 B_SETUP_FAILS[$b]=0; fi
    if [ "$rc" = 2 ]; then
        B_SETUP_FAILS[$b]=$((B_SETUP_FAILS[$b] + 1))
        if [ "${B_OK[$b]}" = 0 ] && [ "${B_SETUP_FAILS[$b]}" -ge 2 ]; then
            set_status "$b" unusable "set-up failed twice and nothing has worked yet; last error: $(tool_error "$base")"
            log "$b: $(head -n 1 "$dir/message"); remaining scenarios skipped"
            B_LIVE[$b]=0
        else
            echo "set-up failed (amqp-perf exit 2); remaining runs of this scenario skipped" >"$dir/$s.skipped"
            log "$b $s: set-up failed while the broker is up; skipping the remaining runs of $s"
        fi
    fi
    pause_broker "$b"
}

log "amqp-perf: $TOOL ${AMQP_PERF_ARGS:-}; $RUNS run(s) x ${TIME} s per scenario; scenarios ${SELECTED[*]}; brokers ${BROKERS[*]}, alternating"
for b in "${BROKERS[@]}"; do start_broker "$b"; done
for s in "${SELECTED[@]}"; do
    for ((n = 1; n <= RUNS; n++)); do
        for b in "${LIVE_BROKERS[@]}"; do
            [ "${B_LIVE[$b]}" = 1 ] && [ ! -f "$WORK/$b/$s.skipped" ] && measure_run "$b" "$s" "$n"
        done
    done
done
for b in "${LIVE_BROKERS[@]}"; do resume_broker "$b"; done
stop_ours
stop_rabbit

# ------------------------------------------------------------------ 5. report
OUT=$REPO/bench/results/amqp-$STAMP.json
[ -e "$OUT" ] && OUT=$REPO/bench/results/amqp-$STAMP-$$.json # two runs started in the same second
BENCH_RUNS=$RUNS BENCH_TIME=$TIME BENCH_PAUSE=$PAUSE BENCH_QUIET_MAX=$QUIET_MAX BENCH_RETRIES=$RETRIES BENCH_QUICK=$QUICK BENCH_ONLY=$ONLY BENCH_TOOL=$TOOL BENCH_TOOL_ARGS=${AMQP_PERF_ARGS:-} \
    BENCH_STARTED_AT=$STARTED_AT BENCH_COMMIT=$(git -C "$REPO" rev-parse HEAD 2>/dev/null) \
    node "$HERE/report.js" final "$WORK" "$OUT"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
    echo "run.sh: writing the report failed (exit $rc)" >&2
    exit 1
fi
if [ "$HARNESS_FAILED" = 1 ]; then
    echo "run.sh: the harness itself failed during some runs (see the lines above)" >&2
    exit 1
fi
if [ $rc -eq 3 ]; then
    echo "run.sh: no broker could be measured (see the status lines above)" >&2
    exit 3
fi
exit 0
