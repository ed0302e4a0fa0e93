#!/usr/bin/env node
// Helper of bench/amqp/scale.sh (no dependencies):
//   node scale-report.js line RUN_JSON EXIT_CODE          one-line summary of one loadgen run
//   node scale-report.js snap FILE                        CPU counters of every process, into FILE
//   node scale-report.js outside SNAP0 SNAP1 PID...       CPU used in between outside those process trees
//   node scale-report.js final WORK_DIR OUT_FILE          the comparison table, and the raw JSON into OUT_FILE
// Exit status of final: 0 written, 3 written but no broker measured at all, 1 failure.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
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
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const get = (obj, dotted) => dotted.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);

// The figures of each mode: [label, path in the loadgen JSON, which way is better ('high' | 'low'),
// whether ours/RabbitMQ means anything (not for counts and growths, which can be 0 or negative)].
// The first one is the scenario's main figure.
const METRICS = {
  fanout: [
    ['received msg/s, all queues', 'fanout.receive_rate', 'high'],
    ['received msg/s, slowest queue', 'fanout.per_queue_receive_rate.min', 'high'],
    ['published msg/s', 'fanout.send_rate', 'high'],
    ['latency p99 ms', 'fanout.latency_ms.p99', 'low'],
  ],
  queues: [
    ['received, % of target', 'queues.receive_pct_of_target', 'high'],
    ['queues below 97% of target', 'queues.queues_below_97pct', 'low', false],
    ['latency p50 ms', 'queues.latency_ms.median', 'low'],
    ['latency p99 ms', 'queues.latency_ms.p99', 'low'],
    ['worst queue p99 ms', 'queues.worst_queue_p99_ms', 'low'],
    ['set-up s (declare + consume)', 'queues.setup_s', 'low'],
  ],
  idle: [
    ['broker RSS MB, all open (max)', 'broker.rss_mb_max', 'low'],
    ['broker KB per connection', 'idle.broker_kb_per_conn', 'low'],
    ['open and answering at the end', 'idle.check_ok', 'high'],
    ['seconds to open them all', 'idle.open_s', 'low'],
    ['broker RSS MB after closing', 'broker.rss_mb_after_settle', 'low'],
  ],
  churn: [
    ['cycles/s', 'churn.cycles_per_s', 'high'],
    ['cycle p99 ms', 'churn.cycle_ms.p99', 'low'],
    ['broker RSS growth MB (settled)', 'churn.rss_growth_mb', 'low', false],
    ['broker fd growth (settled)', 'churn.fd_growth', 'low', false],
    ['exclusive queues left behind', 'churn.queues_left_behind', 'low', false],
  ],
};

function firstError(r, rc) {
  if (!r) return `no result (loadgen exit ${rc})`;
  return (r.errors || [])[0] || (rc ? `loadgen exit ${rc}` : '');
}

function fmt(v) {
  if (v == null || Number.isNaN(v)) return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(a === 0 ? 0 : 2);
}

function lineSummary(r, rc) {
  const m = METRICS[r.mode] || [];
  const parts = m.slice(0, 3).map(([label, p]) => `${label} ${fmt(get(r, p))}`);
  const cpu = r.cpu || {};
  const br = r.broker || {};
  parts.push(`broker cpu ${fmt(cpu.broker_pct_of_one_core)}%, rss max ${fmt(br.rss_mb_max)} MB`);
  parts.push(`loadgen cpu ${fmt(cpu.tool_pct_of_one_core)}%`);
  const err = rc ? `  ERROR: ${firstError(r, rc)}` : '';
  return parts.join('; ') + err;
}

function pad(rows) {
  const widths = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] || 0, String(c).length)));
  return rows.map((row) => row.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd());
}

// ---- the final table and JSON

function loadRuns(work, broker, id, quietMax) {
  const dir = path.join(work, broker);
  const runs = [];
  for (let n = 1; ; n++) {
    const base = path.join(dir, `${id}-${n}`);
    if (!fs.existsSync(`${base}.rc`)) break;
    const rc = Number(readText(`${base}.rc`, '99'));
    const [otherPct, otherTop] = readText(`${base}.outside`).split('\t');
    const attempts = [];
    for (let k = 1; fs.existsSync(`${base}-try${k}.rc`); k++) {
      const [p, top] = readText(`${base}-try${k}.outside`).split('\t');
      attempts.push({ rc: Number(readText(`${base}-try${k}.rc`, '99')), other_pct: Number(p) || 0, disturbers: top || '', result: readJson(`${base}-try${k}.json`) });
    }
    const other = Number(otherPct) || 0;
    runs.push({ n, rc, other_pct: other, disturbed: other > quietMax, disturbers: otherTop || '', result: readJson(`${base}.json`), stderr_tail: readText(`${base}.err`).split('\n').slice(-5).join('\n'), discarded_attempts: attempts });
  }
  return runs;
}

function summarize(runs) {
  const ok = runs.filter((r) => r.rc === 0 && r.result);
  const withResult = runs.filter((r) => r.result && r.result.mode);
  const used = ok.length ? ok : withResult; // no clean run: show what the failed ones measured, marked
  const mode = used[0]?.result.mode;
  const medians = {};
  for (const [label, p] of METRICS[mode] || []) medians[label] = median(used.map((r) => get(r.result, p)));
  medians.broker_cpu_pct = median(used.map((r) => get(r.result, 'cpu.broker_pct_of_one_core')));
  medians.broker_rss_mb_max = median(used.map((r) => get(r.result, 'broker.rss_mb_max')));
  medians.tool_cpu_pct = median(used.map((r) => get(r.result, 'cpu.tool_pct_of_one_core')));
  medians.other_pct = median(used.map((r) => r.other_pct));
  const gomax = median(used.map((r) => get(r.result, 'cpu.gomaxprocs'))) || 1;
  return {
    mode,
    runs_ok: ok.length,
    runs: runs.length,
    from_failed_runs: !ok.length && used.length > 0,
    disturbed: used.some((r) => r.disturbed),
    tool_saturated: used.some((r) => (get(r.result, 'cpu.tool_pct_of_one_core') || 0) >= 90 * gomax),
    medians,
    errors: runs.filter((r) => r.rc !== 0).map((r) => `run ${r.n}: ${firstError(r.result, r.rc)}`),
  };
}

// Warnings and errors a broker logged during a scenario: ours logs pino JSON lines (level 40 warn,
// 50 error, 60 fatal), RabbitMQ "[warning]" / "[error]" lines.
function brokerLog(file) {
  const text = readText(file);
  if (!text) return { warnings: 0, errors: 0, lines: [] };
  let warnings = 0;
  let errors = 0;
  const lines = [];
  for (const line of text.split('\n')) {
    // the loadgen's own churn leak check: a passive declare of a deleted server-named queue is a 404
    // by design (RabbitMQ logs a "Channel error" header line and this operation line for each)
    if (/Channel error on connection/.test(line) || /not_found: no queue 'amq\.gen-/.test(line)) continue;
    let level = null;
    const m = /"level":(\d+)/.exec(line);
    if (m) level = Number(m[1]) >= 50 ? 'error' : Number(m[1]) >= 40 ? 'warning' : null;
    else if (/\[(error|critical|alert|emergency)\]/.test(line)) level = 'error';
    else if (/\[warning\]/.test(line)) level = 'warning';
    else if (!line.startsWith('{') && /error|exception|fatal/i.test(line) && !/\[(info|debug|notice)\]/.test(line)) level = 'error'; // stderr
    if (!level) continue;
    if (level === 'error') errors++;
    else warnings++;
    if (lines.length < 20) lines.push(line.slice(0, 400));
  }
  return { warnings, errors, lines };
}

function final(work, outFile) {
  const quietMax = Number(process.env.BENCH_QUIET_MAX || 10);
  const scenarios = readText(path.join(work, 'scenarios.tsv'))
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, name, args] = l.split('\t');
      return { id, name, args };
    });
  const brokers = (process.env.BENCH_BROKERS || 'ours rabbit').split(' ').filter(Boolean);
  const label = { ours: 'ours', rabbit: 'RabbitMQ' };
  const results = [];
  const notes = [];
  for (const s of scenarios) {
    const entry = { id: s.id, name: s.name, loadgen_args: s.args, brokers: {} };
    for (const b of brokers) {
      const dir = path.join(work, b);
      const status = readText(path.join(dir, `${s.id}.status`), 'not-run');
      const runs = loadRuns(work, b, s.id, quietMax);
      entry.brokers[b] = {
        status,
        message: readText(path.join(dir, `${s.id}.message`)),
        broker: readText(path.join(dir, `${s.id}.meta`)),
        broker_log: brokerLog(path.join(dir, `${s.id}.broker.log`)),
        summary: runs.length ? summarize(runs) : null,
        runs,
      };
    }
    results.push(entry);
  }

  // ---- the table
  const header = ['scenario', 'figure', 'ours', 'RabbitMQ', 'ours/Rabbit', 'broker CPU % (o/R)', 'broker RSS MB (o/R)', 'loadgen CPU % (o/R)'];
  const rows = [header];
  const mark = (sum) => (sum ? `${sum.from_failed_runs ? 'e' : ''}${sum.disturbed ? '*' : ''}${sum.tool_saturated ? '!' : ''}` : '');
  for (const e of results) {
    const o = e.brokers.ours?.summary;
    const r = e.brokers.rabbit?.summary;
    const mode = o?.mode || r?.mode;
    const metrics = METRICS[mode] || [];
    if (!metrics.length) {
      rows.push([e.name, 'not measured', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    metrics.forEach(([labelText, , better, hasRatio = true], i) => {
      const ov = o?.medians[labelText];
      const rv = r?.medians[labelText];
      let ratio = '-';
      if (hasRatio && typeof ov === 'number' && typeof rv === 'number' && ov > 0 && rv > 0) ratio = (ov / rv).toFixed(2);
      const arrow = better === 'high' ? ' (+)' : better === 'low' ? ' (-)' : '';
      const pair = (k) => `${fmt(o?.medians[k])} / ${fmt(r?.medians[k])}`;
      rows.push([
        i === 0 ? e.name : '',
        labelText + arrow,
        fmt(ov) + (i === 0 ? mark(o) : ''),
        fmt(rv) + (i === 0 ? mark(r) : ''),
        ratio,
        i === 0 ? pair('broker_cpu_pct') : '',
        i === 0 ? pair('broker_rss_mb_max') : '',
        i === 0 ? pair('tool_cpu_pct') : '',
      ]);
    });
  }
  const lines = pad(rows);
  lines.splice(1, 0, '-'.repeat(Math.max(...lines.map((l) => l.length))));
  console.log('');
  console.log(lines.join('\n'));
  console.log('');
  console.log('Medians over the runs without errors. (+) higher is better, (-) lower is better; ours/Rabbit is the ratio of the medians.');
  console.log('CPU: % of one core over the measured window (idle: the hold; the broker\'s CPU while opening is in the JSON). RSS: the');
  console.log('broker\'s largest VmRSS in the window. Marks: * a run other work disturbed; ! loadgen at >= 90% of its core (GOMAXPROCS');
  console.log('1), so it may be the limit; e no run without errors, figures from the failed runs.');
  for (const e of results) {
    for (const b of brokers) {
      const x = e.brokers[b];
      if (x.status !== 'measured') notes.push(`${e.name}, ${label[b]}: not measured: ${x.message || x.status}`);
      for (const err of x.summary?.errors || []) notes.push(`${e.name}, ${label[b]}: ${err}`);
      const bl = x.broker_log;
      if (bl && bl.warnings + bl.errors > 0) {
        notes.push(`${e.name}, ${label[b]}: the broker logged ${bl.errors} error and ${bl.warnings} warning lines; first: ${bl.lines[0].slice(0, 200)}`);
      }
      for (const run of x.runs) {
        for (const n of run.result?.notes || []) {
          if (/broker .* may open only|stopped opening/.test(n)) notes.push(`${e.name}, ${label[b]}: ${n}`);
        }
      }
    }
  }
  if (notes.length) {
    console.log('');
    for (const n of [...new Set(notes)]) console.log(`  ${n}`);
  }

  const doc = {
    tool: 'bench/amqp/scale.sh',
    started_at: process.env.BENCH_STARTED_AT || null,
    finished_at: new Date().toISOString(),
    commit: process.env.BENCH_COMMIT || null,
    host: { hostname: os.hostname(), cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, mem_mb: Math.round(os.totalmem() / 2 ** 20), kernel: os.release(), node: process.version },
    settings: {
      runs: Number(process.env.BENCH_RUNS),
      time_s: Number(process.env.BENCH_TIME),
      quick: process.env.BENCH_QUICK === '1',
      only: process.env.BENCH_ONLY || null,
      quiet_max_pct: quietMax,
      retries: Number(process.env.BENCH_RETRIES),
      loadgen: process.env.BENCH_TOOL || null,
      loadgen_args: process.env.BENCH_TOOL_ARGS || '',
      fd_limit: Number(process.env.BENCH_NOFILE) || null,
    },
    scenarios: results,
  };
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`\nraw results: ${outFile}`);
  const measured = results.some((e) => brokers.some((b) => e.brokers[b].runs.some((r) => r.result && r.result.mode)));
  return measured ? 0 : 3;
}

// ---- CPU of other processes during a run (to spot a run disturbed by other work on the box)

function snapshot() {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]; // user nice system irq softirq steal
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
    procs[`${pid}:${f[19]}`] = { pid, ppid, kthread: pid === 2 || ppid === 2, own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]), cmd };
  }
  return { t: Date.now(), cpus: os.cpus().length, busy, procs };
}

/** % of the machine used between two snapshots by anything but the given process trees and kernel threads. */
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
    if (excluded.has(p.pid)) ours += p.own + p.reaped - (prev ? prev.own + prev.reaped : 0);
    else if (p.kthread) ours += p.own - (prev?.own ?? 0);
    else {
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
    .map((u) => ({ ...u, pctOfCore: u.used / seconds }))
    .filter((u) => u.pctOfCore >= 2)
    .slice(0, 3)
    .map((u) => `${u.cmd} (pid ${u.pid}) ${Math.round(u.pctOfCore)}% of a core`);
  return { pct, top: named.join('; ') || 'short-lived processes' };
}

const [cmd, a, b] = process.argv.slice(2);
if (cmd === 'line') {
  const r = readJson(a);
  if (!r) {
    console.log(`no result (loadgen exit ${b})`);
    process.exit(1);
  }
  console.log(lineSummary(r, Number(b)));
} else if (cmd === 'snap') {
  fs.writeFileSync(a, JSON.stringify(snapshot()));
} else if (cmd === 'outside') {
  const o = outside(JSON.parse(fs.readFileSync(a, 'utf8')), JSON.parse(fs.readFileSync(b, 'utf8')), process.argv.slice(5).map(Number));
  console.log(`${o.pct}\t${o.top}`);
} else if (cmd === 'final') {
  try {
    process.exit(final(a, b));
  } catch (e) {
    console.error(`scale-report.js: ${e.stack || e}`);
    process.exit(1);
  }
} else {
  console.error('usage: scale-report.js line RUN_JSON EXIT_CODE | snap FILE | outside SNAP0 SNAP1 PID... | final WORK_DIR OUT_FILE');
  process.exit(2);
}
