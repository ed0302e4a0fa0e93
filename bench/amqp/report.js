#!/usr/bin/env node
'use strict';
// Helper of bench/amqp/run.sh (plain Node, no dependencies, not part of the TypeScript build).
//   node report.js line RUN_JSON EXIT_CODE        one-line summary of one amqp-perf run
//   node report.js snap FILE                      CPU counters of every process, into FILE
//   node report.js outside SNAP0 SNAP1 PID...     CPU used in between outside those process trees
//   node report.js final WORK_DIR OUT_FILE        tables on stdout, all results as JSON in OUT_FILE
// Exit status of `line`: 0 when the file holds a usable result object, 1 when it does not.
// WORK_DIR layout (written by run.sh): scenarios.tsv (id, name, latency 0/1, args),
// <broker>/{status,message,uri,pid,version} and <broker>/<scenario>-<n>.{json,err,rc}.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BROKERS = [
  { key: 'ours', label: 'ours' },
  { key: 'rabbit', label: 'RabbitMQ' },
];

function readJson(file) {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (!text) return null;
    const value = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function readText(file, fallback = '') {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const int = (x) => (x == null ? '-' : Math.round(x).toLocaleString('en-US'));
const ms = (x) => (x == null ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toString());
const pct = (x) => (x == null ? '-' : `${Math.round(x)}%`);

/** The figures a run is judged by; all medians are taken per figure, over the runs without errors. */
function figures(r) {
  const cpu = r.cpu ?? {};
  return {
    // without consumers the headline is what the producers got through (confirmed, or sent)
    receive_rate: (r.consumers === 0 ? r[r.headline ?? 'send_rate'] : r.receive_rate) ?? null,
    send_rate: r.send_rate ?? null,
    confirm_rate: r.confirm ? (r.confirm_rate ?? null) : null,
    latency_p50_ms: r.latency_ms?.median ?? null,
    latency_p99_ms: r.latency_ms?.p99 ?? null,
    confirm_latency_p50_ms: r.confirm_latency_ms?.median ?? null,
    confirm_latency_p99_ms: r.confirm_latency_ms?.p99 ?? null,
    broker_cpu_pct_of_one_core: cpu.broker_pct_of_one_core ?? null,
    tool_cpu_pct_of_one_core: cpu.tool_pct_of_one_core ?? null,
    machine_busy_pct: cpu.machine_busy_pct ?? null,
    other_cpu_pct_of_one_core: cpu.other_pct_of_one_core ?? null,
    backlog_at_end: r.backlog_at_end ?? null,
  };
}

function firstError(r, rc) {
  if (r && Array.isArray(r.errors) && r.errors.length > 0) return String(r.errors[0]);
  if (rc === 0) return '';
  return `amqp-perf exit ${rc}`;
}

function lineSummary(r, rc) {
  const f = figures(r);
  const parts = [`recv ${int(f.receive_rate)}/s`, `send ${int(f.send_rate)}/s`];
  if (f.latency_p50_ms != null) parts.push(`p50 ${ms(f.latency_p50_ms)} ms`, `p99 ${ms(f.latency_p99_ms)} ms`);
  parts.push(
    `| CPU broker ${pct(f.broker_cpu_pct_of_one_core)} tool ${pct(f.tool_cpu_pct_of_one_core)} busy ${pct(f.machine_busy_pct)}`,
  );
  if (r.blocked_events) parts.push(`blocked ${r.blocked_events}x`);
  const err = firstError(r, rc);
  if (err) parts.push(`ERROR: ${err}`);
  return parts.join('  ');
}

function pad(rows) {
  const widths = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  return rows
    .map((row) =>
      row
        .map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function final(work, outFile) {
  const env = process.env;
  const scenarios = readText(path.join(work, 'scenarios.tsv'))
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, name, latency, args] = line.split('\t');
      return { id, name, latency: latency === '1', args };
    });

  const brokers = {};
  for (const { key } of BROKERS) {
    const dir = path.join(work, key);
    if (!fs.existsSync(dir)) continue;
    brokers[key] = {
      status: readText(path.join(dir, 'status'), 'unknown'),
      message: readText(path.join(dir, 'message')),
      uri: readText(path.join(dir, 'uri')).replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@'),
      pid: Number(readText(path.join(dir, 'pid'))) || null,
      version: readText(path.join(dir, 'version')).split('\n').join(' '),
      idle_machine_busy_pct: Number(readText(path.join(dir, 'idle_busy'))) || 0,
    };
  }

  let toolVersion = null;
  const results = scenarios.map((s) => {
    const out = { id: s.id, name: s.name, args: s.args, latency_scenario: s.latency };
    for (const key of Object.keys(brokers)) {
      const dir = path.join(work, key);
      const runs = [];
      for (let n = 1; ; n++) {
        const base = path.join(dir, `${s.id}-${n}`);
        if (!fs.existsSync(`${base}.rc`)) break;
        const rc = Number(readText(`${base}.rc`, '-1'));
        const r = readJson(`${base}.json`);
        if (r && r.version) toolVersion = `${r.tool} ${r.version}`;
        const [preBusy, preOutside, preWaited] = readText(`${base}.pre`).split(' ').map(Number);
        const [otherPct, otherTop] = readText(`${base}.outside`).split('\t');
        const discarded = [];
        for (let k = 1; fs.existsSync(`${base}-try${k}.rc`); k++) {
          const [p, top] = readText(`${base}-try${k}.outside`).split('\t');
          discarded.push({ attempt: k, other_work_pct: Number(p), other_work: top || null, result: readJson(`${base}-try${k}.json`) });
        }
        const ok = rc === 0 && r != null && r.receive_rate != null && (r.errors ?? []).length === 0;
        runs.push({
          run: n,
          ok,
          exit_code: rc,
          error: ok ? null : firstError(r, rc) || readText(`${base}.err`).split('\n').slice(-1)[0] || 'no result',
          machine_before: Number.isFinite(preBusy)
            ? { busy_pct: preBusy, other_work_pct: preOutside, waited_s: preWaited }
            : null,
          other_work_during_run_pct: otherPct === '' || otherPct == null ? null : Number(otherPct),
          other_work_during_run: otherTop || null,
          disturbed: Number(otherPct) > Number(env.BENCH_QUIET_MAX ?? 10),
          // amqp-perf runs on one Go P by default; near a full core it may be the bottleneck
          tool_bound: r?.cpu?.gomaxprocs === 1 && (r?.cpu?.tool_pct_of_one_core ?? 0) >= 90,
          result: r,
          discarded_disturbed_attempts: discarded,
        });
      }
      const skipped = readText(path.join(dir, `${s.id}.skipped`));
      const good = runs.filter((r) => r.ok).map((r) => figures(r.result));
      const med = {};
      if (good.length > 0) for (const k of Object.keys(good[0])) med[k] = median(good.map((g) => g[k]));
      const rates = good.map((g) => g.receive_rate).filter((x) => x != null);
      out[key] = {
        runs_ok: good.length,
        runs_total: runs.length,
        skipped: skipped || null,
        median: good.length > 0 ? med : null,
        receive_rate_min: rates.length ? Math.min(...rates) : null,
        receive_rate_max: rates.length ? Math.max(...rates) : null,
        runs,
      };
    }
    return out;
  });

  // ---- tables
  const lines = [];
  const settings = `median of ${env.BENCH_RUNS} run(s), -z ${env.BENCH_TIME} s (first 2 s are warmup), ${os.cpus().length} CPUs`;
  lines.push('', `AMQP benchmark: ${settings}`);
  for (const { key, label } of BROKERS) {
    const b = brokers[key];
    if (!b) continue;
    const what = [b.version, b.uri, b.pid ? `pid ${b.pid}` : ''].filter(Boolean).join(', ');
    lines.push(`  ${label.padEnd(8)} ${b.status}${what ? ` (${what})` : ''}${b.message ? `: ${b.message.split('\n')[0]}` : ''}`);
  }
  let disturbedNote = false;
  let toolNote = false;
  const cell = (sr, b) => {
    if (!sr || !b) return 'n/a';
    if (b.status !== 'measured' && sr.runs_total === 0) return 'not measured';
    let mark = '';
    if (sr.runs.some((r) => r.ok && r.disturbed)) {
      mark += '*';
      disturbedNote = true;
    }
    if (sr.runs.some((r) => r.ok && r.tool_bound)) {
      mark += '!';
      toolNote = true;
    }
    if (sr.median) return int(sr.median.receive_rate) + mark + (sr.runs_ok < sr.runs_total ? ` (${sr.runs_ok}/${sr.runs_total} ok)` : '');
    if (sr.runs_total > 0) return 'ERROR';
    return 'skipped';
  };
  const latCell = (sr, s) =>
    s.latency_scenario && sr?.median ? `${ms(sr.median.latency_p50_ms)} / ${ms(sr.median.latency_p99_ms)}` : '';
  const rows = [['id', 'scenario', 'ours msg/s', 'rabbit msg/s', 'ours/rabbit', 'ours p50/p99 ms', 'rabbit p50/p99 ms']];
  for (const s of results) {
    const o = s.ours?.median?.receive_rate;
    const r = s.rabbit?.median?.receive_rate;
    rows.push([
      s.id,
      s.name,
      cell(s.ours, brokers.ours),
      cell(s.rabbit, brokers.rabbit),
      o != null && r ? (o / r).toFixed(2) : '-',
      latCell(s.ours, s),
      latCell(s.rabbit, s),
    ]);
  }
  lines.push('', pad(rows));
  if (disturbedNote) lines.push('* includes runs that other work on the machine disturbed (see below)');
  if (toolNote)
    lines.push(
      "! amqp-perf used >= 90% of its one core (GOMAXPROCS=1): the load generator, not the broker, may set this figure;\n  check with AMQP_PERF_ARGS='--procs 0'",
    );

  for (const { key, label } of BROKERS) {
    if (!brokers[key]) continue;
    const detail = [
      ['id', 'scenario', 'ok', 'recv/s', 'spread', 'send/s', 'p50 ms', 'p99 ms', 'broker CPU', 'tool CPU', 'busy', 'other'],
    ];
    const errors = [];
    let any = false;
    for (const s of results) {
      const sr = s[key];
      if (!sr || sr.runs_total === 0) continue;
      any = true;
      const m = sr.median;
      const spread =
        m && sr.runs_ok > 1 && m.receive_rate
          ? `±${(((sr.receive_rate_max - sr.receive_rate_min) / 2 / m.receive_rate) * 100).toFixed(1)}%`
          : '-';
      detail.push([
        s.id,
        s.name,
        `${sr.runs_ok}/${sr.runs_total}`,
        int(m?.receive_rate),
        spread,
        int(m?.send_rate),
        ms(m?.latency_p50_ms),
        ms(m?.latency_p99_ms),
        pct(m?.broker_cpu_pct_of_one_core),
        pct(m?.tool_cpu_pct_of_one_core),
        pct(m?.machine_busy_pct),
        pct(m?.other_cpu_pct_of_one_core),
      ]);
      for (const run of sr.runs) {
        if (!run.ok) errors.push(`  ${s.id} run ${run.run}: ${run.error}`);
        if (run.disturbed)
          errors.push(`  ${s.id} run ${run.run}: disturbed, other work used ${run.other_work_during_run_pct}% of the machine: ${run.other_work_during_run}`);
        if (run.ok && run.tool_bound)
          errors.push(`  ${s.id} run ${run.run}: amqp-perf at ${Math.round(run.result.cpu.tool_pct_of_one_core)}% of its one core; it may be the bottleneck`);
        if (run.discarded_disturbed_attempts.length)
          errors.push(`  ${s.id} run ${run.run}: repeated ${run.discarded_disturbed_attempts.length}x because other work disturbed it`);
      }
      if (sr.skipped) errors.push(`  ${s.id}: ${sr.skipped}`);
    }
    if (!any) continue;
    lines.push('', `${label}, medians over the runs without errors (CPU in % of one core; busy = whole machine):`);
    lines.push(pad(detail));
    if (errors.length) lines.push(`${label} errors and warnings:`, ...errors);
  }
  console.log(lines.join('\n'));

  const doc = {
    harness: 'bench/amqp/run.sh',
    started_at: env.BENCH_STARTED_AT,
    finished_at: new Date().toISOString(),
    host: { hostname: os.hostname(), cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, mem_mb: Math.round(os.totalmem() / 1048576), kernel: os.release(), node: process.version },
    settings: {
      runs: Number(env.BENCH_RUNS),
      time_s: Number(env.BENCH_TIME),
      pause_s: Number(env.BENCH_PAUSE),
      quiet_max_pct: Number(env.BENCH_QUIET_MAX),
      retries: Number(env.BENCH_RETRIES),
      quick: env.BENCH_QUICK === '1',
      only: env.BENCH_ONLY || null,
      scenarios: scenarios.map((s) => s.id),
      median: 'each figure is the median over the runs of that scenario that ended without errors',
    },
    load_generator: { path: env.BENCH_TOOL, version: toolVersion, extra_args: env.BENCH_TOOL_ARGS || null },
    repo_commit: env.BENCH_COMMIT || null,
    brokers,
    scenarios: results,
  };
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(doc, null, 2)}\n`);
  const measured = results.some((s) => Object.keys(brokers).some((k) => s[k]?.runs_ok > 0));
  console.log(`\nraw results: ${outFile}`);
  return measured ? 0 : 3;
}

// ---- CPU of other processes during a run (to spot a run disturbed by other work on the box)

/**
 * The machine's busy jiffies (/proc/stat) and every process: key pid:starttime ->
 * { pid, ppid, kernel thread?, own (utime+stime), reaped (cutime+cstime), cmd }.
 */
function snapshot() {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7];
  const procs = {};
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const f = stat.slice(close + 2).split(' ');
    const pid = Number(name);
    const ppid = Number(f[1]);
    let cmd = stat.slice(stat.indexOf('(') + 1, close);
    try {
      const line = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (line) cmd = line.slice(0, 100);
    } catch {
      /* gone */
    }
    procs[`${pid}:${f[19]}`] = {
      pid,
      ppid,
      kthread: pid === 2 || ppid === 2,
      own: Number(f[11]) + Number(f[12]),
      reaped: Number(f[13]) + Number(f[14]),
      cmd,
    };
  }
  return { t: Date.now(), cpus: os.cpus().length, busy, procs };
}

/**
 * CPU the machine spent between two snapshots on anything but the given process trees (the
 * harness, which holds the load generator, and the broker) and kernel threads, in % of the whole
 * machine, with the biggest other processes named. Counted as machine busy time minus those, so
 * short-lived processes count too; softirq time is mostly charged to the tasks that cause it.
 */
function outside(before, after, roots) {
  const all = { ...before.procs, ...after.procs };
  const children = new Map();
  for (const p of Object.values(all)) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p.pid);
  }
  const excluded = new Set();
  const stack = roots.filter((x) => x > 0);
  while (stack.length) {
    const pid = stack.pop();
    if (excluded.has(pid)) continue;
    excluded.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  let ours = 0;
  const others = [];
  for (const [key, p] of Object.entries(after.procs)) {
    const prev = before.procs[key];
    if (excluded.has(p.pid)) {
      // with what it reaped: the load generator has exited by the second snapshot
      ours += p.own + p.reaped - (prev ? prev.own + prev.reaped : 0);
    } else if (p.kthread) {
      ours += p.own - (prev?.own ?? 0); // network softirq work etc., caused by the run itself
    } else {
      const used = p.own - (prev?.own ?? 0);
      if (used > 0) others.push({ ...p, used });
    }
  }
  const seconds = Math.max(0.001, (after.t - before.t) / 1000);
  const capacity = seconds * 100 * after.cpus; // USER_HZ = 100
  const rest = Math.max(0, after.busy - before.busy - ours);
  const pct = Math.min(100, Math.round((100 * rest) / capacity));
  others.sort((x, y) => y.used - x.used);
  const named = others
    .map((u) => ({ ...u, pctOfCore: u.used / seconds })) // jiffies per second = % of one core
    .filter((u) => u.pctOfCore >= 2)
    .slice(0, 3)
    .map((u) => `${u.cmd} (pid ${u.pid}) ${Math.round(u.pctOfCore)}% of a core`);
  return { pct, top: named.join('; ') || 'short-lived processes' };
}

const [cmd, a, b] = process.argv.slice(2);
if (cmd === 'line') {
  const r = readJson(a);
  if (!r) {
    console.log(`no result (amqp-perf exit ${b})`);
    process.exit(1);
  }
  console.log(lineSummary(r, Number(b)));
} else if (cmd === 'snap') {
  fs.writeFileSync(a, JSON.stringify(snapshot()));
} else if (cmd === 'outside') {
  // outside SNAP_BEFORE SNAP_AFTER ROOT_PID...: prints "PCT<TAB>top users"
  const o = outside(JSON.parse(fs.readFileSync(a, 'utf8')), JSON.parse(fs.readFileSync(b, 'utf8')), process.argv.slice(5).map(Number));
  console.log(`${o.pct}\t${o.top}`);
} else if (cmd === 'final') {
  process.exit(final(a, b));
} else {
  console.error('usage: report.js line RUN_JSON EXIT_CODE | snap FILE | outside SNAP0 SNAP1 PID... | final WORK_DIR OUT_FILE');
  process.exit(2);
}
