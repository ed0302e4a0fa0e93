# Shell helpers shared by bench/amqp/run.sh and bench/amqp/scale.sh (sourced, not run).

# accepts HOST PORT: true when a TCP connection to it succeeds within 1 s
accepts() {
    timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# host and port out of amqp://user:pass@host:port/vhost
uri_host() { local h=${1#*://}; h=${h##*@}; h=${h%%/*}; h=${h%:*}; echo "${h:-127.0.0.1}"; }
uri_port() { local h=${1#*://}; h=${h##*@}; h=${h%%/*}; [[ "$h" == *:* ]] && echo "${h##*:}" || echo 5672; }

# prints N free TCP ports on 127.0.0.1
free_ports() {
    node -e '
        const net = require("net"); const n = Number(process.argv[1]); const servers = [];
        const next = () => { if (servers.length === n) { console.log(servers.map((s) => s.address().port).join(" ")); servers.forEach((s) => s.close()); return; }
            const s = net.createServer(); s.listen(0, "127.0.0.1", () => { servers.push(s); next(); }); };
        next();' "$1"
}

# cpu_sample [PID]: "TOTAL BUSY PROC" jiffies from /proc/stat (all CPUs) and /proc/PID/stat
cpu_sample() {
    local c=($(head -1 /proc/stat)) i total=0 proc=0
    for i in 1 2 3 4 5 6 7 8; do total=$((total + c[i])); done
    if [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ]; then
        local s
        s=($(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null)) && proc=$((s[11] + s[12]))
    fi
    echo "$total $((total - c[4] - c[5])) $proc"
}

# machine_busy [PID]: "MACHINE OUTSIDE" busy % of the whole machine over one second; OUTSIDE leaves PID out
machine_busy() {
    local a b
    a=($(cpu_sample "${1:-}")); sleep 1; b=($(cpu_sample "${1:-}"))
    local total=$((b[0] - a[0])) busy=$((b[1] - a[1])) proc=$((b[2] - a[2]))
    [ "$total" -gt 0 ] || { echo "0 0"; return; }
    local outside=$((busy - proc)); [ $outside -lt 0 ] && outside=0
    echo "$((100 * busy / total)) $((100 * outside / total))"
}
