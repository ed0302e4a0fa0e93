// Command amqp-loadgen puts AMQP 0-9-1 loads on a broker that amqp-perf (one
// shared queue, one connection per client) cannot express: fanout to many
// queues, thousands of rate-limited queues multiplexed over a few connections,
// tens of thousands of idle connections, and connection churn. It reports its
// own CPU and, with --broker-pid, the broker's CPU, RSS and open files, so two
// brokers can be compared side by side. See README.md in bench/amqp.
//
// Build: GOPATH=/usr/share/gocode GO111MODULE=off go build (see build.sh).
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	toolName    = "amqp-loadgen"
	toolVersion = "0.1.0"
)

// ---------------------------------------------------------------- options

type options struct {
	mode           string
	uri            string
	duration       float64
	warmup         float64
	brokerPid      int
	jsonOut        bool
	quiet          bool
	procs          int
	connectTimeout float64
	setupTimeout   float64
	batch          int
	prefetch       int
	size           int
	queues         int
	rate           float64
	rateTick       float64
	conns          int
	persistent     bool
	confirm        int
	clients        int
	get            bool
	heartbeat      int
	openConc       int
	settle         float64
	check          int
	cpuProfile     string
}

const usageText = `amqp-loadgen: AMQP 0-9-1 load generator for workloads amqp-perf cannot express

usage: amqp-loadgen --mode fanout|queues|idle|churn [flags]

Modes:
  fanout   one publisher to a fanout exchange bound to --queues queues (default 10), one consumer
           (own connection, prefetch -q, manual ack) per queue. Figures: publish rate, total and
           per-queue receive rate, latency.
  queues   --queues queues (default 1000), each with one producer at --rate msg/s (default 10)
           and one consumer; the producers share --conns connections (default 20) and so do the
           consumers (one channel per queue per side). Figures: aggregate receive rate vs the
           target, whether every queue kept up (>= 97% of its target), latency, worst queue p99.
  idle     open --conns connections (default 10000), one channel each, --open-concurrency at a
           time; hold them for -z seconds with heartbeats on; then check every one (or --check N
           of them) with a basic.qos round trip. Figures: connections open, time to open them,
           broker RSS and open files before/after.
  churn    --clients goroutines (default 20), each in a loop: connect, open a channel, declare a
           server-named exclusive queue, publish one message to it, basic.get it back (unless
           --get=false), close. Figures: cycles/s, broker RSS and open files at start, end and
           after --settle seconds, exclusive queues left behind.

Common flags:
  --uri URI            broker URI (default amqp://guest:guest@127.0.0.1:5672/)
  -z, --time S         run time in seconds, warmup included (idle: how long the connections are held)
                       (default 15)
  --warmup S           seconds at the start left out of rates, latencies and CPU (default 2; not idle)
  --broker-pid PID     also report the broker's CPU (/proc/PID/stat), RSS (VmRSS, max and end) and open
                       files (/proc/PID/fd) over the measured window
  --json               print one JSON object on stdout
  --quiet              no progress lines on stderr
  --procs N            GOMAXPROCS (default 1: least CPU on a small box; 0 = one per CPU)
  --heartbeat S        heartbeat requested in tune-ok (default 60; 0 = take the broker's value)
  --connect-timeout S  limit for each connection handshake and each round trip (default 5)
  --setup-timeout S    limit for declaring the topology / opening all idle connections (default 60)
  --cpuprofile FILE    write a Go CPU profile of the run

Load flags:
  -s, --size N         body size in bytes, at least 8 (default 12); starts with the send timestamp
  -q, --prefetch N     consumer prefetch (basic.qos) (default 100)
  --queues N           fanout: queues bound to the exchange (default 10); queues: queues (default 1000)
  --rate R             fanout: cap on the publish rate in msg/s (default 0 = unlimited);
                       queues: msg/s per queue (default 10)
  --rate-tick MS       publish what is due at most every MS ms, in one write (default 1)
  --conns C            queues: producer connections and as many consumer connections (default 20);
                       idle: connections to open (default 10000)
  --persistent         durable queues and delivery mode 2 (fanout, queues)
  --confirm K          fanout: publisher confirms, at most K unconfirmed (default 0 = off)
  --batch N            max publishes/acks coalesced into one socket write (default 64)
  --clients N          churn: concurrent clients (default 20)
  --get=false          churn: do not basic.get the message back
  --open-concurrency N idle: connections being opened at a time; also closing (default 50)
  --check N            idle: connections checked with a round trip at the end (default 0 = all)
  --settle S           idle, churn: wait before the last RSS/fd reading, after closing (default 3)

Exit status: 0 ok; 1 the run had errors (listed in "errors"); 2 bad flags, or cannot connect or
set up; 3 forced exit at the hard deadline.
`

func parseOptions() options {
	var o options
	fs := flag.NewFlagSet(toolName, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usageText) }
	fs.StringVar(&o.mode, "mode", "", "")
	fs.StringVar(&o.uri, "uri", "amqp://guest:guest@127.0.0.1:5672/", "")
	for _, n := range []string{"z", "time", "duration"} {
		fs.Float64Var(&o.duration, n, 15, "")
	}
	fs.Float64Var(&o.warmup, "warmup", 2, "")
	fs.IntVar(&o.brokerPid, "broker-pid", 0, "")
	fs.BoolVar(&o.jsonOut, "json", false, "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.IntVar(&o.procs, "procs", 1, "")
	fs.Float64Var(&o.connectTimeout, "connect-timeout", 5, "")
	fs.Float64Var(&o.setupTimeout, "setup-timeout", 60, "")
	fs.IntVar(&o.batch, "batch", 64, "")
	for _, n := range []string{"q", "prefetch", "qos"} {
		fs.IntVar(&o.prefetch, n, 100, "")
	}
	for _, n := range []string{"s", "size"} {
		fs.IntVar(&o.size, n, 12, "")
	}
	fs.IntVar(&o.queues, "queues", -1, "")
	fs.Float64Var(&o.rate, "rate", -1, "")
	fs.Float64Var(&o.rateTick, "rate-tick", 1, "")
	fs.IntVar(&o.conns, "conns", -1, "")
	fs.BoolVar(&o.persistent, "persistent", false, "")
	fs.IntVar(&o.confirm, "confirm", 0, "")
	fs.IntVar(&o.clients, "clients", 20, "")
	fs.BoolVar(&o.get, "get", true, "")
	fs.IntVar(&o.heartbeat, "heartbeat", 60, "")
	fs.IntVar(&o.openConc, "open-concurrency", 50, "")
	fs.Float64Var(&o.settle, "settle", 3, "")
	fs.IntVar(&o.check, "check", 0, "")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	bad := func(format string, a ...interface{}) {
		fmt.Fprintf(os.Stderr, toolName+": "+format+" (see --help)\n", a...)
		os.Exit(2)
	}
	def := func(v *int, d int) {
		if *v < 0 {
			*v = d
		}
	}
	switch o.mode {
	case "fanout":
		def(&o.queues, 10)
		if o.rate < 0 {
			o.rate = 0
		}
	case "queues":
		def(&o.queues, 1000)
		def(&o.conns, 20)
		if o.rate < 0 {
			o.rate = 10
		}
	case "idle":
		def(&o.conns, 10000)
	case "churn":
	case "":
		bad("--mode is required: fanout, queues, idle or churn")
	default:
		bad("unknown --mode %q: fanout, queues, idle or churn", o.mode)
	}
	if o.rate < 0 {
		o.rate = 0
	}
	only := func(flagName string, modes ...string) {
		if !set[flagName] {
			return
		}
		for _, m := range modes {
			if m == o.mode {
				return
			}
		}
		bad("--%s does not apply to --mode %s", flagName, o.mode)
	}
	only("queues", "fanout", "queues")
	only("rate", "fanout", "queues")
	only("conns", "queues", "idle")
	only("persistent", "fanout", "queues")
	only("confirm", "fanout")
	only("clients", "churn")
	only("get", "churn")
	only("check", "idle")
	only("open-concurrency", "idle")
	only("settle", "idle", "churn")
	switch {
	case fs.NArg() > 0:
		bad("unexpected argument %q", fs.Arg(0))
	case o.duration <= 0 || o.warmup < 0 || (o.mode != "idle" && o.warmup >= o.duration):
		bad("need -z > --warmup >= 0 (got -z %g --warmup %g)", o.duration, o.warmup)
	case o.prefetch < 0 || o.prefetch > 65535:
		bad("-q must be 0..65535")
	case o.mode == "fanout" && (o.queues < 1 || o.queues > 2000):
		bad("--queues must be 1..2000 for fanout")
	case o.mode == "queues" && o.queues < 1:
		bad("--queues must be at least 1")
	case o.mode == "queues" && o.rate <= 0:
		bad("--rate must be > 0 for --mode queues")
	case (o.mode == "queues" || o.mode == "idle") && o.conns < 1:
		bad("--conns must be at least 1")
	case o.mode == "churn" && o.clients < 1:
		bad("--clients must be at least 1")
	case o.confirm < 0 || o.rate < 0 || o.rateTick < 0 || o.batch < 1 || o.connectTimeout <= 0 ||
		o.setupTimeout <= 0 || o.procs < 0 || o.heartbeat < 0 || o.heartbeat > 65535 || o.openConc < 1 ||
		o.settle < 0 || o.check < 0:
		bad("--confirm, --rate, --rate-tick, --heartbeat, --settle, --check must be >= 0; --batch, " +
			"--open-concurrency >= 1; --connect-timeout, --setup-timeout > 0")
	case strings.HasPrefix(o.uri, "amqps:"):
		bad("amqps:// is not supported")
	}
	if o.mode == "queues" {
		if o.conns > o.queues {
			o.conns = o.queues
		}
		if per := (o.queues + o.conns - 1) / o.conns; per > 2000 {
			bad("--queues %d over --conns %d is %d channels per connection; raise --conns", o.queues, o.conns, per)
		}
	}
	if o.size < 8 {
		fmt.Fprintf(os.Stderr, "%s: -s %d is below the 8-byte timestamp; using 8\n", toolName, o.size)
		o.size = 8
	}
	return o
}

// ---------------------------------------------------------------- clock

var clockBase = time.Now()

// nowNanos is nanoseconds since process start on the monotonic clock; message
// timestamps use it, so latency is only meaningful inside this one process.
func nowNanos() int64 { return int64(time.Since(clockBase)) }

// ---------------------------------------------------------------- histogram

// A log-linear histogram of nanosecond values: exact below 2^(sub+1) ns, then
// 2^sub linear sub-buckets per power of two (sub 7: < 0.8% error; sub 4: < 6.3%).
// Safe for concurrent writers (atomics); read it once the writers are done.
type histogram struct {
	sub    uint
	counts []uint64
	n      uint64
	min    int64
	max    int64
}

func newHistogram(sub uint) *histogram {
	s := 1 << sub
	return &histogram{sub: sub, counts: make([]uint64, 2*s+(62-int(sub))*s), min: math.MaxInt64}
}

func (h *histogram) bucketOf(v int64) int {
	s := int64(1) << h.sub
	if v < 2*s {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - int(h.sub+1)
	return int(2*s) + (shift-1)*int(s) + int(uint64(v)>>uint(shift)) - int(s)
}

func (h *histogram) bucketRange(i int) (lo, hi int64) {
	s := 1 << h.sub
	if i < 2*s {
		return int64(i), int64(i)
	}
	j := i - 2*s
	shift := uint(j/s + 1)
	lo = int64(j%s+s) << shift
	return lo, lo + (int64(1) << shift) - 1
}

func (h *histogram) record(v int64) {
	if v < 0 {
		v = 0
	}
	atomic.AddUint64(&h.counts[h.bucketOf(v)], 1)
	for m := atomic.LoadInt64(&h.min); v < m && !atomic.CompareAndSwapInt64(&h.min, m, v); m = atomic.LoadInt64(&h.min) {
	}
	for m := atomic.LoadInt64(&h.max); v > m && !atomic.CompareAndSwapInt64(&h.max, m, v); m = atomic.LoadInt64(&h.max) {
	}
	atomic.AddUint64(&h.n, 1)
}

func (h *histogram) count() uint64 { return atomic.LoadUint64(&h.n) }

// quantile in nanoseconds (bucket middle, clamped to the exact min and max); -1 if empty
func (h *histogram) quantile(p float64) float64 {
	var n uint64
	for i := range h.counts {
		n += atomic.LoadUint64(&h.counts[i])
	}
	if n == 0 {
		return -1
	}
	rank := uint64(math.Ceil(p * float64(n)))
	if rank < 1 {
		rank = 1
	}
	mn, mx := float64(atomic.LoadInt64(&h.min)), float64(atomic.LoadInt64(&h.max))
	var cum uint64
	for i := range h.counts {
		cum += atomic.LoadUint64(&h.counts[i])
		if cum >= rank {
			lo, hi := h.bucketRange(i)
			return math.Max(mn, math.Min(mx, float64(lo+hi)/2))
		}
	}
	return mx
}

type latencyStats struct {
	Samples uint64  `json:"samples"`
	Min     float64 `json:"min"`
	Median  float64 `json:"median"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

func (h *histogram) stats() *latencyStats {
	if h.count() == 0 {
		return nil
	}
	return &latencyStats{Samples: h.count(), Min: ms(float64(atomic.LoadInt64(&h.min))), Median: ms(h.quantile(0.5)),
		P95: ms(h.quantile(0.95)), P99: ms(h.quantile(0.99)), Max: ms(float64(atomic.LoadInt64(&h.max)))}
}

func ms(ns float64) float64    { return math.Round(ns/1e3) / 1e3 } // ns -> ms, 3 decimals
func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// ---------------------------------------------------------------- sockets

// corkConn sits between the AMQP library and the TCP socket (as in amqp-perf).
// The library flushes every frame (3 per publish); a goroutine "corks" the
// connection while it publishes or acks a batch and flushes once at the end.
// Several goroutines may cork one connection (--mode queues): every Cork is
// followed by its own Flush, and a Flush writes everyone's pending frames, so
// nothing is left behind. No SetReadDeadline, so the library does not reset a
// read deadline after every frame it receives.
type corkConn struct {
	nc     net.Conn
	mu     sync.Mutex
	buf    []byte
	corked bool
	err    error
	writes uint64
}

const corkLimit = 64 << 10

func (c *corkConn) Read(p []byte) (int, error)    { return c.nc.Read(p) }
func (c *corkConn) Close() error                  { return c.nc.Close() }
func (c *corkConn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }
func (c *corkConn) Cork()                         { c.mu.Lock(); c.corked = true; c.mu.Unlock() }
func (c *corkConn) socketWrites() uint64          { return atomic.LoadUint64(&c.writes) }

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.corked && len(c.buf) == 0 {
		atomic.AddUint64(&c.writes, 1)
		n, err := c.nc.Write(p)
		if err != nil {
			c.err = err
		}
		return n, err
	}
	c.buf = append(c.buf, p...)
	if !c.corked || len(c.buf) >= corkLimit {
		c.flushLocked()
	}
	if c.err != nil {
		return 0, c.err
	}
	return len(p), nil
}

func (c *corkConn) flushLocked() {
	if len(c.buf) == 0 || c.err != nil {
		return
	}
	atomic.AddUint64(&c.writes, 1)
	if _, err := c.nc.Write(c.buf); err != nil {
		c.err = err
	}
	c.buf = c.buf[:0]
}

// Flush uncorks and writes whatever is pending in one write.
func (c *corkConn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	c.flushLocked()
	return c.err
}

// countConn counts the bytes received (idle mode: did the broker send
// heartbeats?). It keeps net.Conn's SetReadDeadline, so the library closes a
// connection whose broker stays silent for 3 heartbeat intervals.
type countConn struct {
	net.Conn
	rx atomic.Int64
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.rx.Add(int64(n))
	}
	return n, err
}

// ---------------------------------------------------------------- /proc readings

const clkTck = 100 // USER_HZ on Linux

func tvSec(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func selfCPU() (user, sys float64, maxRSSKB int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return tvSec(ru.Utime), tvSec(ru.Stime), ru.Maxrss
}

func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clkTck
}

func machineCPU() (total, idle uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line := strings.SplitN(string(b), "\n", 2)[0]
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return
}

// procRSSKB is VmRSS of pid in kB, -1 if unknown.
func procRSSKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, err := strconv.ParseInt(f[1], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// procFDs is the number of open files of pid (entries of /proc/PID/fd), -1 if unknown.
func procFDs(pid int) int {
	d, err := os.Open(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(4096)
		n += len(names)
		if err != nil {
			break
		}
	}
	return n
}

// procFDLimit is the soft "Max open files" of pid, -1 if unknown, 0 if unlimited.
func procFDLimit(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(strings.TrimPrefix(line, "Max open files"))
			if len(f) >= 1 {
				if f[0] == "unlimited" {
					return 0
				}
				v, err := strconv.Atoi(f[0])
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// raiseNoFile sets this process's soft RLIMIT_NOFILE to its hard limit.
func raiseNoFile() (soft, hard uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	return rl.Cur, rl.Max
}

type cpuSnap struct {
	wall          int64
	user, sys     float64 // this process, seconds
	broker        float64 // seconds, -1 if unknown
	mTotal, mIdle uint64  // /proc/stat jiffies
}

func (b *base) snap() cpuSnap {
	s := cpuSnap{wall: nowNanos(), broker: -1}
	s.user, s.sys, _ = selfCPU()
	if b.o.brokerPid > 0 {
		s.broker = procCPU(b.o.brokerPid)
	}
	s.mTotal, s.mIdle = machineCPU()
	return s
}

// brokerMon samples the broker's RSS twice a second, keeping the maximum seen
// while a window is open.
type brokerMon struct {
	pid    int
	mu     sync.Mutex
	active bool
	maxKB  int64
}

func (m *brokerMon) loop() {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		m.sample()
	}
}

func (m *brokerMon) sample() int64 {
	kb := procRSSKB(m.pid)
	m.mu.Lock()
	if m.active && kb > m.maxKB {
		m.maxKB = kb
	}
	m.mu.Unlock()
	return kb
}

func (m *brokerMon) open() int64 {
	m.mu.Lock()
	m.active, m.maxKB = true, -1
	m.mu.Unlock()
	return m.sample()
}

func (m *brokerMon) close() (endKB, maxKB int64) {
	endKB = m.sample()
	m.mu.Lock()
	m.active = false
	maxKB = m.maxKB
	m.mu.Unlock()
	return
}

func mbPtr(kb int64) *float64 {
	if kb < 0 {
		return nil
	}
	v := round1(float64(kb) / 1024)
	return &v
}

func intPtr(v int) *int {
	if v < 0 {
		return nil
	}
	return &v
}

// ---------------------------------------------------------------- results

type cpuResult struct {
	ToolUserS          float64  `json:"tool_user_s"`
	ToolSysS           float64  `json:"tool_sys_s"`
	ToolPctOfOneCore   float64  `json:"tool_pct_of_one_core"`
	ToolPctOfMachine   float64  `json:"tool_pct_of_machine"`
	ToolTotalS         float64  `json:"tool_total_s"`
	BrokerPctOfOneCore *float64 `json:"broker_pct_of_one_core,omitempty"`
	MachineBusyPct     float64  `json:"machine_busy_pct"`
	OtherPctOfOneCore  *float64 `json:"other_pct_of_one_core,omitempty"`
	CPUs               int      `json:"cpus"`
	GoMaxProcs         int      `json:"gomaxprocs"`
}

type brokerResult struct {
	Pid             int      `json:"pid"`
	CPUPctOfOneCore *float64 `json:"cpu_pct_of_one_core,omitempty"`
	RSSMBStart      *float64 `json:"rss_mb_start"`
	RSSMBMax        *float64 `json:"rss_mb_max"`
	RSSMBEnd        *float64 `json:"rss_mb_end"`
	FDsStart        *int     `json:"fds_start"`
	FDsEnd          *int     `json:"fds_end"`
	FDLimit         *int     `json:"fd_limit"`
	// idle: after the connections are open; idle, churn: after closing and --settle
	RSSMBAfterOpen   *float64 `json:"rss_mb_after_open,omitempty"`
	FDsAfterOpen     *int     `json:"fds_after_open,omitempty"`
	RSSMBAfterSettle *float64 `json:"rss_mb_after_settle,omitempty"`
	FDsAfterSettle   *int     `json:"fds_after_settle,omitempty"`
	CPUSOpen         *float64 `json:"cpu_s_opening,omitempty"`
}

type rateSummary struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

type fanoutResult struct {
	Queues              int           `json:"queues"`
	SendRate            float64       `json:"send_rate"`
	ConfirmRate         float64       `json:"confirm_rate"`
	ReceiveRate         float64       `json:"receive_rate"` // sum over the consumers
	PerQueueReceiveRate rateSummary   `json:"per_queue_receive_rate"`
	Published           int64         `json:"published"`
	Confirmed           int64         `json:"confirmed"`
	Nacked              int64         `json:"nacked"`
	Received            int64         `json:"received"`
	PublishedWindow     int64         `json:"published_window"`
	ReceivedWindow      int64         `json:"received_window"`
	BacklogAtEnd        int64         `json:"backlog_at_end"` // published x queues - received
	Latency             *latencyStats `json:"latency_ms"`
	ConfirmLatency      *latencyStats `json:"confirm_latency_ms,omitempty"`
	BlockedEvents       int64         `json:"blocked_events"`
	SocketWritesProd    uint64        `json:"socket_writes_producer"`
	SocketWritesCons    uint64        `json:"socket_writes_consumers"`
}

type queuesResult struct {
	Queues             int           `json:"queues"`
	RatePerQueue       float64       `json:"rate_per_queue"`
	ProducerConns      int           `json:"producer_connections"`
	ConsumerConns      int           `json:"consumer_connections"`
	SetupS             float64       `json:"setup_s"`
	TargetRate         float64       `json:"target_rate"`
	SendRate           float64       `json:"send_rate"`
	ReceiveRate        float64       `json:"receive_rate"`
	ReceivePctOfTarget float64       `json:"receive_pct_of_target"`
	KeptUp             bool          `json:"kept_up"`            // aggregate >= 97% of target
	QueuesBelow97      int           `json:"queues_below_97pct"` // queues that received < 97% of their target
	AllKeptUp          bool          `json:"all_kept_up"`        // kept_up and no queue below 97%
	PerQueueReceive    rateSummary   `json:"per_queue_receive_rate"`
	Latency            *latencyStats `json:"latency_ms"`
	WorstQueueP99      float64       `json:"worst_queue_p99_ms"`
	WorstQueue         string        `json:"worst_queue"`
	MedianQueueP99     float64       `json:"median_queue_p99_ms"`
	Published          int64         `json:"published"`
	Received           int64         `json:"received"`
	BacklogAtEnd       int64         `json:"backlog_at_end"`
	BlockedEvents      int64         `json:"blocked_events"`
}

type idleResult struct {
	Requested        int           `json:"requested"`
	Opened           int           `json:"opened"`
	Failed           int           `json:"failed"`
	NotAttempted     int           `json:"not_attempted"`
	FailureKinds     []string      `json:"failure_kinds"`
	OpenS            float64       `json:"open_s"`
	OpenRate         float64       `json:"open_rate"`
	OpenLatency      *latencyStats `json:"open_latency_ms"`
	HeartbeatS       int           `json:"heartbeat_negotiated_s"`
	HoldS            float64       `json:"hold_s"`
	ClosedDuringHold int           `json:"closed_during_hold"`
	CloseReasons     []string      `json:"close_reasons"`
	Checked          int           `json:"checked"`
	CheckOK          int           `json:"check_ok"`
	CheckFailures    []string      `json:"check_failures"`
	AllOpenAtEnd     bool          `json:"all_open_at_end"`
	HeartbeatsSeen   int           `json:"conns_with_broker_heartbeat"`
	BrokerKBPerConn  *float64      `json:"broker_kb_per_conn,omitempty"`
	BrokerFDsPerConn *float64      `json:"broker_fds_per_conn,omitempty"`
	CloseS           float64       `json:"close_s"`
	ToolFDLimit      uint64        `json:"tool_fd_limit"`
	CheckLatency     *latencyStats `json:"check_latency_ms"`
}

type churnResult struct {
	Clients        int            `json:"clients"`
	Get            bool           `json:"get"`
	CyclesPerS     float64        `json:"cycles_per_s"`
	Cycles         int64          `json:"cycles"`
	CyclesWindow   int64          `json:"cycles_window"`
	Failed         int64          `json:"failed"`
	FailedByStage  map[string]int `json:"failed_by_stage"`
	GetEmpty       int64          `json:"get_empty"`
	CycleLatency   *latencyStats  `json:"cycle_ms"`
	QueuesChecked  int            `json:"queues_checked"`
	QueuesLeft     int            `json:"queues_left_behind"`
	RSSGrowthMB    *float64       `json:"rss_growth_mb,omitempty"` // after settle - start
	FDGrowth       *int           `json:"fd_growth,omitempty"`     // after settle - start
	RSSGrowthPer1k *float64       `json:"rss_growth_mb_per_1k_cycles,omitempty"`
}

type result struct {
	Tool          string                 `json:"tool"`
	Version       string                 `json:"version"`
	Mode          string                 `json:"mode"`
	URI           string                 `json:"uri"`
	Settings      map[string]interface{} `json:"settings"`
	DurationS     float64                `json:"duration_s"`
	WarmupS       float64                `json:"warmup_s"`
	WindowS       float64                `json:"window_s"`
	Headline      string                 `json:"headline"`
	HeadlineValue float64                `json:"headline_value"`
	HeadlineUnit  string                 `json:"headline_unit"`
	Fanout        *fanoutResult          `json:"fanout,omitempty"`
	Queues        *queuesResult          `json:"queues,omitempty"`
	Idle          *idleResult            `json:"idle,omitempty"`
	Churn         *churnResult           `json:"churn,omitempty"`
	CPU           cpuResult              `json:"cpu"`
	Broker        *brokerResult          `json:"broker,omitempty"`
	ToolMaxRSSMB  float64                `json:"tool_max_rss_mb"`
	Notes         []string               `json:"notes"`
	Errors        []string               `json:"errors"`
	ExitCode      int                    `json:"exit_code"`
}

// ---------------------------------------------------------------- base: connections, errors, output

type base struct {
	o       options
	uri     amqp.URI
	safeURI string
	connTO  time.Duration
	tag     string // unique per run, in queue and exchange names

	errMu    sync.Mutex
	errs     []string
	moreErrs int
	abortC   chan struct{}
	aborted  bool
	teardown atomic.Bool
	blocked  atomic.Int64

	connMu  sync.Mutex
	conns   []*amqp.Connection
	sockets []net.Conn

	mon        *brokerMon
	finalized  bool
	res        *result
	resMu      sync.Mutex
	finishOnce sync.Once
}

func newBase(o options) (*base, error) {
	u, err := amqp.ParseURI(o.uri)
	if err != nil {
		return nil, fmt.Errorf("bad --uri %q: %v", o.uri, err)
	}
	b := &base{o: o, uri: u, connTO: time.Duration(o.connectTimeout * float64(time.Second)), abortC: make(chan struct{})}
	user := u.Username
	if u.Password != "" {
		user += ":***"
	}
	vhost := "/"
	if u.Vhost != "/" {
		vhost = "/" + url.PathEscape(u.Vhost)
	}
	b.safeURI = fmt.Sprintf("%s://%s@%s%s", u.Scheme, user, net.JoinHostPort(u.Host, strconv.Itoa(u.Port)), vhost)
	b.tag = fmt.Sprintf("loadgen-%d-%d", os.Getpid(), time.Now().UnixNano()%1000000)
	if o.brokerPid > 0 {
		b.mon = &brokerMon{pid: o.brokerPid}
		go b.mon.loop()
	}
	return b, nil
}

func (b *base) logf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, toolName+": "+format+"\n", a...)
}

func (b *base) progress(format string, a ...interface{}) {
	if !b.o.quiet {
		b.logf(format, a...)
	}
}

// addErr records an error without ending the run (ignored once teardown began).
func (b *base) addErr(err error) {
	if b.teardown.Load() {
		return
	}
	b.errMu.Lock()
	defer b.errMu.Unlock()
	b.addErrLocked(err.Error())
}

func (b *base) addErrLocked(msg string) {
	if len(b.errs) < 8 {
		b.errs = append(b.errs, msg)
		b.logf("%s", msg)
	} else {
		b.moreErrs++
	}
}

// fail records an error and ends the run early (ignored once teardown began).
func (b *base) fail(err error) {
	if b.teardown.Load() {
		return
	}
	b.errMu.Lock()
	defer b.errMu.Unlock()
	b.addErrLocked(err.Error())
	if !b.aborted {
		b.aborted = true
		close(b.abortC)
	}
}

func (b *base) isAborted() bool {
	select {
	case <-b.abortC:
		return true
	default:
		return false
	}
}

func (b *base) errors() []string {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	out := append([]string{}, b.errs...)
	if b.moreErrs > 0 {
		out = append(out, fmt.Sprintf("(%d more errors)", b.moreErrs))
	}
	return out
}

func (b *base) amqpConfig(name string) amqp.Config {
	return amqp.Config{
		SASL:      []amqp.Authentication{b.uri.PlainAuth()},
		Vhost:     b.uri.Vhost,
		Heartbeat: time.Duration(b.o.heartbeat) * time.Second,
		Locale:    "en_US",
		Properties: amqp.Table{
			"product":         toolName,
			"version":         toolVersion,
			"platform":        "golang " + runtime.Version(),
			"connection_name": toolName + " " + name,
		},
	}
}

// dialWith opens a TCP connection and an AMQP connection over wrap(socket);
// the whole handshake is limited to --connect-timeout. track: remember it so
// teardown can close it.
func (b *base) dialWith(name string, wrap func(net.Conn) io.ReadWriteCloser, track bool) (*amqp.Connection, net.Conn, error) {
	addr := net.JoinHostPort(b.uri.Host, strconv.Itoa(b.uri.Port))
	nc, err := net.DialTimeout("tcp", addr, b.connTO)
	if err != nil {
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(b.connTO)) // the library clears it once open
	conn, err := amqp.Open(wrap(nc), b.amqpConfig(name))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	if track {
		b.connMu.Lock()
		b.conns = append(b.conns, conn)
		b.sockets = append(b.sockets, nc)
		b.connMu.Unlock()
	}
	return conn, nc, nil
}

func (b *base) dialCork(name string) (*amqp.Connection, *corkConn, error) {
	var raw *corkConn
	conn, _, err := b.dialWith(name, func(nc net.Conn) io.ReadWriteCloser { raw = &corkConn{nc: nc}; return raw }, true)
	return conn, raw, err
}

// watch ends the run if a connection or channel closes unexpectedly, and
// counts connection.blocked notifications.
func (b *base) watch(name string, conn *amqp.Connection, chs ...*amqp.Channel) {
	cc := conn.NotifyClose(make(chan *amqp.Error, 1))
	bc := conn.NotifyBlocked(make(chan amqp.Blocking, 8))
	for i, ch := range chs {
		chc := ch.NotifyClose(make(chan *amqp.Error, 1))
		go func(i int) {
			if e, ok := <-chc; ok && e != nil {
				b.fail(fmt.Errorf("%s: channel %d closed by broker: %v", name, i+1, e))
			}
		}(i)
	}
	go func() {
		for cc != nil || bc != nil {
			select {
			case e, ok := <-cc:
				if ok && e != nil {
					b.fail(fmt.Errorf("%s: connection closed by broker: %v", name, e))
				} else if !ok && !b.teardown.Load() {
					b.fail(fmt.Errorf("%s: connection closed", name))
				}
				cc = nil
			case bl, ok := <-bc:
				if !ok {
					bc = nil
				} else if bl.Active {
					b.blocked.Add(1)
					b.progress("%s: connection blocked by broker (%s)", name, bl.Reason)
				}
			}
		}
	}()
}

// closeAll closes every tracked connection politely (at most conc at a time),
// then forcibly after d.
func (b *base) closeAll(d time.Duration, conc int) {
	b.connMu.Lock()
	conns := append([]*amqp.Connection{}, b.conns...)
	b.connMu.Unlock()
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func(c *amqp.Connection) { defer wg.Done(); _ = c.Close(); <-sem }(c)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
	b.forceCloseAll()
}

func (b *base) forceCloseAll() {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	for _, s := range b.sockets {
		_ = s.Close()
	}
}

// withTimeout runs f, giving up after d (f keeps running in the background).
func withTimeout(d time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("no answer within %v", d)
	}
}

func (b *base) newResult(mode string) *result {
	o := b.o
	res := &result{Tool: toolName, Version: toolVersion, Mode: mode, URI: b.safeURI, DurationS: o.duration,
		WarmupS: o.warmup, Notes: []string{}, Errors: []string{}, Settings: map[string]interface{}{}}
	s := res.Settings
	s["heartbeat_requested_s"] = o.heartbeat
	s["procs"] = o.procs
	switch mode {
	case "fanout":
		s["queues"], s["size"], s["prefetch"], s["persistent"], s["confirm"], s["rate"], s["batch"] =
			o.queues, o.size, o.prefetch, o.persistent, o.confirm, o.rate, o.batch
	case "queues":
		s["queues"], s["size"], s["prefetch"], s["persistent"], s["rate_per_queue"], s["conns"], s["batch"] =
			o.queues, o.size, o.prefetch, o.persistent, o.rate, o.conns, o.batch
	case "idle":
		s["conns"], s["open_concurrency"], s["check"], s["settle_s"] = o.conns, o.openConc, o.check, o.settle
		res.WarmupS = 0
	case "churn":
		s["clients"], s["get"], s["size"], s["settle_s"] = o.clients, o.get, o.size, o.settle
	}
	if o.brokerPid > 0 {
		res.Broker = &brokerResult{Pid: o.brokerPid, FDLimit: intPtr(procFDLimit(o.brokerPid))}
	}
	return res
}

// fillCPU fills res.CPU (and the broker's CPU) over the window c0..c1.
func (b *base) fillCPU(res *result, c0, c1 cpuSnap) {
	wall := float64(c1.wall-c0.wall) / 1e9
	cpus := runtime.NumCPU()
	tool := (c1.user - c0.user) + (c1.sys - c0.sys)
	res.CPU.CPUs = cpus
	res.CPU.GoMaxProcs = runtime.GOMAXPROCS(0)
	if wall <= 0 {
		return
	}
	res.CPU.ToolUserS = round3(c1.user - c0.user)
	res.CPU.ToolSysS = round3(c1.sys - c0.sys)
	res.CPU.ToolPctOfOneCore = round1(100 * tool / wall)
	res.CPU.ToolPctOfMachine = round1(100 * tool / wall / float64(cpus))
	if dt := c1.mTotal - c0.mTotal; dt > 0 {
		res.CPU.MachineBusyPct = round1(100 * (1 - float64(c1.mIdle-c0.mIdle)/float64(dt)))
	}
	if b.o.brokerPid > 0 && c0.broker >= 0 && c1.broker >= 0 {
		bp := round1(100 * (c1.broker - c0.broker) / wall)
		other := round1(res.CPU.MachineBusyPct*float64(cpus) - bp - res.CPU.ToolPctOfOneCore)
		res.CPU.BrokerPctOfOneCore = &bp
		res.CPU.OtherPctOfOneCore = &other
		if res.Broker != nil {
			res.Broker.CPUPctOfOneCore = &bp
		}
	}
}

func (b *base) finalizeTotals(res *result) {
	if b.finalized {
		return
	}
	b.finalized = true
	u, s, rss := selfCPU()
	res.CPU.ToolTotalS = round3(u + s)
	res.ToolMaxRSSMB = round1(float64(rss) / 1024)
	res.Errors = append(res.Errors, b.errors()...)
	res.Notes = dedupe(res.Notes)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// finish prints the result (if any) and exits; only the first caller prints.
func (b *base) finish(code int, msg string) {
	b.finishOnce.Do(func() {
		if msg != "" {
			b.logf("%s", msg)
		}
		b.resMu.Lock()
		res := b.res
		if res == nil {
			res = b.newResult(b.o.mode)
			b.fillCPU(res, cpuSnap{}, cpuSnap{})
		}
		b.finalizeTotals(res)
		if msg != "" {
			res.Errors = append(res.Errors, msg)
		}
		res.ExitCode = code
		b.print(res)
		os.Exit(code)
	})
	select {} // another goroutine is exiting
}

func (b *base) print(res *result) {
	if b.o.jsonOut {
		out, _ := json.Marshal(res)
		fmt.Println(string(out))
		return
	}
	w := os.Stdout
	fmt.Fprintf(w, "%s %s  --mode %s  %s  window %.1f s\n", toolName, toolVersion, res.Mode, res.URI, res.WindowS)
	if res.Headline != "" {
		fmt.Fprintf(w, "  headline      %s = %g %s\n", res.Headline, res.HeadlineValue, res.HeadlineUnit)
	}
	lat := func(label string, l *latencyStats) {
		if l == nil {
			fmt.Fprintf(w, "  %-13s n/a\n", label)
			return
		}
		fmt.Fprintf(w, "  %-13s min %.3f  median %.3f  p95 %.3f  p99 %.3f  max %.3f  (n=%d)\n",
			label, l.Min, l.Median, l.P95, l.P99, l.Max, l.Samples)
	}
	switch {
	case res.Fanout != nil:
		f := res.Fanout
		fmt.Fprintf(w, "  publish       %.0f msg/s (confirmed %.0f msg/s) to %d queues\n", f.SendRate, f.ConfirmRate, f.Queues)
		fmt.Fprintf(w, "  receive       %.0f msg/s in all; per queue min %.0f  mean %.0f  max %.0f\n",
			f.ReceiveRate, f.PerQueueReceiveRate.Min, f.PerQueueReceiveRate.Mean, f.PerQueueReceiveRate.Max)
		lat("latency ms", f.Latency)
		if f.ConfirmLatency != nil {
			lat("confirm ms", f.ConfirmLatency)
		}
		fmt.Fprintf(w, "  messages      published %d, confirmed %d, nacked %d, received %d; backlog at end %d\n",
			f.Published, f.Confirmed, f.Nacked, f.Received, f.BacklogAtEnd)
	case res.Queues != nil:
		q := res.Queues
		fmt.Fprintf(w, "  queues        %d x %g msg/s over %d+%d connections (set up in %.1f s)\n",
			q.Queues, q.RatePerQueue, q.ProducerConns, q.ConsumerConns, q.SetupS)
		fmt.Fprintf(w, "  receive       %.0f msg/s of %.0f target (%.1f%%); sent %.0f msg/s; kept up %v; queues below 97%%: %d\n",
			q.ReceiveRate, q.TargetRate, q.ReceivePctOfTarget, q.SendRate, q.KeptUp, q.QueuesBelow97)
		lat("latency ms", q.Latency)
		fmt.Fprintf(w, "  worst queue   p99 %.3f ms (%s); median of the queues' p99 %.3f ms\n", q.WorstQueueP99, q.WorstQueue, q.MedianQueueP99)
	case res.Idle != nil:
		i := res.Idle
		fmt.Fprintf(w, "  opened        %d of %d in %.1f s (%.0f/s); failed %d, not attempted %d\n",
			i.Opened, i.Requested, i.OpenS, i.OpenRate, i.Failed, i.NotAttempted)
		for _, k := range i.FailureKinds {
			fmt.Fprintf(w, "    failure: %s\n", k)
		}
		lat("open ms", i.OpenLatency)
		fmt.Fprintf(w, "  held          %.1f s, heartbeat %d s; closed during hold %d; checked %d, ok %d; all open at end %v; "+
			"broker heartbeats seen on %d\n", i.HoldS, i.HeartbeatS, i.ClosedDuringHold, i.Checked, i.CheckOK, i.AllOpenAtEnd, i.HeartbeatsSeen)
		if i.BrokerKBPerConn != nil {
			fmt.Fprintf(w, "  broker        %.1f KB RSS and %.2f fds per connection\n", *i.BrokerKBPerConn, *i.BrokerFDsPerConn)
		}
	case res.Churn != nil:
		c := res.Churn
		fmt.Fprintf(w, "  churn         %.1f cycles/s with %d clients (get %v); %d cycles, %d failed %v, get empty %d\n",
			c.CyclesPerS, c.Clients, c.Get, c.Cycles, c.Failed, c.FailedByStage, c.GetEmpty)
		lat("cycle ms", c.CycleLatency)
		fmt.Fprintf(w, "  left behind   %d of %d exclusive queues checked after settling\n", c.QueuesLeft, c.QueuesChecked)
	}
	if br := res.Broker; br != nil {
		f := func(p *float64) string {
			if p == nil {
				return "?"
			}
			return strconv.FormatFloat(*p, 'f', 1, 64)
		}
		n := func(p *int) string {
			if p == nil {
				return "?"
			}
			return strconv.Itoa(*p)
		}
		fmt.Fprintf(w, "  broker        pid %d cpu %s%% of one core; RSS MB start %s max %s end %s; fds start %s end %s (limit %s)\n",
			br.Pid, f(br.CPUPctOfOneCore), f(br.RSSMBStart), f(br.RSSMBMax), f(br.RSSMBEnd), n(br.FDsStart), n(br.FDsEnd), n(br.FDLimit))
		if br.RSSMBAfterOpen != nil || br.FDsAfterOpen != nil {
			fmt.Fprintf(w, "                after open: RSS %s MB, fds %s\n", f(br.RSSMBAfterOpen), n(br.FDsAfterOpen))
		}
		if br.RSSMBAfterSettle != nil || br.FDsAfterSettle != nil {
			fmt.Fprintf(w, "                after close + settle: RSS %s MB, fds %s\n", f(br.RSSMBAfterSettle), n(br.FDsAfterSettle))
		}
	}
	fmt.Fprintf(w, "  tool cpu      %.1f%% of one core in window (%.2f s user + %.2f s sys); %.2f s whole run; max RSS %.1f MB; machine busy %.1f%%\n",
		res.CPU.ToolPctOfOneCore, res.CPU.ToolUserS, res.CPU.ToolSysS, res.CPU.ToolTotalS, res.ToolMaxRSSMB, res.CPU.MachineBusyPct)
	for _, s := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", s)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

// ---------------------------------------------------------------- flow: a timed run with a warmup

// flow is the shared machinery of the throughput modes (fanout, queues).
type flow struct {
	*base
	startC   chan struct{} // closed when producers may start
	stopP    chan struct{} // closed when producers must stop
	stopC    chan struct{} // closed when consumers must stop
	winStart atomic.Int64
	winEnd   atomic.Int64

	// pollGate (from amqp-perf): with GOMAXPROCS 1 and a producer that never
	// waits (no confirms, no rate), Go polls the network only every 10 ms and
	// the consumers starve. Producers hold it shared per batch; once a
	// millisecond pollLoop takes it exclusively, which lets the scheduler poll.
	pollGate    sync.RWMutex
	usePollGate bool
}

func newFlow(b *base) *flow {
	f := &flow{base: b, startC: make(chan struct{}), stopP: make(chan struct{}), stopC: make(chan struct{})}
	f.winStart.Store(math.MaxInt64)
	f.winEnd.Store(math.MaxInt64)
	return f
}

func (f *flow) inWindow(t int64) bool { return t >= f.winStart.Load() && t < f.winEnd.Load() }

// run opens the window, lets the producers go and returns the CPU snapshots at
// the window's start and end. counters gives (published, received) totals.
func (f *flow) run(counters func() (int64, int64)) (c0, c1 cpuSnap, rssStart int64, fdsStart int) {
	o := f.o
	start := nowNanos()
	ws := start + int64(o.warmup*1e9)
	we := start + int64(o.duration*1e9)
	f.winStart.Store(ws)
	f.winEnd.Store(we)
	c0 = f.snap()
	if f.usePollGate {
		go f.pollLoop()
	}
	close(f.startC)
	openWindow := func() {
		c0 = f.snap()
		if f.mon != nil {
			rssStart = f.mon.open()
			fdsStart = procFDs(o.brokerPid)
		}
	}
	if o.warmup == 0 {
		openWindow()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	wsT := time.NewTimer(time.Duration(ws - nowNanos()))
	weT := time.NewTimer(time.Duration(we - nowNanos()))
	var lastT, lastMove = start, start
	var lastPub, lastRecv int64
loop:
	for {
		select {
		case <-tick.C:
			now := nowNanos()
			pub, recv := counters()
			if pub != lastPub || recv != lastRecv {
				lastMove = now
			}
			if !o.quiet {
				dt := float64(now-lastT) / 1e9
				tag := ""
				if now < ws {
					tag = " (warmup)"
				}
				f.logf("time %5.1fs  sent %7.0f msg/s  received %7.0f msg/s%s", float64(now-start)/1e9,
					float64(pub-lastPub)/dt, float64(recv-lastRecv)/dt, tag)
			}
			lastT, lastPub, lastRecv = now, pub, recv
		case <-wsT.C:
			if o.warmup > 0 {
				openWindow()
			}
		case <-weT.C:
			break loop
		case <-f.abortC:
			now := nowNanos()
			if now < we {
				f.winEnd.Store(now)
			}
			if now < ws {
				f.winStart.Store(now)
				openWindow()
			}
			break loop
		}
	}
	c1 = f.snap()
	close(f.stopP)
	if idle := float64(c1.wall-lastMove) / 1e9; idle >= 2.5 {
		f.addErr(fmt.Errorf("no message was published or received in the last %.0f s of the run (broker stalled?)", idle))
	}
	return
}

func (f *flow) pollLoop() {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-f.stopP:
			return
		case <-t.C:
		}
		if f.pollGate.TryLock() {
			time.Sleep(time.Microsecond)
			f.pollGate.Unlock()
		}
	}
}

func (f *flow) closeWindowBroker(res *result, rssStart int64, fdsStart int) {
	if f.mon == nil || res.Broker == nil {
		return
	}
	end, max := f.mon.close()
	res.Broker.RSSMBStart, res.Broker.RSSMBEnd, res.Broker.RSSMBMax = mbPtr(rssStart), mbPtr(end), mbPtr(max)
	res.Broker.FDsStart, res.Broker.FDsEnd = intPtr(fdsStart), intPtr(procFDs(f.o.brokerPid))
}

func waitAll(chs []chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for _, ch := range chs {
		select {
		case <-ch:
		case <-t.C:
			return false
		}
	}
	return true
}

// stamp writes the send timestamp and a sequence number into body.
func stamp(body []byte, seq uint32) int64 {
	ts := nowNanos()
	binary.BigEndian.PutUint64(body, uint64(ts))
	if len(body) >= 12 {
		binary.BigEndian.PutUint32(body[8:], seq)
	}
	return ts
}

// consumeLoop takes deliveries, calls handle for each (which acks) and writes
// the acks out once per batch: it drains what is ready, yielding twice so the
// library can hand over what it has read, then flushes (as amqp-perf does).
func consumeLoop(f *flow, name string, raw *corkConn, deliveries <-chan amqp.Delivery, handle func(*amqp.Delivery) error, done chan struct{}) {
	defer close(done)
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				f.fail(fmt.Errorf("%s: consumer cancelled or channel closed", name))
				return
			}
			raw.Cork()
			err := handle(&d)
			idle := 0
		drain:
			for i := 1; err == nil && i < f.o.batch; {
				select {
				case d, ok = <-deliveries:
					if !ok {
						break drain
					}
					err = handle(&d)
					i++
					idle = 0
				default:
					if idle++; idle > 2 {
						break drain
					}
					runtime.Gosched()
				}
			}
			if ferr := raw.Flush(); ferr != nil && err == nil {
				err = fmt.Errorf("socket write: %v", ferr)
			}
			if err != nil {
				f.fail(fmt.Errorf("%s: %v", name, err))
				return
			}
			if !ok {
				f.fail(fmt.Errorf("%s: consumer cancelled or channel closed", name))
				return
			}
		case <-f.stopC:
			return
		}
	}
}

// ---------------------------------------------------------------- mode fanout

type fanConsumer struct {
	idx        int
	queue      string
	conn       *amqp.Connection
	raw        *corkConn
	ch         *amqp.Channel
	deliveries <-chan amqp.Delivery
	done       chan struct{}

	received, recvWindow atomic.Int64
	_                    [64]byte
}

type fanout struct {
	*flow
	exchange  string
	admin     *amqp.Channel
	consumers []*fanConsumer
	hist      *histogram

	pconn     *amqp.Connection
	praw      *corkConn
	pch       *amqp.Channel
	confirms  chan amqp.Confirmation
	sendTimes []int64
	ptag      uint64
	acked     uint64
	confHist  *histogram
	pdone     chan struct{}

	published, pubWindow  atomic.Int64
	confirmed, confWindow atomic.Int64
	nacked                atomic.Int64
}

func (m *fanout) setup() error {
	o := m.o
	conn, _, err := m.dialCork("admin")
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %v", m.safeURI, err)
	}
	if m.admin, err = conn.Channel(); err != nil {
		return fmt.Errorf("admin channel: %v", err)
	}
	m.exchange = m.tag + "-fanout"
	if err = m.admin.ExchangeDeclare(m.exchange, "fanout", o.persistent, false, false, false, nil); err != nil {
		return fmt.Errorf("exchange.declare %q (fanout): %v", m.exchange, err)
	}
	for i := 0; i < o.queues; i++ {
		c := &fanConsumer{idx: i, queue: fmt.Sprintf("%s-f%d", m.tag, i), done: make(chan struct{})}
		// auto-delete: if the tool dies, the broker drops the queue once its consumer is gone
		if _, err = m.admin.QueueDeclare(c.queue, o.persistent, true, false, false, nil); err != nil {
			return fmt.Errorf("queue.declare %q: %v", c.queue, err)
		}
		if err = m.admin.QueueBind(c.queue, "", m.exchange, false, nil); err != nil {
			return fmt.Errorf("queue.bind %q to %q: %v", c.queue, m.exchange, err)
		}
		m.consumers = append(m.consumers, c)
	}
	for _, c := range m.consumers {
		c := c
		name := fmt.Sprintf("consumer-%d", c.idx)
		if c.conn, c.raw, err = m.dialCork(name); err != nil {
			return fmt.Errorf("%s: cannot connect: %v", name, err)
		}
		if c.ch, err = c.conn.Channel(); err != nil {
			return fmt.Errorf("%s: channel.open: %v", name, err)
		}
		if o.prefetch > 0 {
			if err = c.ch.Qos(o.prefetch, 0, false); err != nil {
				return fmt.Errorf("%s: basic.qos: %v", name, err)
			}
		}
		if c.deliveries, err = c.ch.Consume(c.queue, fmt.Sprintf("%s-c%d", m.tag, c.idx), false, false, false, false, nil); err != nil {
			return fmt.Errorf("%s: basic.consume: %v", name, err)
		}
		m.watch(name, c.conn, c.ch)
		go consumeLoop(m.flow, name, c.raw, c.deliveries, func(d *amqp.Delivery) error { return m.handle(c, d) }, c.done)
	}
	if m.pconn, m.praw, err = m.dialCork("producer"); err != nil {
		return fmt.Errorf("producer: cannot connect: %v", err)
	}
	if m.pch, err = m.pconn.Channel(); err != nil {
		return fmt.Errorf("producer: channel.open: %v", err)
	}
	if o.confirm > 0 {
		size := 1
		for size < o.confirm {
			size <<= 1
		}
		m.sendTimes = make([]int64, size)
		m.confirms = m.pch.NotifyPublish(make(chan amqp.Confirmation, o.confirm+1))
		if err = m.pch.Confirm(false); err != nil {
			return fmt.Errorf("producer: confirm.select: %v", err)
		}
	}
	m.watch("producer", m.pconn, m.pch)
	m.usePollGate = o.confirm == 0 && o.rate == 0 && runtime.GOMAXPROCS(0) == 1
	go m.produce()
	return nil
}

func (m *fanout) handle(c *fanConsumer, d *amqp.Delivery) error {
	now := nowNanos()
	c.received.Add(1)
	if m.inWindow(now) {
		c.recvWindow.Add(1)
		if len(d.Body) >= 8 {
			if lat := now - int64(binary.BigEndian.Uint64(d.Body)); lat >= 0 {
				m.hist.record(lat)
			}
		}
	}
	if err := d.Ack(false); err != nil {
		return fmt.Errorf("basic.ack: %v", err)
	}
	return nil
}

func (m *fanout) handleConfirm(c amqp.Confirmation) {
	now := nowNanos()
	m.acked++
	if c.Ack {
		m.confirmed.Add(1)
	} else {
		m.nacked.Add(1)
	}
	if m.inWindow(now) {
		m.confWindow.Add(1)
		m.confHist.record(now - m.sendTimes[c.DeliveryTag&uint64(len(m.sendTimes)-1)])
	}
}

func (m *fanout) drainConfirms() {
	if m.o.confirm == 0 {
		return
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for m.acked < m.ptag {
		select {
		case c, ok := <-m.confirms:
			if !ok {
				return
			}
			m.handleConfirm(c)
		case <-t.C:
			return
		}
	}
}

func (m *fanout) produce() {
	defer close(m.pdone)
	o := m.o
	body := make([]byte, o.size)
	msg := amqp.Publishing{Body: body}
	if o.persistent {
		msg.DeliveryMode = amqp.Persistent
	}
	ctx := context.Background()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	select {
	case <-m.startC:
	case <-m.stopP:
		return
	}
	start := nowNanos()
	tick := int64(o.rateTick * 1e6)
	var nextTick, sent int64
	var seq uint32
	for {
		select {
		case <-m.stopP:
			m.drainConfirms()
			return
		default:
		}
		n := o.batch
		if o.confirm > 0 {
		drain:
			for {
				select {
				case c, ok := <-m.confirms:
					if !ok {
						return
					}
					m.handleConfirm(c)
				default:
					break drain
				}
			}
			room := o.confirm - int(m.ptag-m.acked)
			if room <= 0 {
				select {
				case c, ok := <-m.confirms:
					if !ok {
						return
					}
					m.handleConfirm(c)
				case <-m.stopP:
					m.drainConfirms()
					return
				}
				continue
			}
			if room < n {
				n = room
			}
		}
		if o.rate > 0 {
			now := nowNanos()
			due := int64(float64(now-start)*o.rate/1e9) + 1 - sent
			if due <= 0 || (now < nextTick && due < int64(o.batch)) {
				wake := start + int64(float64(sent)*1e9/o.rate)
				if wake < nextTick {
					wake = nextTick
				}
				if d := time.Duration(wake - now); d > 0 {
					timer.Reset(d)
					select {
					case <-timer.C:
					case <-m.stopP:
						m.drainConfirms()
						return
					}
				}
				continue
			}
			nextTick = now + tick
			if due < int64(n) {
				n = int(due)
			}
		}
		if m.usePollGate {
			m.pollGate.RLock()
		}
		m.praw.Cork()
		var err error
		for i := 0; i < n; i++ {
			ts := stamp(body, seq)
			seq++
			if err = m.pch.PublishWithContext(ctx, m.exchange, "", false, false, msg); err != nil {
				break
			}
			if o.confirm > 0 {
				m.ptag++
				m.sendTimes[m.ptag&uint64(len(m.sendTimes)-1)] = ts
			}
			sent++
			m.published.Add(1)
			if m.inWindow(ts) {
				m.pubWindow.Add(1)
			}
		}
		ferr := m.praw.Flush()
		if m.usePollGate {
			m.pollGate.RUnlock()
			runtime.Gosched()
		}
		if err != nil {
			m.fail(fmt.Errorf("producer: publish: %v", err))
			return
		}
		if ferr != nil {
			m.fail(fmt.Errorf("producer: socket write: %v", ferr))
			return
		}
	}
}

func (m *fanout) received() (total, window int64) {
	for _, c := range m.consumers {
		total += c.received.Load()
		window += c.recvWindow.Load()
	}
	return
}

func runFanout(b *base) *result {
	o := b.o
	m := &fanout{flow: newFlow(b), hist: newHistogram(7), confHist: newHistogram(7), pdone: make(chan struct{})}
	res := b.newResult("fanout")
	if err := setupWithin(b, m.setup); err != nil {
		if m.admin != nil { // best effort: do not leave the topology behind
			_ = withTimeout(2*time.Second, m.deleteTopology)
		}
		b.forceCloseAll()
		b.finish(2, err.Error())
	}
	b.progress("fanout: 1 publisher -> %d queues on %s, running %.0f s (%.0f s warmup)", o.queues, b.safeURI, o.duration, o.warmup)
	stopProfile := startProfile(o.cpuProfile)
	c0, c1, rss0, fds0 := m.run(func() (int64, int64) { r, _ := m.received(); return m.published.Load(), r })
	stopProfile()
	m.closeWindowBroker(res, rss0, fds0)
	b.fillCPU(res, c0, c1)
	win := math.Max(0, float64(m.winEnd.Load()-m.winStart.Load())/1e9)
	res.WindowS = round3(win)
	fr := &fanoutResult{Queues: o.queues}
	res.Fanout = fr
	recv, recvW := m.received()
	if win > 0 {
		fr.SendRate = round1(float64(m.pubWindow.Load()) / win)
		fr.ConfirmRate = round1(float64(m.confWindow.Load()) / win)
		fr.ReceiveRate = round1(float64(recvW) / win)
		mn, mx := math.Inf(1), 0.0
		for _, c := range m.consumers {
			r := float64(c.recvWindow.Load()) / win
			mn, mx = math.Min(mn, r), math.Max(mx, r)
		}
		fr.PerQueueReceiveRate = rateSummary{Min: round1(mn), Mean: round1(float64(recvW) / win / float64(o.queues)), Max: round1(mx)}
	}
	fr.PublishedWindow, fr.ReceivedWindow = m.pubWindow.Load(), recvW
	fr.BacklogAtEnd = m.published.Load()*int64(o.queues) - recv
	fr.Latency = m.hist.stats()
	if o.confirm > 0 {
		fr.ConfirmLatency = m.confHist.stats()
	}
	res.Headline, res.HeadlineValue, res.HeadlineUnit = "receive_rate", fr.ReceiveRate, "msg/s"
	if o.confirm == 0 && o.rate == 0 {
		res.Notes = append(res.Notes, "no confirms and no rate limit: the publisher can run ahead of the broker "+
			"(socket and broker buffers), so the receive rate is the headline and latency is mostly queueing time")
	}
	b.resMu.Lock()
	b.res = res
	b.resMu.Unlock()

	// teardown: let the producer stop, delete the topology while consuming, then close
	if !waitAll([]chan struct{}{m.pdone}, 1500*time.Millisecond) {
		res.Notes = append(res.Notes, "the producer did not stop within 1.5 s (broker not reading?)")
	}
	if m.isAborted() {
		time.Sleep(50 * time.Millisecond)
	}
	m.teardown.Store(true)
	if err := withTimeout(3*time.Second, m.deleteTopology); err != nil {
		res.Errors = append(res.Errors, fmt.Sprintf("deleting the exchange and queues: %v", err))
	}
	close(m.stopC)
	var cd []chan struct{}
	for _, c := range m.consumers {
		cd = append(cd, c.done)
	}
	waitAll(cd, 500*time.Millisecond)
	fr.Published, fr.Confirmed, fr.Nacked, fr.Received = m.published.Load(), m.confirmed.Load(), m.nacked.Load(), recv
	fr.BlockedEvents = m.blocked.Load()
	fr.SocketWritesProd = m.praw.socketWrites()
	for _, c := range m.consumers {
		fr.SocketWritesCons += c.raw.socketWrites()
	}
	m.closeAll(2*time.Second, 64)
	return res
}

func (m *fanout) deleteTopology() error {
	for _, c := range m.consumers {
		if _, err := m.admin.QueueDelete(c.queue, false, false, false); err != nil {
			return fmt.Errorf("queue.delete %q: %v", c.queue, err)
		}
	}
	if m.exchange != "" {
		if err := m.admin.ExchangeDelete(m.exchange, false, false); err != nil {
			return fmt.Errorf("exchange.delete %q: %v", m.exchange, err)
		}
	}
	return nil
}

// setupWithin runs setup, limited to --setup-timeout.
func setupWithin(b *base, setup func() error) error {
	d := time.Duration(b.o.setupTimeout * float64(time.Second))
	done := make(chan error, 1)
	go func() { done <- setup() }()
	select {
	case err := <-done:
		if err != nil {
			b.teardown.Store(true)
		}
		return err
	case <-time.After(d):
		b.teardown.Store(true)
		return fmt.Errorf("set-up against %s did not finish within %v (broker not responding? raise --setup-timeout)", b.safeURI, d)
	}
}

func startProfile(file string) func() {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err != nil {
		return func() {}
	}
	_ = pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// ---------------------------------------------------------------- mode queues

type qState struct {
	idx   int
	name  string
	pch   *amqp.Channel
	cch   *amqp.Channel
	craw  *corkConn
	hist  *histogram // coarse, per queue
	done  chan struct{}
	recv  atomic.Int64
	recvW atomic.Int64
}

type qProducer struct {
	idx    int
	conn   *amqp.Connection
	raw    *corkConn
	queues []*qState
	done   chan struct{}
}

type qConsumer struct {
	idx    int
	conn   *amqp.Connection
	raw    *corkConn
	queues []*qState
}

type queuesMode struct {
	*flow
	queues    []*qState
	producers []*qProducer
	consumers []*qConsumer
	hist      *histogram

	published, pubWindow atomic.Int64
}

func (m *queuesMode) setup() error {
	o := m.o
	for i := 0; i < o.queues; i++ {
		m.queues = append(m.queues, &qState{idx: i, name: fmt.Sprintf("%s-q%d", m.tag, i), hist: newHistogram(4), done: make(chan struct{})})
	}
	for c := 0; c < o.conns; c++ {
		m.consumers = append(m.consumers, &qConsumer{idx: c})
		m.producers = append(m.producers, &qProducer{idx: c, done: make(chan struct{})})
	}
	for i, q := range m.queues {
		m.consumers[i%o.conns].queues = append(m.consumers[i%o.conns].queues, q)
		m.producers[i%o.conns].queues = append(m.producers[i%o.conns].queues, q)
	}
	// consumer side first (declares the queues), connections in parallel
	errc := make(chan error, 2*o.conns)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, c := range m.consumers {
		wg.Add(1)
		go func(c *qConsumer) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errc <- m.setupConsumer(c)
		}(c)
	}
	wg.Wait()
	for _, p := range m.producers {
		wg.Add(1)
		go func(p *qProducer) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errc <- m.setupProducer(p)
		}(p)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	for _, p := range m.producers {
		go m.produce(p)
	}
	return nil
}

func (m *queuesMode) setupConsumer(c *qConsumer) error {
	o := m.o
	name := fmt.Sprintf("consumer-conn-%d", c.idx)
	var err error
	if c.conn, c.raw, err = m.dialCork(name); err != nil {
		return fmt.Errorf("%s: cannot connect to %s: %v", name, m.safeURI, err)
	}
	var chs []*amqp.Channel
	for _, q := range c.queues {
		q := q
		if q.cch, err = c.conn.Channel(); err != nil {
			return fmt.Errorf("%s: channel.open (queue %d): %v", name, q.idx, err)
		}
		if o.prefetch > 0 {
			if err = q.cch.Qos(o.prefetch, 0, false); err != nil {
				return fmt.Errorf("%s: basic.qos: %v", name, err)
			}
		}
		if _, err = q.cch.QueueDeclare(q.name, o.persistent, true, false, false, nil); err != nil {
			return fmt.Errorf("%s: queue.declare %q: %v", name, q.name, err)
		}
		d, err := q.cch.Consume(q.name, q.name+"-c", false, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("%s: basic.consume %q: %v", name, q.name, err)
		}
		q.craw = c.raw
		chs = append(chs, q.cch)
		go consumeLoop(m.flow, fmt.Sprintf("consumer of %s", q.name), c.raw, d, func(dl *amqp.Delivery) error { return m.handle(q, dl) }, q.done)
	}
	m.watch(name, c.conn, chs...)
	return nil
}

func (m *queuesMode) setupProducer(p *qProducer) error {
	name := fmt.Sprintf("producer-conn-%d", p.idx)
	var err error
	if p.conn, p.raw, err = m.dialCork(name); err != nil {
		return fmt.Errorf("%s: cannot connect to %s: %v", name, m.safeURI, err)
	}
	var chs []*amqp.Channel
	for _, q := range p.queues {
		if q.pch, err = p.conn.Channel(); err != nil {
			return fmt.Errorf("%s: channel.open (queue %d): %v", name, q.idx, err)
		}
		chs = append(chs, q.pch)
	}
	m.watch(name, p.conn, chs...)
	return nil
}

func (m *queuesMode) handle(q *qState, d *amqp.Delivery) error {
	now := nowNanos()
	q.recv.Add(1)
	if m.inWindow(now) {
		q.recvW.Add(1)
		if len(d.Body) >= 8 {
			if lat := now - int64(binary.BigEndian.Uint64(d.Body)); lat >= 0 {
				m.hist.record(lat)
				q.hist.record(lat)
			}
		}
	}
	if err := d.Ack(false); err != nil {
		return fmt.Errorf("basic.ack: %v", err)
	}
	return nil
}

// produce publishes for all the queues of one producer connection: their
// messages interleave evenly (queue j of k gets the connection's messages j,
// j+k, ...), at rate x k in all, what is due written at most once per tick.
// Connections start staggered by a fraction of their interval.
func (m *queuesMode) produce(p *qProducer) {
	defer close(p.done)
	o := m.o
	k := len(p.queues)
	if k == 0 {
		return
	}
	rate := o.rate * float64(k)
	bodies := make([][]byte, k)
	msgs := make([]amqp.Publishing, k)
	for i := range bodies {
		bodies[i] = make([]byte, o.size)
		msgs[i] = amqp.Publishing{Body: bodies[i]}
		if o.persistent {
			msgs[i].DeliveryMode = amqp.Persistent
		}
	}
	seqs := make([]uint32, k)
	ctx := context.Background()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	select {
	case <-m.startC:
	case <-m.stopP:
		return
	}
	start := nowNanos() + int64(float64(p.idx)/float64(o.conns)*1e9/rate)
	tick := int64(o.rateTick * 1e6)
	var nextTick, sent int64
	for {
		select {
		case <-m.stopP:
			return
		default:
		}
		now := nowNanos()
		due := int64(math.Floor(float64(now-start)*rate/1e9)) + 1 - sent
		if due <= 0 || (now < nextTick && due < int64(o.batch)) {
			wake := start + int64(float64(sent)*1e9/rate)
			if wake < nextTick {
				wake = nextTick
			}
			if d := time.Duration(wake - now); d > 0 {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-m.stopP:
					return
				}
			}
			continue
		}
		nextTick = now + tick
		n := int(due)
		if n > o.batch {
			n = o.batch
		}
		p.raw.Cork()
		var err error
		for i := 0; i < n; i++ {
			j := int(sent % int64(k))
			q := p.queues[j]
			ts := stamp(bodies[j], seqs[j])
			seqs[j]++
			if err = q.pch.PublishWithContext(ctx, "", q.name, false, false, msgs[j]); err != nil {
				break
			}
			sent++
			m.published.Add(1)
			if m.inWindow(ts) {
				m.pubWindow.Add(1)
			}
		}
		ferr := p.raw.Flush()
		if err != nil {
			m.fail(fmt.Errorf("producer-conn-%d: publish: %v", p.idx, err))
			return
		}
		if ferr != nil {
			m.fail(fmt.Errorf("producer-conn-%d: socket write: %v", p.idx, ferr))
			return
		}
	}
}

func (m *queuesMode) received() (total, window int64) {
	for _, q := range m.queues {
		total += q.recv.Load()
		window += q.recvW.Load()
	}
	return
}

func runQueues(b *base) *result {
	o := b.o
	m := &queuesMode{flow: newFlow(b), hist: newHistogram(7)}
	res := b.newResult("queues")
	t0 := time.Now()
	if err := setupWithin(b, m.setup); err != nil {
		// closing the consumer connections drops the auto-delete queues that got a consumer
		b.closeAll(2*time.Second, 64)
		b.finish(2, err.Error())
	}
	setupS := time.Since(t0).Seconds()
	b.progress("queues: %d queues x %g msg/s over %d producer + %d consumer connections on %s (set up in %.1f s), running %.0f s (%.0f s warmup)",
		o.queues, o.rate, o.conns, o.conns, b.safeURI, setupS, o.duration, o.warmup)
	stopProfile := startProfile(o.cpuProfile)
	c0, c1, rss0, fds0 := m.run(func() (int64, int64) { r, _ := m.received(); return m.published.Load(), r })
	stopProfile()
	m.closeWindowBroker(res, rss0, fds0)
	b.fillCPU(res, c0, c1)
	win := math.Max(0, float64(m.winEnd.Load()-m.winStart.Load())/1e9)
	res.WindowS = round3(win)
	qr := &queuesResult{Queues: o.queues, RatePerQueue: o.rate, ProducerConns: o.conns, ConsumerConns: o.conns,
		SetupS: round3(setupS), TargetRate: round1(o.rate * float64(o.queues))}
	res.Queues = qr
	recv, recvW := m.received()
	if win > 0 {
		qr.SendRate = round1(float64(m.pubWindow.Load()) / win)
		qr.ReceiveRate = round1(float64(recvW) / win)
		qr.ReceivePctOfTarget = round1(100 * float64(recvW) / (o.rate * float64(o.queues) * win))
		qr.KeptUp = qr.ReceivePctOfTarget >= 97
		perTarget := o.rate * win
		mn, mx := math.Inf(1), 0.0
		var p99s []float64
		worst := -1.0
		for _, q := range m.queues {
			n := float64(q.recvW.Load())
			if n < 0.97*perTarget {
				qr.QueuesBelow97++
			}
			mn, mx = math.Min(mn, n/win), math.Max(mx, n/win)
			if v := q.hist.quantile(0.99); v >= 0 {
				p99s = append(p99s, v)
				if v > worst {
					worst, qr.WorstQueue = v, q.name
				}
			}
		}
		qr.PerQueueReceive = rateSummary{Min: round1(mn), Mean: round1(float64(recvW) / win / float64(o.queues)), Max: round1(mx)}
		if len(p99s) > 0 {
			sort.Float64s(p99s)
			qr.WorstQueueP99 = ms(worst)
			qr.MedianQueueP99 = ms(p99s[len(p99s)/2])
		}
		qr.AllKeptUp = qr.KeptUp && qr.QueuesBelow97 == 0
	}
	qr.Latency = m.hist.stats()
	res.Headline, res.HeadlineValue, res.HeadlineUnit = "receive_rate", qr.ReceiveRate, "msg/s"
	res.Notes = append(res.Notes, "per-queue p99 comes from coarse histograms (under 6.3% error)")
	b.resMu.Lock()
	b.res = res
	b.resMu.Unlock()

	var pd []chan struct{}
	for _, p := range m.producers {
		pd = append(pd, p.done)
	}
	if !waitAll(pd, 1500*time.Millisecond) {
		res.Notes = append(res.Notes, "producers did not stop within 1.5 s (broker not reading?)")
	}
	// let what is in flight arrive, so the backlog figure means something
	time.Sleep(300 * time.Millisecond)
	if m.isAborted() {
		time.Sleep(50 * time.Millisecond)
	}
	m.teardown.Store(true)
	close(m.stopC)
	recv, _ = m.received()
	qr.Published, qr.Received = m.published.Load(), recv
	qr.BacklogAtEnd = qr.Published - recv
	qr.BlockedEvents = m.blocked.Load()
	// closing the consumer connections makes the broker drop the auto-delete queues
	m.closeAll(3*time.Second, 64)
	return res
}

// ---------------------------------------------------------------- mode idle

type idleConn struct {
	conn   *amqp.Connection
	raw    *countConn
	ch     *amqp.Channel
	rx0    int64
	closed atomic.Bool
}

func runIdle(b *base) *result {
	o := b.o
	res := b.newResult("idle")
	ir := &idleResult{Requested: o.conns, FailureKinds: []string{}, CloseReasons: []string{}, CheckFailures: []string{}}
	res.Idle = ir
	soft, _ := raiseNoFile()
	ir.ToolFDLimit = soft
	if soft > 0 && soft < uint64(o.conns)+64 {
		b.finish(2, fmt.Sprintf("this process may open only %d files (RLIMIT_NOFILE hard limit), fewer than the %d connections "+
			"asked for; raise it (ulimit -Hn as root) or lower --conns", soft, o.conns))
	}
	if res.Broker != nil && res.Broker.FDLimit != nil {
		if lim := *res.Broker.FDLimit; lim > 0 && lim < o.conns+100 {
			msg := fmt.Sprintf("the broker (pid %d) may open only %d files (see /proc/%d/limits), too few for %d connections; "+
				"start it after ulimit -n %d or more", o.brokerPid, lim, o.brokerPid, o.conns, o.conns+1000)
			b.logf("warning: %s", msg)
			res.Notes = append(res.Notes, msg)
		}
	}
	var rss0 int64 = -1
	fds0 := -1
	var c0open cpuSnap
	if b.mon != nil {
		rss0 = b.mon.open()
		fds0 = procFDs(o.brokerPid)
	}
	c0open = b.snap()
	b.resMu.Lock()
	b.res = res
	b.resMu.Unlock()

	// ---- open
	conns := make([]*idleConn, o.conns)
	openHist := newHistogram(7)
	var opened, failed, attempted atomic.Int64
	var kindMu sync.Mutex
	kinds := map[string]int{}
	var kindOrder []string
	var closedDuring atomic.Int64
	var reasonMu sync.Mutex
	reasons := map[string]int{}
	var reasonOrder []string
	addKind := func(m map[string]int, order *[]string, mu *sync.Mutex, s string) {
		mu.Lock()
		if m[s] == 0 {
			*order = append(*order, s)
		}
		m[s]++
		mu.Unlock()
	}
	deadline := time.Now().Add(time.Duration(o.setupTimeout * float64(time.Second)))
	next := make(chan int)
	var wg sync.WaitGroup
	tOpen := time.Now()
	stopOpening := make(chan struct{})
	var stopOnce sync.Once
	for w := 0; w < o.openConc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				attempted.Add(1)
				t := nowNanos()
				var raw *countConn
				conn, _, err := b.dialWith(fmt.Sprintf("idle-%d", i), func(nc net.Conn) io.ReadWriteCloser { raw = &countConn{Conn: nc}; return raw }, true)
				var ch *amqp.Channel
				if err == nil {
					err = withTimeout(b.connTO, func() error { var e error; ch, e = conn.Channel(); return e })
					if err != nil {
						err = fmt.Errorf("channel.open: %v", err)
						_ = raw.Close()
					}
				}
				if err != nil {
					failed.Add(1)
					addKind(kinds, &kindOrder, &kindMu, classify(err))
					if f := failed.Load(); f >= 100 && f*10 >= attempted.Load() {
						stopOnce.Do(func() { close(stopOpening) })
					}
					continue
				}
				openHist.record(nowNanos() - t)
				ic := &idleConn{conn: conn, raw: raw, ch: ch}
				conns[i] = ic
				opened.Add(1)
				cc := conn.NotifyClose(make(chan *amqp.Error, 1))
				chc := ch.NotifyClose(make(chan *amqp.Error, 1))
				go func() {
					var e *amqp.Error
					var ok bool
					what := "connection"
					select {
					case e, ok = <-cc:
					case e, ok = <-chc:
						what = "channel"
					}
					if b.teardown.Load() {
						return
					}
					ic.closed.Store(true)
					closedDuring.Add(1)
					r := what + " closed"
					if ok && e != nil {
						r = fmt.Sprintf("%s closed by broker: %v", what, e)
					}
					addKind(reasons, &reasonOrder, &reasonMu, r)
				}()
			}
		}()
	}
	sigStop := b.abortC
	progressT := time.NewTicker(time.Second)
feed:
	for i := 0; i < o.conns; i++ {
		for {
			select {
			case next <- i:
				continue feed
			case <-progressT.C:
				b.progress("idle: %d opened, %d failed (%.0f s)", opened.Load(), failed.Load(), time.Since(tOpen).Seconds())
				if time.Now().After(deadline) {
					res.Notes = append(res.Notes, fmt.Sprintf("stopped opening after --setup-timeout %g s", o.setupTimeout))
					break feed
				}
			case <-stopOpening:
				res.Notes = append(res.Notes, "stopped opening: at least 100 attempts and 10% of them failed")
				break feed
			case <-sigStop:
				break feed
			}
		}
	}
	close(next)
	wg.Wait()
	progressT.Stop()
	openS := time.Since(tOpen).Seconds()
	c1open := b.snap()
	ir.Opened, ir.Failed = int(opened.Load()), int(failed.Load())
	ir.NotAttempted = o.conns - int(attempted.Load())
	ir.OpenS = round3(openS)
	if openS > 0 {
		ir.OpenRate = round1(float64(ir.Opened) / openS)
	}
	ir.OpenLatency = openHist.stats()
	kindMu.Lock()
	for _, k := range kindOrder {
		ir.FailureKinds = append(ir.FailureKinds, fmt.Sprintf("%d x %s", kinds[k], k))
	}
	kindMu.Unlock()
	if ir.Failed > 0 {
		b.addErr(fmt.Errorf("%d of %d connections could not be opened: %s", ir.Failed, attempted.Load(), strings.Join(ir.FailureKinds, "; ")))
	}
	for _, ic := range conns {
		if ic != nil {
			ir.HeartbeatS = int(ic.conn.Config.Heartbeat / time.Second)
			break
		}
	}
	if res.Broker != nil && c0open.broker >= 0 && c1open.broker >= 0 {
		v := round3(c1open.broker - c0open.broker)
		res.Broker.CPUSOpen = &v
	}
	b.progress("idle: %d of %d connections open in %.1f s; holding them %.0f s", ir.Opened, o.conns, openS, o.duration)

	// ---- hold
	var rssOpen int64 = -1
	fdsOpen := -1
	if b.mon != nil {
		rssOpen = b.mon.sample()
		fdsOpen = procFDs(o.brokerPid)
	}
	for _, ic := range conns {
		if ic != nil {
			ic.rx0 = ic.raw.rx.Load()
		}
	}
	c0 := b.snap()
	holdT := time.NewTimer(time.Duration(o.duration * float64(time.Second)))
	progressT = time.NewTicker(5 * time.Second)
hold:
	for {
		select {
		case <-holdT.C:
			break hold
		case <-progressT.C:
			b.progress("idle: holding, %d closed so far", closedDuring.Load())
		case <-b.abortC:
			break hold
		}
	}
	progressT.Stop()
	c1 := b.snap()
	ir.HoldS = round3(float64(c1.wall-c0.wall) / 1e9)
	res.WindowS = ir.HoldS
	b.fillCPU(res, c0, c1)
	var rssEnd, rssMax int64 = -1, -1
	fdsEnd := -1
	if b.mon != nil {
		rssEnd, rssMax = b.mon.close()
		fdsEnd = procFDs(o.brokerPid)
	}
	for _, ic := range conns {
		if ic != nil && ic.raw.rx.Load() > ic.rx0 {
			ir.HeartbeatsSeen++
		}
	}
	if ir.HeartbeatS > 0 && ir.HoldS < float64(ir.HeartbeatS)/2+2 {
		res.Notes = append(res.Notes, fmt.Sprintf("the hold (%.0f s) is shorter than half the heartbeat (%d s) + 2 s, so "+
			"conns_with_broker_heartbeat says nothing", ir.HoldS, ir.HeartbeatS))
	}

	// ---- check: a basic.qos round trip on every (or --check evenly spaced) open connection
	var open []*idleConn
	for _, ic := range conns {
		if ic != nil {
			open = append(open, ic)
		}
	}
	sample := open
	if o.check > 0 && o.check < len(open) {
		sample = nil
		for i := 0; i < o.check; i++ {
			sample = append(sample, open[i*len(open)/o.check])
		}
	}
	checkHist := newHistogram(7)
	var checkOK atomic.Int64
	var cfMu sync.Mutex
	cfKinds := map[string]int{}
	var cfOrder []string
	work := make(chan *idleConn)
	var cwg sync.WaitGroup
	for w := 0; w < o.openConc; w++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			for ic := range work {
				t := nowNanos()
				err := withTimeout(b.connTO, func() error { return ic.ch.Qos(1, 0, false) })
				if err == nil {
					checkOK.Add(1)
					checkHist.record(nowNanos() - t)
				} else {
					addKind(cfKinds, &cfOrder, &cfMu, classify(err))
				}
			}
		}()
	}
	for _, ic := range sample {
		work <- ic
	}
	close(work)
	cwg.Wait()
	ir.Checked, ir.CheckOK = len(sample), int(checkOK.Load())
	ir.CheckLatency = checkHist.stats()
	for _, k := range cfOrder {
		ir.CheckFailures = append(ir.CheckFailures, fmt.Sprintf("%d x %s", cfKinds[k], k))
	}
	ir.ClosedDuringHold = int(closedDuring.Load())
	reasonMu.Lock()
	for _, r := range reasonOrder {
		ir.CloseReasons = append(ir.CloseReasons, fmt.Sprintf("%d x %s", reasons[r], r))
	}
	reasonMu.Unlock()
	ir.AllOpenAtEnd = ir.Opened == o.conns && ir.ClosedDuringHold == 0 && ir.CheckOK == ir.Checked
	if ir.ClosedDuringHold > 0 {
		b.addErr(fmt.Errorf("%d connections closed during the hold: %s", ir.ClosedDuringHold, strings.Join(ir.CloseReasons, "; ")))
	}
	if ir.CheckOK < ir.Checked {
		b.addErr(fmt.Errorf("%d of %d checked connections did not answer basic.qos: %s", ir.Checked-ir.CheckOK, ir.Checked,
			strings.Join(ir.CheckFailures, "; ")))
	}

	// ---- close, settle
	b.teardown.Store(true)
	tc := time.Now()
	b.closeAll(time.Duration(math.Max(10, float64(ir.Opened)/500))*time.Second, o.openConc)
	ir.CloseS = round3(time.Since(tc).Seconds())
	if res.Broker != nil {
		br := res.Broker
		br.RSSMBStart, br.RSSMBMax, br.RSSMBEnd = mbPtr(rss0), mbPtr(rssMax), mbPtr(rssEnd)
		br.FDsStart, br.FDsEnd = intPtr(fds0), intPtr(fdsEnd)
		br.RSSMBAfterOpen, br.FDsAfterOpen = mbPtr(rssOpen), intPtr(fdsOpen)
		if ir.Opened > 0 && rss0 >= 0 && rssOpen >= 0 {
			v := round1(float64(rssOpen-rss0) / float64(ir.Opened))
			ir.BrokerKBPerConn = &v
		}
		if ir.Opened > 0 && fds0 >= 0 && fdsOpen >= 0 {
			v := round3(float64(fdsOpen-fds0) / float64(ir.Opened))
			ir.BrokerFDsPerConn = &v
		}
		time.Sleep(time.Duration(o.settle * float64(time.Second)))
		br.RSSMBAfterSettle, br.FDsAfterSettle = mbPtr(procRSSKB(o.brokerPid)), intPtr(procFDs(o.brokerPid))
	}
	res.Headline, res.HeadlineUnit = "connections_open", "connections"
	res.HeadlineValue = float64(ir.CheckOK)
	if res.Broker != nil && res.Broker.RSSMBMax != nil {
		res.Headline, res.HeadlineValue, res.HeadlineUnit = "broker_rss_mb_max", *res.Broker.RSSMBMax, "MB"
	}
	return res
}

// classify shortens an error to its kind (for counting failures by kind).
func classify(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset by peer", "i/o timeout", "broken pipe",
		"too many open files", "EOF", "cannot assign requested address", "no answer within"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

// ---------------------------------------------------------------- mode churn

type churnMode struct {
	*base
	winStart, winEnd atomic.Int64
	stop             chan struct{}
	hist             *histogram
	cycles, cyclesW  atomic.Int64
	failed, getEmpty atomic.Int64
	stageMu          sync.Mutex
	stages           map[string]int
	namesMu          sync.Mutex
	names            []string // recent queue names from the window (ring)
	namesNext        int
}

const churnNames = 64

func (m *churnMode) failStage(stage string, err error) {
	m.failed.Add(1)
	m.stageMu.Lock()
	first := m.stages[stage] == 0
	m.stages[stage]++
	m.stageMu.Unlock()
	if first && !m.teardown.Load() {
		m.addErr(fmt.Errorf("churn: %s failed: %v", stage, err))
	}
}

// cycle: connect, channel, declare a server-named exclusive queue, publish one
// message to it, get it back, close. Every step is under --connect-timeout:
// a watchdog closes the socket, which fails the step waiting on it.
func (m *churnMode) cycle(id int, body []byte, seq uint32) {
	t := nowNanos()
	stage := "connect"
	var nc net.Conn
	var mu sync.Mutex
	timedOut := false
	wd := time.AfterFunc(m.connTO, func() {
		mu.Lock()
		timedOut = true
		if nc != nil {
			nc.Close()
		}
		mu.Unlock()
	})
	defer wd.Stop()
	fail := func(err error) {
		mu.Lock()
		if timedOut {
			err = fmt.Errorf("no answer within %v (%v)", m.connTO, err)
		}
		mu.Unlock()
		m.failStage(stage, err)
		if nc != nil {
			nc.Close()
		}
	}
	var raw *corkConn
	conn, sock, err := m.dialWith(fmt.Sprintf("churn-%d", id), func(c net.Conn) io.ReadWriteCloser {
		mu.Lock()
		nc = c
		mu.Unlock()
		raw = &corkConn{nc: c}
		return raw
	}, false)
	if err != nil {
		fail(err)
		return
	}
	mu.Lock()
	nc = sock
	mu.Unlock()
	stage = "channel.open"
	ch, err := conn.Channel()
	if err != nil {
		fail(err)
		return
	}
	stage = "queue.declare"
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		fail(err)
		return
	}
	stage = "basic.publish"
	stamp(body, seq)
	raw.Cork()
	err = ch.PublishWithContext(context.Background(), "", q.Name, false, false, amqp.Publishing{Body: body})
	if ferr := raw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fail(err)
		return
	}
	if m.o.get {
		stage = "basic.get"
		_, ok, err := ch.Get(q.Name, true)
		if err != nil {
			fail(err)
			return
		}
		if !ok {
			m.getEmpty.Add(1)
		}
	}
	stage = "connection.close"
	if err = conn.Close(); err != nil {
		fail(err)
		return
	}
	now := nowNanos()
	m.cycles.Add(1)
	if now >= m.winStart.Load() && now < m.winEnd.Load() {
		m.cyclesW.Add(1)
		m.hist.record(now - t)
		m.namesMu.Lock()
		if len(m.names) < churnNames {
			m.names = append(m.names, q.Name)
		} else {
			m.names[m.namesNext] = q.Name
			m.namesNext = (m.namesNext + 1) % churnNames
		}
		m.namesMu.Unlock()
	}
}

func runChurn(b *base) *result {
	o := b.o
	m := &churnMode{base: b, stop: make(chan struct{}), hist: newHistogram(7), stages: map[string]int{}}
	m.winStart.Store(math.MaxInt64)
	m.winEnd.Store(math.MaxInt64)
	res := b.newResult("churn")
	cr := &churnResult{Clients: o.clients, Get: o.get, FailedByStage: map[string]int{}}
	res.Churn = cr
	// can we connect at all?
	probe, _, err := b.dialWith("probe", func(nc net.Conn) io.ReadWriteCloser { return nc }, false)
	if err != nil {
		b.finish(2, fmt.Sprintf("cannot connect to %s: %v", b.safeURI, err))
	}
	_ = withTimeout(b.connTO, probe.Close)
	b.resMu.Lock()
	b.res = res
	b.resMu.Unlock()
	var rss0 int64 = -1
	fds0 := -1
	if b.mon != nil {
		rss0 = b.mon.open() // RSS max covers the whole run, warmup included
		fds0 = procFDs(o.brokerPid)
	}
	start := nowNanos()
	m.winStart.Store(start + int64(o.warmup*1e9))
	m.winEnd.Store(start + int64(o.duration*1e9))
	var wg sync.WaitGroup
	for i := 0; i < o.clients; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			body := make([]byte, o.size)
			var seq uint32
			fails := 0
			for {
				select {
				case <-m.stop:
					return
				default:
				}
				before := m.failed.Load()
				m.cycle(id, body, seq)
				seq++
				if m.failed.Load() > before {
					if fails++; fails >= 5 { // back off a little from a broker that refuses
						time.Sleep(100 * time.Millisecond)
					}
				} else {
					fails = 0
				}
			}
		}(i)
	}
	b.progress("churn: %d clients on %s, running %.0f s (%.0f s warmup)", o.clients, b.safeURI, o.duration, o.warmup)
	stopProfile := startProfile(o.cpuProfile)
	var c0, c1 cpuSnap
	c0 = b.snap()
	tick := time.NewTicker(time.Second)
	wsT := time.NewTimer(time.Duration(o.warmup * float64(time.Second)))
	weT := time.NewTimer(time.Duration(o.duration * float64(time.Second)))
	var last int64
	lastT := start
loop:
	for {
		select {
		case <-tick.C:
			now, n := nowNanos(), m.cycles.Load()
			b.progress("time %5.1fs  %6.0f cycles/s  failed %d", float64(now-start)/1e9, float64(n-last)/(float64(now-lastT)/1e9), m.failed.Load())
			last, lastT = n, now
		case <-wsT.C:
			c0 = b.snap()
		case <-weT.C:
			break loop
		case <-b.abortC:
			if now := nowNanos(); now < m.winEnd.Load() {
				m.winEnd.Store(now)
			}
			break loop
		}
	}
	tick.Stop()
	c1 = b.snap()
	stopProfile()
	close(m.stop)
	doneC := make(chan struct{})
	go func() { wg.Wait(); close(doneC) }()
	select {
	case <-doneC:
	case <-time.After(m.connTO + 2*time.Second):
		res.Notes = append(res.Notes, "some clients did not finish their last cycle")
	}
	b.fillCPU(res, c0, c1)
	win := math.Max(0, float64(m.winEnd.Load()-m.winStart.Load())/1e9)
	res.WindowS = round3(win)
	cr.Cycles, cr.CyclesWindow, cr.Failed, cr.GetEmpty = m.cycles.Load(), m.cyclesW.Load(), m.failed.Load(), m.getEmpty.Load()
	if win > 0 {
		cr.CyclesPerS = round1(float64(cr.CyclesWindow) / win)
	}
	m.stageMu.Lock()
	for k, v := range m.stages {
		cr.FailedByStage[k] = v
	}
	m.stageMu.Unlock()
	cr.CycleLatency = m.hist.stats()
	if cr.GetEmpty > 0 {
		b.addErr(fmt.Errorf("churn: basic.get found the queue empty right after publishing to it, %d times", cr.GetEmpty))
	}
	var rssEnd, rssMax int64 = -1, -1
	fdsEnd := -1
	if b.mon != nil {
		rssEnd, rssMax = b.mon.close()
		fdsEnd = procFDs(o.brokerPid)
	}
	time.Sleep(time.Duration(o.settle * float64(time.Second)))
	// read the settled RSS and fds before the leak check opens a connection of its own
	rssS, fdsS := int64(-1), -1
	if b.mon != nil {
		rssS, fdsS = procRSSKB(o.brokerPid), procFDs(o.brokerPid)
	}
	// exclusive queues of closed connections must be gone (404 on a passive declare)
	m.namesMu.Lock()
	names := append([]string{}, m.names...)
	m.namesMu.Unlock()
	if len(names) > 0 {
		err := withTimeout(10*time.Second, func() error {
			conn, _, err := b.dialWith("leak-check", func(nc net.Conn) io.ReadWriteCloser { return nc }, true)
			if err != nil {
				return err
			}
			for _, n := range names {
				ch, err := conn.Channel()
				if err != nil {
					return err
				}
				cr.QueuesChecked++
				if _, err = ch.QueueDeclarePassive(n, false, false, false, false, nil); err == nil {
					cr.QueuesLeft++
					_ = ch.Close()
				} else {
					var ae *amqp.Error
					if errors.As(err, &ae) && ae.Code != amqp.NotFound {
						cr.QueuesLeft++ // e.g. 405 RESOURCE_LOCKED: it still exists
					}
				}
			}
			return conn.Close()
		})
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("leak check: %v", err))
		}
		if cr.QueuesLeft > 0 {
			b.addErr(fmt.Errorf("churn: %d of %d exclusive queues of closed connections still exist %g s later", cr.QueuesLeft, cr.QueuesChecked, o.settle))
		}
	}
	if res.Broker != nil {
		br := res.Broker
		br.RSSMBStart, br.RSSMBMax, br.RSSMBEnd = mbPtr(rss0), mbPtr(rssMax), mbPtr(rssEnd)
		br.FDsStart, br.FDsEnd = intPtr(fds0), intPtr(fdsEnd)
		br.RSSMBAfterSettle, br.FDsAfterSettle = mbPtr(rssS), intPtr(fdsS)
		if rss0 >= 0 && rssS >= 0 {
			g := round1(float64(rssS-rss0) / 1024)
			cr.RSSGrowthMB = &g
			if cr.Cycles > 0 {
				p := round3(g * 1000 / float64(cr.Cycles))
				cr.RSSGrowthPer1k = &p
			}
		}
		if fds0 >= 0 && fdsS >= 0 {
			g := fdsS - fds0
			cr.FDGrowth = &g
		}
	}
	res.Headline, res.HeadlineValue, res.HeadlineUnit = "cycles_per_s", cr.CyclesPerS, "cycles/s"
	b.teardown.Store(true)
	b.closeAll(2*time.Second, 8)
	return res
}

// ---------------------------------------------------------------- main

func main() {
	o := parseOptions()
	if o.procs > 0 {
		runtime.GOMAXPROCS(o.procs)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400) // small heaps; collect less often
	}
	raiseNoFile()
	b, err := newBase(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", toolName, err)
		os.Exit(2)
	}
	if o.brokerPid > 0 && procCPU(o.brokerPid) < 0 {
		fmt.Fprintf(os.Stderr, "%s: --broker-pid %d: no such process\n", toolName, o.brokerPid)
		os.Exit(2)
	}
	// watchdog: every step has its own timeout; this is the last resort
	hard := o.duration + o.setupTimeout + o.settle + 30
	if o.mode == "idle" {
		hard += float64(o.conns)/500*2 + 20 // check and close
	}
	go func() {
		time.Sleep(time.Duration(hard * float64(time.Second)))
		b.finish(3, fmt.Sprintf("hard deadline (%.0f s) reached; broker stalled? forced exit", hard))
	}()
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigc
		b.fail(errors.New("interrupted"))
		<-sigc
		b.finish(1, "interrupted twice")
	}()
	var res *result
	switch o.mode {
	case "fanout":
		res = runFanout(b)
	case "queues":
		res = runQueues(b)
	case "idle":
		res = runIdle(b)
	case "churn":
		res = runChurn(b)
	}
	b.resMu.Lock()
	b.finalizeTotals(res)
	b.res = res
	b.resMu.Unlock()
	code := 0
	if len(res.Errors) > 0 {
		code = 1
	}
	b.finish(code, "")
}
