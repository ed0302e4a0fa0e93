#!/bin/sh
# A private, loopback-only RabbitMQ (Debian package rabbitmq-server) for the AMQP benchmark.
#
#   usage: bench/amqp/rabbitmq.sh start|stop|restart|status|pid|policy NAME PATTERN JSON
#
# It never touches a default rabbit@localhost instance (5672/25672/4369): it runs as node
# amqpbench@localhost with AMQP on 127.0.0.1:5673, Erlang distribution on 25683, its own epmd on
# 127.0.0.1:4373 and its own data/log dirs under RMQ_BASE. Override with:
#   RMQ_BASE       data, logs, config and pid file   (default /tmp/amqp-bench-rmq)
#   RMQ_NODENAME   Erlang node name                  (default amqpbench@localhost)
#   RMQ_PORT       AMQP listener on 127.0.0.1        (default 5673)
#   RMQ_DIST_PORT  Erlang distribution port          (default 25683)
#   RMQ_EPMD_PORT  private epmd port                 (default 4373)
# Run it as root or as user rabbitmq (Debian's wrapper switches root to user rabbitmq).
# `start` prints the node's OS pid on its last line; `pid` prints just the pid.
set -u
BASE=${RMQ_BASE:-/tmp/amqp-bench-rmq}
export RABBITMQ_NODENAME=${RMQ_NODENAME:-amqpbench@localhost}
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=${RMQ_PORT:-5673}
export RABBITMQ_DIST_PORT=${RMQ_DIST_PORT:-25683}
export ERL_EPMD_PORT=${RMQ_EPMD_PORT:-4373}
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_MNESIA_BASE=$BASE/mnesia
export RABBITMQ_LOG_BASE=$BASE/log
export RABBITMQ_PID_FILE=$BASE/$RABBITMQ_NODENAME.pid
export RABBITMQ_CONFIG_FILE=$BASE/rabbitmq.conf
export RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/enabled_plugins
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
export RABBITMQ_CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'

listening() {
    ss -ltnH "sport = :$1" 2>/dev/null | grep -q .
}

prepare() {
    mkdir -p "$BASE/mnesia" "$BASE/log" || return 1
    cat > "$BASE/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$RABBITMQ_NODE_PORT
loopback_users.guest = true
CONF
    echo '[].' > "$BASE/enabled_plugins"
    # the Debian wrapper runs the node as user rabbitmq when called as root
    if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
        chown -R rabbitmq:rabbitmq "$BASE"
    fi
}

epmd_pid() {
    ss -ltnpH "sport = :$ERL_EPMD_PORT" 2>/dev/null | sed -n 's/.*"epmd",pid=\([0-9]*\).*/\1/p' | head -1
}

node_pid() {
    [ -f "$RABBITMQ_PID_FILE" ] && printf '%s\n' "$(cat "$RABBITMQ_PID_FILE")"
}

start() {
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        echo "rabbitmq-server is not installed (apt-get install -y rabbitmq-server)" >&2; return 1
    fi
    for p in "$RABBITMQ_NODE_PORT" "$RABBITMQ_DIST_PORT"; do
        if listening "$p"; then echo "port $p already in use" >&2; return 1; fi
    done
    prepare || { echo "cannot prepare $BASE" >&2; return 1; }
    rabbitmq-server -detached || { echo "rabbitmq-server -detached failed (logs: $BASE/log)" >&2; return 1; }
    if ! rabbitmqctl wait --timeout 90 "$RABBITMQ_PID_FILE" >/dev/null 2>&1; then
        echo "node $RABBITMQ_NODENAME did not come up within 90 s (logs: $BASE/log)" >&2; return 1
    fi
    # wait for the AMQP listener itself
    i=0
    while ! listening "$RABBITMQ_NODE_PORT"; do
        i=$((i+1)); [ $i -gt 60 ] && { echo "AMQP listener on $RABBITMQ_NODE_PORT did not open" >&2; return 1; }
        sleep 0.5
    done
    echo "started $RABBITMQ_NODENAME on 127.0.0.1:$RABBITMQ_NODE_PORT, data in $BASE"
    node_pid
}

stop_node() {
    if [ -f "$RABBITMQ_PID_FILE" ]; then
        pid=$(node_pid)
        rabbitmqctl stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || {
            [ -n "$pid" ] && kill "$pid" 2>/dev/null
        }
        # rabbitmqctl stop waits for the pid to exit; make sure of it (at most ~10 s, then KILL)
        i=0
        while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
            i=$((i+1))
            if [ $i -gt 40 ]; then kill -9 "$pid" 2>/dev/null; break; fi
            sleep 0.25
        done
        rm -f "$RABBITMQ_PID_FILE"
    fi
}

stop() {
    stop_node
    p=$(epmd_pid)
    if [ -n "$p" ]; then kill "$p" && echo "stopped epmd pid $p (port $ERL_EPMD_PORT)"; fi
    echo "stopped $RABBITMQ_NODENAME"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    restart) stop_node; start ;;
    status) rabbitmqctl -n "$RABBITMQ_NODENAME" status ;;
    pid) node_pid ;;
    policy) rabbitmqctl -n "$RABBITMQ_NODENAME" set_policy --apply-to queues "$2" "$3" "$4" ;;
    *) echo "usage: $0 start|stop|restart|status|pid|policy NAME PATTERN JSON" >&2; exit 2 ;;
esac
