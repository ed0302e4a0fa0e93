#!/usr/bin/env bash
# AMQP scale benchmark: fanout, many queues, many idle connections and connection churn, on our
# broker and on a private RabbitMQ in alternating rounds. `bench/amqp/scale.sh --help` for usage;
# see bench/amqp/README.md ("Scale scenarios").
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
REPORT=$HERE/loadgen/scale-report.js

usage() {
    cat <<EOF
usage: bench/amqp/scale.sh [--quick] [--only ours|rabbit] [--scenarios LIST]

Puts workloads that amqp-perf cannot express on our broker (started from this repo's dist/) and
on a private RabbitMQ (bench/amqp/rabbitmq.sh), with the Go load generator in bench/amqp/loadgen.
For every scenario both brokers are started fresh, then measured in alternating rounds (ours run
1, RabbitMQ run 1, ours run 2, ...); the one not being measured is paused with SIGSTOP. Prints one
table and writes every raw result to bench/results/scale-<UTC timestamp>.json.

Scenarios (loadgen flags; every run adds -z BENCH_TIME --json --quiet --broker-pid PID):
  fanout1k   fanout, 10 queues, 1 KB transient       --mode fanout --queues 10 -s 1024 -q 100
  fanout16k  fanout, 10 queues, 16 KB persistent     --mode fanout --queues 10 -s 16384 -q 100
             + confirms                                --persistent --confirm 100
  q1000      1,000 queues x 10 msg/s                  --mode queues --queues 1000 --rate 10 --conns 20
  q20        20 queues x 500 msg/s                    --mode queues --queues 20 --rate 500 --conns 20
  idle       10,000 idle connections, held            --mode idle --conns BENCH_IDLE_CONNS
             BENCH_TIME s                              --heartbeat BENCH_IDLE_HEARTBEAT
  churn      connection churn, 20 clients             --mode churn --clients 20

Options:
  --quick             smoke run: 1 run per scenario, BENCH_TIME 8
  --only ours|rabbit  measure one broker only
  --scenarios LIST    comma-separated subset (default: fanout1k,fanout16k,q1000,q20,idle,churn)
  -h, --help          this text

Environment:
  BENCH_RUNS=2        runs per scenario and broker (the table shows medians)
  BENCH_TIME=15       seconds per run (-z; the first 2 s are warmup, except for idle: the hold)
  BENCH_PAUSE=2       seconds of rest before each run
  BENCH_QUIET_MAX=10  before each run, wait (at most BENCH_QUIET_WAIT s) until other work uses at
  BENCH_QUIET_WAIT=180  most this % of the machine; a run during which other work used more is
  BENCH_RETRIES=1     repeated up to BENCH_RETRIES times, then marked * in the table
  BENCH_IDLE_CONNS=10000    connections in the idle scenario
  BENCH_IDLE_HEARTBEAT=10   heartbeat (s) asked for in the idle scenario, so that heartbeats flow
                      during the hold (the loadgen default, 60, would send none in 15 s)
  LOADGEN=PATH        the load generator; default /tmp/amqp-loadgen/loadgen, (re)built there from
                      bench/amqp/loadgen when missing or older than its sources
  LOADGEN_ARGS=".."   extra loadgen flags for every run, e.g. "--procs 0"
  AMQP_PORT=5692      AMQP port of our broker (its other ports are picked free)
  OURS_START_TIMEOUT=30
  RABBIT_PORT=5674    AMQP port of the private RabbitMQ; it also uses RMQ_DIST_PORT=25684,
                      RMQ_EPMD_PORT=4374, node RMQ_NODENAME=loadgen@localhost and a fresh temporary
                      RMQ_BASE, so it does not collide with run.sh's RabbitMQ (5673)
  OURS_URI / RABBIT_URI=amqp://user:pass@host:port/  an already running broker instead
                      (OURS_PID / RABBIT_PID: its pid, for CPU, RSS and fds; never paused)

File descriptors: the script raises its soft limit (ulimit -n) to the hard limit before starting
anything, so our broker and the load generator inherit it; RabbitMQ gets it through a
RABBITMQ_CONF_ENV_FILE (Debian's wrapper starts it with su, which resets the soft limit to 1024).
Our broker runs with AMQP_MAX_CONNECTIONS=0 and AMQP_MAX_CONNECTIONS_PER_USER=0 (no limit).

Exit status: 0 the harness worked (whatever the figures); 1 the harness itself failed (load
generator missing or unbuildable, a run left no readable result, the report could not be
written); 2 bad usage; 3 no broker could be measured at all.
EOF
}

die_usage() { echo "scale.sh: $*" >&2; echo "try: bench/amqp/scale.sh --help" >&2; exit 2; }

# ------------------------------------------------------------------ options
QUICK=0 ONLY="" SCENARIOS="fanout1k,fanout16k,q1000,q20,idle,churn"
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

RUNS=${BENCH_RUNS:-2}
TIME=${BENCH_TIME:-15}
PAUSE=${BENCH_PAUSE:-2}
if [ "$QUICK" = 1 ]; then RUNS=1; TIME=8; fi
QUIET_MAX=${BENCH_QUIET_MAX:-10}
QUIET_WAIT=${BENCH_QUIET_WAIT:-180}
RETRIES=${BENCH_RETRIES:-1}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
IDLE_HB=${BENCH_IDLE_HEARTBEAT:-10}
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die_usage "BENCH_RUNS must be a positive integer (got '$RUNS')"
[[ "$TIME" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk "BEGIN{exit !($TIME > 2)}" ||
    die_usage "BENCH_TIME must be a number of seconds above the 2 s warmup (got '$TIME')"
[[ "$PAUSE" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die_usage "BENCH_PAUSE must be a number of seconds (got '$PAUSE')"
[[ "$QUIET_MAX" =~ ^[0-9]+$ ]] || die_usage "BENCH_QUIET_MAX must be a whole percentage (got '$QUIET_MAX')"
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || die_usage "BENCH_QUIET_WAIT must be whole seconds (got '$QUIET_WAIT')"
[[ "$RETRIES" =~ ^[0-9]+$ ]] || die_usage "BENCH_RETRIES must be a whole number (got '$RETRIES')"
[[ "$IDLE_CONNS" =~ ^[1-9][0-9]*$ ]] || die_usage "BENCH_IDLE_CONNS must be a positive integer (got '$IDLE_CONNS')"
[[ "$IDLE_HB" =~ ^[0-9]+$ ]] || die_usage "BENCH_IDLE_HEARTBEAT must be whole seconds (got '$IDLE_HB')"

declare -A SC_NAME SC_ARGS
ALL_SC=(fanout1k fanout16k q1000 q20 idle churn)
SC_NAME[fanout1k]="fanout 10 q, 1 KB";              SC_ARGS[fanout1k]="--mode fanout --queues 10 -s 1024 -q 100"
SC_NAME[fanout16k]="fanout 10 q, 16 KB pers+conf";  SC_ARGS[fanout16k]="--mode fanout --queues 10 -s 16384 -q 100 --persistent --confirm 100"
SC_NAME[q1000]="1,000 queues x 10/s";               SC_ARGS[q1000]="--mode queues --queues 1000 --rate 10 --conns 20 -q 100"
SC_NAME[q20]="20 queues x 500/s";                   SC_ARGS[q20]="--mode queues --queues 20 --rate 500 --conns 20 -q 100"
SC_NAME[idle]="$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$IDLE_CONNS") idle conns"
SC_ARGS[idle]="--mode idle --conns $IDLE_CONNS --heartbeat $IDLE_HB"
SC_NAME[churn]="churn, 20 clients";                 SC_ARGS[churn]="--mode churn --clients 20"

SELECTED=()
IFS=',' read -r -a _list <<<"$SCENARIOS"
for s in "${_list[@]}"; do
    s=${s// /}
    [ -z "$s" ] && continue
    [ -n "${SC_NAME[$s]+x}" ] || die_usage "unknown scenario '$s' (known: ${ALL_SC[*]})"
    [[ " ${SELECTED[*]-} " == *" $s "* ]] || SELECTED+=("$s")
done
[ ${#SELECTED[@]} -gt 0 ] || die_usage "--scenarios selects nothing"

BROKERS=()
[ "$ONLY" != rabbit ] && BROKERS+=(ours)
[ "$ONLY" != ours ] && BROKERS+=(rabbit)

AMQP_PORT=${AMQP_PORT:-5692}
RABBIT_PORT=${RABBIT_PORT:-5674}
export RMQ_DIST_PORT=${RMQ_DIST_PORT:-25684} RMQ_EPMD_PORT=${RMQ_EPMD_PORT:-4374} RMQ_NODENAME=${RMQ_NODENAME:-loadgen@localhost}

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
warn() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ state and cleanup
HARNESS_FAILED=0
WORK=$(mktemp -d /tmp/amqp-scale.XXXXXX) || { echo "scale.sh: cannot create a temporary directory" >&2; exit 1; }
OURS_CHILD="" RMQ_BASE="" RMQ_STARTED=0 TOOL_PID="" CUR_SC=""
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
declare -A B_PID B_URI B_UP

stop_ours() {
    [ -n "$OURS_CHILD" ] || return 0
    kill -CONT "$OURS_CHILD" 2>/dev/null
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

rmq() { RMQ_BASE=$RMQ_BASE RMQ_PORT=$RABBIT_PORT RABBITMQ_CONF_ENV_FILE=$RMQ_BASE/rabbitmq-env.conf "$HERE/rabbitmq.sh" "$@"; }

stop_rabbit() {
    [ "$RMQ_STARTED" = 1 ] || return 0
    [ -n "${B_PID[rabbit]:-}" ] && kill -CONT "${B_PID[rabbit]}" 2>/dev/null
    rmq stop >"$WORK/rabbit-stop.log" 2>&1 || warn "stopping RabbitMQ reported a problem: $(tail -n 3 "$WORK/rabbit-stop.log")"
    [ -n "$CUR_SC" ] && [ -d "$RMQ_BASE/log" ] && cat "$RMQ_BASE"/log/*.log >"$WORK/rabbit/$CUR_SC.broker.log" 2>/dev/null
    RMQ_STARTED=0
    [ -n "$RMQ_BASE" ] && rm -rf "$RMQ_BASE"
    RMQ_BASE=""
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
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

wait_quiet() { # wait_quiet PID
    sleep "$PAUSE"
    local m waited=0
    m=($(machine_busy "$1"))
    while [ "${m[1]}" -gt "$QUIET_MAX" ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
        [ "$waited" = 0 ] && log "the machine is ${m[1]}% busy with other work; waiting up to ${QUIET_WAIT} s for it to calm down"
        sleep 4; waited=$((waited + 5))
        m=($(machine_busy "$1"))
    done
    [ "$waited" -gt 0 ] && log "waited ${waited} s; other work now ${m[1]}% of the machine"
    [ "${m[1]}" -gt "$QUIET_MAX" ] && warn "running anyway with other work at ${m[1]}% of the machine"
    return 0
}

set_status() { echo "$3" >"$WORK/$1/$2.status"; printf '%s\n' "$4" >"$WORK/$1/$2.message"; } # BROKER SCENARIO STATUS MESSAGE

# ------------------------------------------------------------------ 1. file descriptors, load generator
HARD=$(ulimit -Hn)
if [ "$HARD" = unlimited ]; then ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null; else ulimit -n "$HARD" 2>/dev/null; fi
NOFILE=$(ulimit -n)
if [[ " ${SELECTED[*]} " == *" idle "* ]] && [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((IDLE_CONNS + 200)) ]; then
    warn "WARNING: the file limit is $NOFILE (ulimit -n, hard limit $HARD), below the $IDLE_CONNS idle connections + 200 that each broker and the load generator need; the idle scenario will fail (run as root with a higher hard limit, or lower BENCH_IDLE_CONNS)"
fi

find_tool() {
    local src=$HERE/loadgen
    if [ -n "${LOADGEN:-}" ]; then
        [ -x "$LOADGEN" ] || { echo "scale.sh: LOADGEN=$LOADGEN is not an executable file" >&2; return 1; }
        TOOL=$LOADGEN
    else
        TOOL=/tmp/amqp-loadgen/loadgen
        if [ ! -x "$TOOL" ] || [ "$src/main.go" -nt "$TOOL" ]; then
            log "building the load generator from $src into $TOOL"
            command -v go >/dev/null || { echo "scale.sh: 'go' is not installed (apt-get install -y golang-go golang-github-rabbitmq-amqp091-go-dev)" >&2; return 1; }
            if ! LOADGEN_OUT=$TOOL "$src/build.sh" >"$WORK/tool-build.log" 2>&1 || [ ! -x "$TOOL" ]; then
                echo "scale.sh: building the load generator failed:" >&2
                tail -n 15 "$WORK/tool-build.log" >&2
                echo "(it needs the Debian packages golang-go and golang-github-rabbitmq-amqp091-go-dev)" >&2
                return 1
            fi
            log "$(tail -n 1 "$WORK/tool-build.log")"
        fi
    fi
    "$TOOL" --help >/dev/null 2>&1 || { echo "scale.sh: $TOOL --help fails; is it amqp-loadgen?" >&2; return 1; }
}
find_tool || exit 1
command -v node >/dev/null || { echo "scale.sh: node is needed (to pick ports and for the report)" >&2; exit 1; }
for s in "${SELECTED[@]}"; do printf '%s\t%s\t%s\n' "$s" "${SC_NAME[$s]}" "${SC_ARGS[$s]}" >>"$WORK/scenarios.tsv"; done
for b in "${BROKERS[@]}"; do mkdir -p "$WORK/$b"; done

# ------------------------------------------------------------------ 2. brokers
# start_ours SCENARIO: sets B_PID/B_URI; false (with a status) if it cannot be measured
start_ours() {
    local s=$1 dir=$WORK/ours
    if [ -n "${OURS_URI:-}" ]; then
        B_URI[ours]=$OURS_URI B_PID[ours]=${OURS_PID:-}
        echo "external $OURS_URI pid ${OURS_PID:-?}" >"$dir/$s.meta"
        return 0
    fi
    B_URI[ours]="amqp://guest:guest@127.0.0.1:$AMQP_PORT/"
    if accepts 127.0.0.1 "$AMQP_PORT"; then
        set_status ours "$s" not-started "port $AMQP_PORT is already in use by another process; set AMQP_PORT"
        return 1
    fi
    local main=$REPO/dist/apps/broker/src/main.js
    if [ ! -f "$main" ]; then
        set_status ours "$s" not-started "$main is missing (npm run build)"
        return 1
    fi
    local newer version
    version="repo $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD -- apps libs 2>/dev/null || echo '+dirty'), dist built $(date -u -r "$main" +%Y-%m-%dT%H:%M:%SZ)"
    newer=$(cd "$REPO" && find apps libs -name '*.ts' -newer "$main" -print -quit 2>/dev/null)
    [ -n "$newer" ] && version="$version (older than $newer)"
    local ports mgmt jobs disp
    ports=$(free_ports 3) || { set_status ours "$s" not-started "could not pick free ports"; return 1; }
    read -r mgmt jobs disp <<<"$ports"
    rm -rf "$dir/data"; mkdir -p "$dir/data"
    (cd "$REPO" && exec env -u CONFIG_FILE DATA_DIR="$dir/data" AMQP_PORT="$AMQP_PORT" MANAGEMENT_PORT="$mgmt" \
        JOBS_PORT="$jobs" DISPATCH_PORT="$disp" BIND_HOST=127.0.0.1 LOG_LEVEL=warn STORE_SYNC=full \
        AMQP_MAX_CONNECTIONS=0 AMQP_MAX_CONNECTIONS_PER_USER=0 node "$main") >"$dir/$s.broker.log" 2>&1 &
    OURS_CHILD=$!
    B_PID[ours]=$OURS_CHILD
    local timeout=${OURS_START_TIMEOUT:-30} t0=$SECONDS
    while ! accepts 127.0.0.1 "$AMQP_PORT"; do
        if ! kill -0 "$OURS_CHILD" 2>/dev/null; then
            wait "$OURS_CHILD"; local code=$?
            OURS_CHILD=""
            set_status ours "$s" not-started "the broker exited with status $code before its AMQP port opened: $(grep -v '^[[:space:]]*$' "$dir/$s.broker.log" | tail -n 1 | cut -c1-300)"
            return 1
        fi
        if [ $((SECONDS - t0)) -ge "$timeout" ]; then
            set_status ours "$s" not-started "pid $OURS_CHILD did not accept connections on 127.0.0.1:$AMQP_PORT within ${timeout} s"
            stop_ours
            return 1
        fi
        sleep 0.2
    done
    echo "$version; pid $OURS_CHILD; $(grep 'open files' /proc/$OURS_CHILD/limits | awk '{print "fd limit " $4}')" >"$dir/$s.meta"
    log "ours: pid $OURS_CHILD on 127.0.0.1:$AMQP_PORT ($version; management $mgmt)"
}

start_rabbit() {
    local s=$1 dir=$WORK/rabbit
    if [ -n "${RABBIT_URI:-}" ]; then
        B_URI[rabbit]=$RABBIT_URI B_PID[rabbit]=${RABBIT_PID:-}
        echo "external $RABBIT_URI pid ${RABBIT_PID:-?}" >"$dir/$s.meta"
        return 0
    fi
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        set_status rabbit "$s" not-installed "rabbitmq-server is not installed (apt-get install -y rabbitmq-server)"
        return 1
    fi
    B_URI[rabbit]="amqp://guest:guest@127.0.0.1:$RABBIT_PORT/"
    RMQ_BASE=$(mktemp -d /tmp/amqp-scale-rmq.XXXXXX) || { set_status rabbit "$s" not-started "cannot create a data directory"; return 1; }
    chmod 755 "$RMQ_BASE"
    # sourced by rabbitmq-env after su has reset the soft file limit to 1024
    printf '%s\n' 'ulimit -S -n "$(ulimit -H -n)" 2>/dev/null || true' >"$RMQ_BASE/rabbitmq-env.conf"
    chmod 644 "$RMQ_BASE/rabbitmq-env.conf"
    RMQ_STARTED=1
    if ! rmq start >"$WORK/rabbit-start.log" 2>&1; then
        set_status rabbit "$s" not-started "RabbitMQ did not start: $(tail -n 3 "$WORK/rabbit-start.log" | tr '\n' ' ')"
        stop_rabbit
        return 1
    fi
    B_PID[rabbit]=$(tail -n 1 "$WORK/rabbit-start.log")
    local lim
    lim=$(grep 'open files' "/proc/${B_PID[rabbit]}/limits" 2>/dev/null | awk '{print $4}')
    echo "RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo '?'), Erlang $(dpkg-query -W -f '${Version}' erlang-base 2>/dev/null || echo '?'); pid ${B_PID[rabbit]}; fd limit ${lim:-?}" >"$dir/$s.meta"
    log "rabbit: pid ${B_PID[rabbit]} on 127.0.0.1:$RABBIT_PORT (fd limit ${lim:-?}, data in $RMQ_BASE)"
}

pausable() { { [ "$1" = ours ] && [ -z "${OURS_URI:-}" ]; } || { [ "$1" = rabbit ] && [ -z "${RABBIT_URI:-}" ]; }; }
pause_broker() { pausable "$1" && [ -n "${B_PID[$1]:-}" ] && kill -STOP "${B_PID[$1]}" 2>/dev/null; return 0; }
resume_broker() { pausable "$1" && [ -n "${B_PID[$1]:-}" ] && kill -CONT "${B_PID[$1]}" 2>/dev/null; return 0; }

broker_alive() { # BROKER
    local pid=${B_PID[$1]:-}
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    accepts "$(uri_host "${B_URI[$1]}")" "$(uri_port "${B_URI[$1]}")"
}

# ------------------------------------------------------------------ 3. runs
# run_once BROKER SCENARIO BASE: one loadgen run into BASE.{json,err,rc,outside}; sets RC
run_once() {
    local b=$1 s=$2 base=$3 pid=${B_PID[$1]:-} pid_args=()
    [ -n "$pid" ] && pid_args=(--broker-pid "$pid")
    wait_quiet "$pid"
    node "$REPORT" snap "$base.snap0" 2>/dev/null
    # the loadgen has its own hard deadline; this timeout is a safety net
    # shellcheck disable=SC2086
    timeout -k 5 "$(awk "BEGIN{print int($TIME + 200)}")" \
        "$TOOL" --uri "${B_URI[$b]}" ${SC_ARGS[$s]} ${LOADGEN_ARGS:-} -z "$TIME" --json --quiet "${pid_args[@]}" \
        >"$base.json" 2>"$base.err" &
    TOOL_PID=$!
    wait "$TOOL_PID"; RC=$?
    TOOL_PID=""
    echo "$RC" >"$base.rc"
    if node "$REPORT" snap "$base.snap1" 2>/dev/null; then
        node "$REPORT" outside "$base.snap0" "$base.snap1" $$ ${pid:-0} >"$base.outside" 2>/dev/null
    fi
    rm -f "$base.snap0" "$base.snap1"
}

# measure_run BROKER SCENARIO N (the broker is woken for it and paused again after)
measure_run() {
    local b=$1 s=$2 n=$3 k rc base summary other others
    resume_broker "$b"
    base=$WORK/$b/$s-$n
    for ((k = 0; ; k++)); do
        run_once "$b" "$s" "$base"; rc=$RC
        other=0 others=""
        [ -f "$base.outside" ] && IFS=$'\t' read -r other others <"$base.outside"
        [[ "$other" =~ ^[0-9]+$ ]] || other=0
        case $rc in
            0|1|2|3)
                if ! summary=$(node "$REPORT" line "$base.json" "$rc"); then
                    warn "$b $s run $n: loadgen (exit $rc) left no readable JSON: $(tail -n 2 "$base.err")"
                    HARNESS_FAILED=1
                fi
                [ "$other" -gt "$QUIET_MAX" ] && summary="$summary  [other work ${other}% of the machine: $others]"
                log "$b $s run $n/$RUNS: $summary" ;;
            124|137)
                log "$b $s run $n/$RUNS: the loadgen did not exit by itself; killed"
                HARNESS_FAILED=1 ;;
            *)
                log "$b $s run $n/$RUNS: the loadgen failed with exit status $rc: $(tail -n 3 "$base.err")"
                HARNESS_FAILED=1 ;;
        esac
        if [ "$rc" = 0 ] && [ "$other" -gt "$QUIET_MAX" ] && [ "$k" -lt "$RETRIES" ]; then
            for f in "$base".*; do mv "$f" "$base-try$((k + 1)).${f##*.}"; done
            log "$b $s run $n: disturbed by other work; repeating it"
            continue
        fi
        break
    done
    if [ "$rc" != 0 ] && ! broker_alive "$b"; then
        set_status "$b" "$s" died "the broker went away during run $n (exit $rc: $(node -e 'try{const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log((r.errors||[])[0]||"")}catch{console.log("no result")}' "$base.json"))"
        log "$b: $(cat "$WORK/$b/$s.message")"
        B_UP[$b]=0
    elif [ "$rc" = 2 ]; then
        set_status "$b" "$s" setup-failed "set-up failed (loadgen exit 2); remaining runs of this scenario skipped"
        B_UP[$b]=0
    fi
    pause_broker "$b"
}

log "loadgen: $TOOL ${LOADGEN_ARGS:-}; $RUNS run(s) x ${TIME} s per scenario; scenarios ${SELECTED[*]}; brokers ${BROKERS[*]}, alternating; fd limit $NOFILE"
for s in "${SELECTED[@]}"; do
    CUR_SC=$s
    log "=== $s: ${SC_NAME[$s]} (${SC_ARGS[$s]}) ==="
    live=()
    for b in "${BROKERS[@]}"; do
        B_PID[$b]="" B_UP[$b]=0
        if "start_$b" "$s"; then
            set_status "$b" "$s" measured ""
            B_UP[$b]=1; live+=("$b")
            pause_broker "$b"
        else
            log "$b: NOT MEASURED: $(cat "$WORK/$b/$s.message")"
        fi
    done
    for ((n = 1; n <= RUNS; n++)); do
        for b in "${live[@]}"; do
            [ "${B_UP[$b]}" = 1 ] && measure_run "$b" "$s" "$n"
        done
    done
    for b in "${live[@]}"; do resume_broker "$b"; done
    stop_ours
    stop_rabbit
done

# ------------------------------------------------------------------ 4. report
OUT=$REPO/bench/results/scale-$STAMP.json
[ -e "$OUT" ] && OUT=$REPO/bench/results/scale-$STAMP-$$.json
BENCH_BROKERS="${BROKERS[*]}" BENCH_RUNS=$RUNS BENCH_TIME=$TIME BENCH_QUIET_MAX=$QUIET_MAX BENCH_RETRIES=$RETRIES BENCH_QUICK=$QUICK \
    BENCH_ONLY=$ONLY BENCH_TOOL=$TOOL BENCH_TOOL_ARGS=${LOADGEN_ARGS:-} BENCH_NOFILE=$NOFILE BENCH_STARTED_AT=$STARTED_AT \
    BENCH_COMMIT=$(git -C "$REPO" rev-parse HEAD 2>/dev/null) node "$REPORT" final "$WORK" "$OUT"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
    echo "scale.sh: writing the report failed (exit $rc)" >&2
    exit 1
fi
if [ "$HARNESS_FAILED" = 1 ]; then
    echo "scale.sh: the harness itself failed during some runs (see the lines above)" >&2
    exit 1
fi
if [ $rc -eq 3 ]; then
    echo "scale.sh: no broker could be measured (see the status lines above)" >&2
    exit 3
fi
exit 0
