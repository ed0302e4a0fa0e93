#!/usr/bin/env node
// Crash campaign: kill -9 the broker again and again under load on all three doors, on one data
// directory, then check that nothing it accepted was lost.
//
//   node bench/security/crash-campaign.js [--rounds 20] [--seconds 4] [--seed N] [--sink-fail 0.05] [--keep]
//
// Each round starts the built broker (dist/apps/broker/src/main.js) on the same DATA_DIR, loads it
// for a random 1..S seconds (seeded) and kills it with SIGKILL:
//   AMQP       persistent publishes with confirms to the durable queue `crash-campaign`, and a
//              consumer that acks some of them;
//   job API    /schedule on lane `crash-campaign`, and /receive_noblock on the same lane;
//   delivery   POST / with unique UUIDs to an HTTP sink run by this script (which answers 2xx, or an
//              injected 503 now and then so that retries are pending at the kills).
// After the last round the broker is started once more and everything is drained. Per door:
// accepted (confirm / ok / 202), lost (accepted, never seen again: must be 0), duplicates and
// resurrected (settled before a kill, seen again after the restart). The last line is
// `RESULT lost=<n>`; exit code 1 when anything accepted was lost (or the campaign could not finish).
'use strict';

const { spawn } = require('node:child_process');
const { randomUUID, randomInt } = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const amqp = require('amqplib');

// ---------------------------------------------------------------------------------------- options

const USAGE = `usage: node bench/security/crash-campaign.js [options]
  --rounds N        kill -9 rounds (default 20)
  --seconds S       upper bound of the load per round before the kill, seconds (default 4; the
                    kill comes at a random moment in [min(1, S), S] after the broker is ready)
  --seed N          seed of the PRNG that picks the kill moments and the load shape (default: random,
                    printed)
  --sink-fail P     probability that the sink answers 503 to a delivery attempt (default 0.05)
  --drain-timeout S bound of the final drain, seconds (default 300)
  --keep            keep the temporary directory (data and broker logs)
  --help`;

function parseArgs(argv) {
  const options = { rounds: 20, seconds: 4, seed: randomInt(1, 2 ** 31), sinkFail: 0.05, drainTimeout: 300, keep: false };
  const number = (name, value, min) => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < min) fail(`--${name} wants a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--rounds':
        options.rounds = Math.floor(number('rounds', argv[++i], 1));
        break;
      case '--seconds':
        options.seconds = number('seconds', argv[++i], 0.05);
        break;
      case '--seed':
        options.seed = Math.floor(number('seed', argv[++i], 0));
        break;
      case '--sink-fail':
        options.sinkFail = number('sink-fail', argv[++i], 0);
        if (options.sinkFail > 0.5) fail('--sink-fail wants a probability <= 0.5');
        break;
      case '--drain-timeout':
        options.drainTimeout = number('drain-timeout', argv[++i], 1);
        break;
      case '--keep':
        options.keep = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        fail(`unknown argument ${arg}`);
    }
  }
  return options;
}

function fail(message) {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

const options = parseArgs(process.argv.slice(2));

/** mulberry32: a small seeded PRNG, [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(options.seed);

// ------------------------------------------------------------------------------------- constants

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'apps', 'broker', 'src', 'main.js');
const QUEUE = 'crash-campaign';
const LANE = 'crash-campaign';
const HOST = '127.0.0.1';
const PUBLISH_WINDOW = 256; // unconfirmed AMQP publishes at most
const CONSUMER_PREFETCH = 64;
const JOB_SCHEDULERS = 4;
const JOB_RECEIVERS = 2;
const JOB_RECEIVE_SHARE = 0.6; // receivers take at most this share of the jobs scheduled in a round: a backlog survives
const DELIVERY_POSTERS = 4;
const T0 = Date.now();
const QUIET_MS = 5000; // the sink must be quiet this long at the end

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** A sleep that does not keep the process alive (for races against a bound). */
const bound = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

// ----------------------------------------------------------------------------------------- ledger

/** What each door accepted, what was settled before a kill, and every time an id was seen. */
const ledger = {
  amqp: {
    published: 0,
    confirmed: new Map(), // id -> round of the confirm
    nacked: 0,
    nackReasons: new Set(),
    acked: new Map(), // id -> incarnation of the ack (sent without error)
    seen: new Map(), // id -> [{ inc, redelivered }]
    foreign: 0, // bodies we never published
  },
  jobs: {
    scheduled: 0,
    ok: new Map(), // id -> round
    refused: 0, // answered, but not ok
    received: new Map(), // id -> incarnation of the answered receive (during the load)
    seen: new Map(), // id -> [inc]
    receiveErrors: 0, // receives that failed in flight (broker killed)
    foreign: 0,
  },
  delivery: {
    posted: new Set(), // every UUID we tried
    accepted: new Map(), // uuid -> round of the 202
    refused: 0,
    seen: new Map(), // uuid -> [{ inc, status }]
    injected: 0, // 503 answers given on purpose
    corrupt: 0, // body and header disagree
    foreign: 0,
  },
};

function pushSeen(map, id, entry) {
  const list = map.get(id);
  if (list === undefined) map.set(id, [entry]);
  else list.push(entry);
}

// ------------------------------------------------------------------------------- broker process

let incarnation = -1; // index of the broker process that is alive (-1: none)
let child = null;
let tempRoot = null;
const brokerLog = { lines: new Map(), stderrTail: '' };

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function pickPorts() {
  const ports = new Set();
  while (ports.size < 4) ports.add(await freePort());
  const [amqpPort, jobs, dispatch, management] = [...ports];
  return { amqp: amqpPort, jobs, dispatch, management };
}

function httpGetStatus(port, urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: urlPath, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts the broker; resolves with { proc, exited, readyMs } once every door answers. */
async function startBroker(ports, dataDir, inc) {
  const logFile = fs.openSync(path.join(tempRoot, 'logs', `broker-${String(inc).padStart(2, '0')}.log`), 'a');
  const startedAt = Date.now();
  // from the spawn on (recovered deliveries are sent before the doors are ready)
  incarnation = inc;
  const proc = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      AMQP_PORT: String(ports.amqp),
      JOBS_PORT: String(ports.jobs),
      DISPATCH_PORT: String(ports.dispatch),
      MANAGEMENT_PORT: String(ports.management),
      BIND_HOST: HOST,
      LOG_LEVEL: 'warn',
      STORE_SYNC: 'full',
      DISPATCH_REFUSE_PRIVATE: 'false',
      DISPATCH_ALLOW_LOOPBACK: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let exitInfo = null;
  // 'close': the process exited and its stdout and stderr are drained, so the log can be closed
  const exited = new Promise((resolve) =>
    proc.once('close', (code, signal) => {
      exitInfo = { code, signal };
      fs.closeSync(logFile);
      resolve(exitInfo);
    }),
  );
  let buffered = '';
  proc.stdout.on('data', (chunk) => {
    fs.writeSync(logFile, chunk);
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      let key = line.slice(0, 200);
      try {
        const entry = JSON.parse(line);
        const level = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }[entry.level] ?? entry.level;
        key = `${level}: ${entry.msg}${entry.err?.message ? ` (${entry.err.message})` : ''}`;
      } catch {
        // not a JSON log line
      }
      brokerLog.lines.set(key, (brokerLog.lines.get(key) ?? 0) + 1);
    }
  });
  proc.stderr.on('data', (chunk) => {
    fs.writeSync(logFile, chunk);
    brokerLog.stderrTail = (brokerLog.stderrTail + chunk.toString()).slice(-4000);
  });

  const deadline = startedAt + 120_000;
  for (;;) {
    if (exitInfo !== null) throw new Error(`broker ${inc} exited during start-up (${JSON.stringify(exitInfo)}): ${brokerLog.stderrTail}`);
    if (Date.now() > deadline) throw new Error(`broker ${inc} not ready after 120 s`);
    if ((await httpGetStatus(ports.management, '/readyz')) === 200) {
      const open = await Promise.all([ports.amqp, ports.jobs, ports.dispatch].map(tcpOpen));
      if (open.every(Boolean)) break;
    }
    await sleep(25);
  }
  return { proc, exited, readyMs: Date.now() - startedAt };
}

async function killBroker(broker) {
  broker.proc.kill('SIGKILL');
  const info = await broker.exited;
  incarnation = -1;
  child = null;
  return info;
}

// ------------------------------------------------------------------------------------------ sink

let sinkInjectFail = options.sinkFail;
let lastSinkArrival = 0;

const sink = http.createServer((req, res) => {
  const chunks = [];
  const socketInc = req.socket.campaignInc;
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const header = req.headers['x-campaign-id'];
    const id = typeof header === 'string' ? header : body;
    const d = ledger.delivery;
    if (header !== undefined && body !== header) d.corrupt++;
    if (!d.posted.has(id)) d.foreign++;
    lastSinkArrival = Date.now();
    const status = random() < sinkInjectFail ? 503 : 200;
    if (status === 503) d.injected++;
    pushSeen(d.seen, id, { inc: socketInc ?? incarnation, status, at: Date.now() - T0 });
    const answer = () => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'try again');
    };
    const delay = Math.floor(random() * 30);
    if (delay === 0) answer();
    else setTimeout(answer, delay);
  });
  req.on('error', () => undefined);
});
sink.keepAliveTimeout = 60_000;
// a connection belongs to the broker process alive when it was accepted
sink.on('connection', (socket) => {
  socket.campaignInc = incarnation;
});

// ----------------------------------------------------------------------------------- HTTP client

/** POST JSON, resolves { status, json } or rejects on a transport error. */
function postJson(agent, port, urlPath, payload, timeoutMs = 20_000) {
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: HOST, port, path: urlPath, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode, json, text });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function getJson(port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: urlPath, agent: false, timeout: 10_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------- load: AMQP

let amqpSeq = 0;

async function connectAmqp(ports) {
  const conn = await amqp.connect({ protocol: 'amqp', hostname: HOST, port: ports.amqp, username: 'guest', password: 'guest', heartbeat: 0 });
  conn.on('error', () => undefined);
  conn.on('close', () => undefined);
  return conn;
}

function closeQuietly(conn) {
  if (conn === null) return;
  try {
    conn.connection?.stream?.destroy();
  } catch {
    // gone already
  }
}

/** Publishes persistent messages with confirms until the round ends (the kill closes the socket). */
async function amqpPublisher(round, ports) {
  const a = ledger.amqp;
  let conn = null;
  try {
    conn = await connectAmqp(ports);
    round.connections.push(conn);
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    let closed = false;
    let wake = null;
    const signal = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    ch.on('close', () => {
      closed = true;
      signal();
    });
    round.wakers.push(signal);
    await ch.assertQueue(QUEUE, { durable: true });
    let outstanding = 0;
    let sinceYield = 0;
    while (!round.killed && !closed) {
      if (outstanding >= PUBLISH_WINDOW) {
        await new Promise((resolve) => (wake = resolve));
        continue;
      }
      const id = `a${++amqpSeq}`;
      outstanding++;
      a.published++;
      try {
        ch.publish('', QUEUE, Buffer.from(id), { persistent: true }, (err) => {
          outstanding--;
          if (err === null || err === undefined) a.confirmed.set(id, round.index);
          else if (!closed && !round.killed) {
            a.nacked++;
            a.nackReasons.add(err.message);
          }
          signal();
        });
      } catch {
        break; // channel closed under us
      }
      if (++sinceYield >= 32) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } catch (error) {
    if (!round.killed) round.errors.push(`amqp publisher: ${error.message}`);
  }
}

/** Consumes and acks (after a short random delay) until the round ends. */
async function amqpConsumer(round, ports) {
  const a = ledger.amqp;
  try {
    const conn = await connectAmqp(ports);
    round.connections.push(conn);
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    let closed = false;
    ch.on('close', () => (closed = true));
    await ch.assertQueue(QUEUE, { durable: true });
    await ch.prefetch(CONSUMER_PREFETCH);
    await ch.consume(QUEUE, (msg) => {
      if (msg === null) return;
      const id = msg.content.toString('utf8');
      if (!/^a\d+$/.test(id) || Number(id.slice(1)) > amqpSeq) a.foreign++;
      pushSeen(a.seen, id, { inc: round.index, redelivered: msg.fields.redelivered });
      setTimeout(() => {
        if (round.killed || closed) return;
        try {
          ch.ack(msg);
          if (!a.acked.has(id)) a.acked.set(id, round.index); // the first ack counts for resurrection
        } catch {
          // channel closed: not acked
        }
      }, Math.floor(random() * 20));
    });
    await new Promise((resolve) => {
      round.wakers.push(resolve);
      ch.on('close', resolve);
    });
  } catch (error) {
    if (!round.killed) round.errors.push(`amqp consumer: ${error.message}`);
  }
}

// ------------------------------------------------------------------------------ load: job API

let jobSeq = 0;

async function jobScheduler(round, ports, agent) {
  const j = ledger.jobs;
  while (!round.killed) {
    const id = `j${++jobSeq}`;
    j.scheduled++;
    try {
      const res = await postJson(agent, ports.jobs, '/schedule', { message: id, lane: LANE });
      if (res.status === 200 && res.json?.status === 'ok' && res.json?.code === 0) {
        j.ok.set(id, round.index);
        round.jobsOk++;
      }
      else {
        j.refused++;
        if (!round.killed) round.errors.push(`schedule answered ${res.status} ${res.text.slice(0, 120)}`);
        await sleep(50);
      }
    } catch (error) {
      if (round.killed) return;
      round.errors.push(`schedule: ${error.message}`);
      await sleep(50);
    }
  }
}

function recordJob(id, inc) {
  const j = ledger.jobs;
  if (!/^j\d+$/.test(id) || Number(id.slice(1)) > jobSeq) j.foreign++;
  pushSeen(j.seen, id, inc);
}

async function jobReceiver(round, ports, agent) {
  const j = ledger.jobs;
  while (!round.killed) {
    if (round.jobsReceived >= round.jobsOk * JOB_RECEIVE_SHARE) {
      await sleep(5);
      continue;
    }
    try {
      round.jobsReceived++;
      const res = await postJson(agent, ports.jobs, '/receive_noblock', { lane: LANE });
      if (res.status === 200 && res.json?.code === 0) {
        const id = String(res.json.message);
        recordJob(id, round.index);
        if (!j.received.has(id)) j.received.set(id, round.index); // the first receive counts
      } else if (res.status === 200 && res.json?.code === 2) {
        await sleep(10 + Math.floor(random() * 30));
      } else {
        if (!round.killed) round.errors.push(`receive answered ${res.status} ${res.text.slice(0, 120)}`);
        await sleep(50);
      }
    } catch (error) {
      if (round.killed) {
        j.receiveErrors++;
        return;
      }
      round.errors.push(`receive: ${error.message}`);
      await sleep(50);
    }
  }
}

// ----------------------------------------------------------------------------- load: delivery

async function deliveryPoster(round, ports, agent, sinkUrl) {
  const d = ledger.delivery;
  while (!round.killed) {
    const uuid = randomUUID();
    d.posted.add(uuid);
    try {
      const res = await postJson(agent, ports.dispatch, '/', {
        UUID: uuid,
        Url: `${sinkUrl}/campaign/${uuid}`,
        Method: 'POST',
        Body: uuid,
        Header: { 'Content-Type': 'text/plain', 'X-Campaign-Id': uuid },
        Timeout: 10_000,
      });
      if (res.status === 202) d.accepted.set(uuid, round.index);
      else {
        d.refused++;
        if (!round.killed) round.errors.push(`delivery answered ${res.status} ${res.text.slice(0, 120)}`);
        await sleep(50);
      }
    } catch (error) {
      if (round.killed) return;
      round.errors.push(`delivery: ${error.message}`);
      await sleep(50);
    }
  }
}

// ------------------------------------------------------------------------------------- rounds

function snapshotCounts() {
  return {
    confirmed: ledger.amqp.confirmed.size,
    acked: ledger.amqp.acked.size,
    jobsOk: ledger.jobs.ok.size,
    jobsReceived: ledger.jobs.received.size,
    accepted: ledger.delivery.accepted.size,
    arrivals: [...ledger.delivery.seen.values()].reduce((n, list) => n + list.length, 0),
  };
}

async function runRound(index, ports, dataDir, sinkUrl) {
  const broker = await startBroker(ports, dataDir, index);
  const before = snapshotCounts();
  const round = { index, killed: false, jobsOk: 0, jobsReceived: 0, connections: [], wakers: [], errors: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const workers = [amqpPublisher(round, ports), amqpConsumer(round, ports)];
  for (let i = 0; i < JOB_SCHEDULERS; i++) workers.push(jobScheduler(round, ports, agent));
  for (let i = 0; i < JOB_RECEIVERS; i++) workers.push(jobReceiver(round, ports, agent));
  for (let i = 0; i < DELIVERY_POSTERS; i++) workers.push(deliveryPoster(round, ports, agent, sinkUrl));

  const low = Math.min(1, options.seconds);
  const loadMs = Math.round((low + random() * (options.seconds - low)) * 1000);
  await sleep(loadMs);
  round.killed = true; // from here on, transport errors are the kill's doing
  const exit = await killBroker(broker);
  agent.destroy();
  for (const conn of round.connections) closeQuietly(conn);
  for (const wake of round.wakers) wake();
  const settled = await Promise.race([Promise.allSettled(workers).then(() => true), bound(15_000).then(() => false)]);
  if (!settled) round.errors.push('load workers did not stop within 15 s of the kill');
  const after = snapshotCounts();
  const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
  const errors = round.errors.length > 0 ? `  errors: ${[...new Set(round.errors)].slice(0, 3).join(' | ')}` : '';
  console.log(
    `round ${String(index + 1).padStart(2)}/${options.rounds}  ready ${String(broker.readyMs).padStart(5)} ms  kill after ${(loadMs / 1000).toFixed(2)} s (${exit.signal ?? exit.code})` +
      `  amqp +${delta.confirmed} confirmed +${delta.acked} acked  jobs +${delta.jobsOk} ok +${delta.jobsReceived} received` +
      `  delivery +${delta.accepted} accepted +${delta.arrivals} arrivals${errors}`,
  );
  return { readyMs: broker.readyMs, loadMs, errors: round.errors.length };
}

// -------------------------------------------------------------------------------------- drain

async function drainAmqp(ports, deadline, inc) {
  const a = ledger.amqp;
  const conn = await connectAmqp(ports);
  try {
    const ch = await conn.createChannel();
    const check = await conn.createChannel();
    await ch.assertQueue(QUEUE, { durable: true });
    await ch.prefetch(1000);
    let last = Date.now();
    await ch.consume(QUEUE, (msg) => {
      if (msg === null) return;
      const id = msg.content.toString('utf8');
      if (!/^a\d+$/.test(id) || Number(id.slice(1)) > amqpSeq) a.foreign++;
      pushSeen(a.seen, id, { inc, redelivered: msg.fields.redelivered });
      ch.ack(msg);
      last = Date.now();
    });
    for (;;) {
      if (Date.now() > deadline) return 'timed out';
      const q = await check.checkQueue(QUEUE);
      if (q.messageCount === 0 && Date.now() - last > 1000) return 'empty';
      await sleep(250);
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function drainJobs(ports, deadline, inc) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  try {
    let outcome = 'empty';
    const loop = async () => {
      for (;;) {
        if (Date.now() > deadline) {
          outcome = 'timed out';
          return;
        }
        const res = await postJson(agent, ports.jobs, '/receive_noblock', { lane: LANE });
        if (res.status === 200 && res.json?.code === 0) recordJob(String(res.json.message), inc);
        else if (res.status === 200 && res.json?.code === 2) return;
        else throw new Error(`receive answered ${res.status} ${res.text.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, loop));
    const again = await postJson(agent, ports.jobs, '/receive_noblock', { lane: LANE });
    if (again.json?.code === 0) {
      recordJob(String(again.json.message), inc);
      return 'not empty after the drain';
    }
    return outcome;
  } finally {
    agent.destroy();
  }
}

async function heldDeliveries(ports, state) {
  const res = await getJson(ports.dispatch, `/deliveries?state=${state}&limit=1000`);
  return res.json?.deliveries?.length ?? -1;
}

async function drainDeliveries(ports, deadline) {
  // injected failures would only add more retries now: the broker must finish what it holds
  sinkInjectFail = 0;
  const start = Date.now();
  for (;;) {
    if (Date.now() > deadline) return 'timed out';
    const quiet = Date.now() - Math.max(lastSinkArrival, start) >= QUIET_MS;
    if (quiet) {
      // quiet is not enough: a retry may be due later; the broker must hold nothing pending either
      const pending = await heldDeliveries(ports, 'pending');
      const inFlight = await heldDeliveries(ports, 'in-flight');
      if (pending === 0 && inFlight === 0) return 'quiet, nothing held';
    }
    await sleep(250);
  }
}

// ------------------------------------------------------------------------------------- report

function analyse() {
  const final = options.rounds; // incarnation of the drain
  const rows = [];

  // AMQP: accepted = confirmed; settled = acked during the load or consumed by the drain
  {
    const a = ledger.amqp;
    let lost = 0;
    let duplicates = 0;
    let resurrected = 0;
    let sameIncarnation = 0;
    const examples = [];
    let flagMissing = 0;
    const lostIds = [];
    for (const id of a.confirmed.keys()) {
      const seen = a.seen.get(id) ?? [];
      const settled = a.acked.has(id) || seen.some((s) => s.inc === final);
      if (!settled) {
        lost++;
        if (lostIds.length < 10) lostIds.push(id);
      }
    }
    for (const [id, seen] of a.seen) {
      if (seen.length > 1) duplicates++;
      const ackedAt = a.acked.get(id);
      if (ackedAt !== undefined && seen.some((s) => s.inc > ackedAt)) resurrected++;
      const incs = seen.map((s) => s.inc);
      if (new Set(incs).size !== incs.length) {
        sameIncarnation++;
        if (examples.length < 3) examples.push(`${id} ${JSON.stringify(seen)}`);
      }
      for (let i = 1; i < seen.length; i++) if (!seen[i].redelivered) flagMissing++;
    }
    const unconfirmedSeen = [...a.seen.keys()].filter((id) => !a.confirmed.has(id)).length;
    rows.push({
      door: 'AMQP',
      accepted: a.confirmed.size,
      lost,
      duplicates,
      resurrected,
      settled: a.acked.size,
      drained: [...a.seen.values()].filter((s) => s.some((x) => x.inc === final)).length,
      extra: unconfirmedSeen,
      attempted: a.published,
      lostIds,
      examples,
      notes: { sameIncarnation, flagMissing, foreign: a.foreign, nacked: a.nacked, ...(a.nackReasons.size > 0 ? { nackReasons: JSON.stringify([...a.nackReasons]) } : {}) },
    });
  }

  // job API: accepted = ok; settled = answered receive during the load, or received by the drain
  {
    const j = ledger.jobs;
    let lost = 0;
    let duplicates = 0;
    let resurrected = 0;
    let sameIncarnation = 0;
    const examples = [];
    const lostIds = [];
    for (const id of j.ok.keys()) {
      if (!j.seen.has(id)) {
        lost++;
        if (lostIds.length < 10) lostIds.push(id);
      }
    }
    for (const [id, incs] of j.seen) {
      if (incs.length > 1) duplicates++;
      const receivedAt = j.received.get(id);
      if (receivedAt !== undefined && incs.some((inc) => inc > receivedAt)) resurrected++;
      if (new Set(incs).size !== incs.length) {
        sameIncarnation++;
        if (examples.length < 3) examples.push(`${id} seen by ${JSON.stringify(incs)}`);
      }
    }
    const unconfirmedSeen = [...j.seen.keys()].filter((id) => !j.ok.has(id)).length;
    rows.push({
      door: 'job API',
      accepted: j.ok.size,
      lost,
      duplicates,
      resurrected,
      settled: j.received.size,
      drained: [...j.seen.values()].filter((incs) => incs.includes(final)).length,
      extra: unconfirmedSeen,
      attempted: j.scheduled,
      lostIds,
      examples,
      notes: { sameIncarnation, foreign: j.foreign, receiveErrors: j.receiveErrors, refused: j.refused },
    });
  }

  // delivery: accepted = 202; seen = an arrival the sink answered 2xx; duplicates = arrivals after a 2xx
  {
    const d = ledger.delivery;
    let lost = 0;
    let duplicates = 0;
    let resurrected = 0;
    let sameIncarnation = 0;
    const examples = [];
    let retried = 0;
    const lostIds = [];
    for (const uuid of d.accepted.keys()) {
      const seen = d.seen.get(uuid) ?? [];
      if (!seen.some((s) => s.status === 200)) {
        lost++;
        if (lostIds.length < 10) lostIds.push(uuid);
      }
    }
    for (const [uuid, seen] of d.seen) {
      const first = seen.findIndex((s) => s.status === 200);
      if (first < 0) continue;
      if (first > 0) retried++;
      const later = seen.slice(first + 1);
      if (later.length > 0) duplicates++;
      if (later.some((s) => s.inc > seen[first].inc)) resurrected++;
      if (later.some((s) => s.inc === seen[first].inc)) {
        sameIncarnation++;
        if (examples.length < 3) examples.push(`${uuid} ${JSON.stringify(seen)}`);
      }
    }
    const unconfirmedSeen = [...d.seen.keys()].filter((uuid) => !d.accepted.has(uuid)).length;
    rows.push({
      door: 'delivery',
      accepted: d.accepted.size,
      lost,
      duplicates,
      resurrected,
      settled: [...d.seen.values()].filter((s) => s.some((x) => x.status === 200 && x.inc < final)).length,
      drained: [...d.seen.values()].filter((s) => s.some((x) => x.inc === final)).length,
      extra: unconfirmedSeen,
      attempted: d.posted.size,
      lostIds,
      examples,
      notes: { sameIncarnation, retried, injected503: d.injected, corrupt: d.corrupt, foreign: d.foreign, refused: d.refused },
    });
  }
  return rows;
}

function table(rows, columns) {
  const widths = columns.map(([title, key]) => Math.max(title.length, ...rows.map((r) => String(r[key]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(columns.map(([t]) => t)), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map(([, k]) => r[k])))].join('\n');
}

// --------------------------------------------------------------------------------------- main

let cleaningUp = false;
function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  if (child !== null && child.exitCode === null && child.signalCode === null) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  sink.closeAllConnections?.();
  sink.close();
  if (tempRoot !== null) {
    if (options.keep) console.log(`kept ${tempRoot} (data/ and logs/)`);
    else fs.rmSync(tempRoot, { recursive: true, force: true });
  }
}

process.on('exit', () => {
  if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the campaign`);
    cleanup();
    process.exit(130);
  });
}

async function main() {
  if (!fs.existsSync(MAIN)) {
    console.error(`${path.relative(process.cwd(), MAIN)} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
  const startedAt = Date.now();
  tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'crash-campaign-'));
  const dataDir = path.join(tempRoot, 'data');
  fs.mkdirSync(dataDir);
  fs.mkdirSync(path.join(tempRoot, 'logs'));
  const ports = await pickPorts();
  await new Promise((resolve) => sink.listen(0, HOST, resolve));
  const sinkUrl = `http://${HOST}:${sink.address().port}`;
  console.log(
    `crash campaign: ${options.rounds} rounds, kill after ${Math.min(1, options.seconds)}..${options.seconds} s, seed ${options.seed}, sink 503 rate ${options.sinkFail}`,
  );
  console.log(`data ${dataDir}; ports amqp ${ports.amqp} jobs ${ports.jobs} dispatch ${ports.dispatch} management ${ports.management}; sink ${sinkUrl}`);

  const problems = [];
  const rounds = [];
  let broker = null;
  let drained = false;
  try {
    for (let r = 0; r < options.rounds; r++) rounds.push(await runRound(r, ports, dataDir, sinkUrl));

    console.log(`final start and drain (bounded by ${options.drainTimeout} s)`);
    broker = await startBroker(ports, dataDir, options.rounds);
    console.log(`ready after ${broker.readyMs} ms`);
    const deadline = Date.now() + options.drainTimeout * 1000;
    const drainStart = Date.now();
    const [amqpOutcome, jobsOutcome, deliveryOutcome] = await Promise.all([
      drainAmqp(ports, deadline, options.rounds),
      drainJobs(ports, deadline, options.rounds),
      drainDeliveries(ports, deadline),
    ]);
    console.log(`drained in ${((Date.now() - drainStart) / 1000).toFixed(1)} s: AMQP ${amqpOutcome}, job API ${jobsOutcome}, delivery ${deliveryOutcome}`);
    for (const [door, outcome] of [['AMQP', amqpOutcome], ['job API', jobsOutcome], ['delivery', deliveryOutcome]]) {
      if (outcome === 'timed out' || outcome.startsWith('not empty')) problems.push(`${door} drain: ${outcome}`);
    }
    const dead = await heldDeliveries(ports, 'dead');
    if (dead !== 0) problems.push(`${dead} dead-lettered deliveries (the sink never answers 4xx)`);
    drained = true;
    broker.proc.kill('SIGTERM');
    const exit = await Promise.race([broker.exited, bound(30_000).then(() => null)]);
    if (exit === null) problems.push('the broker did not exit within 30 s of SIGTERM');
    else if (exit.code !== 0) problems.push(`the broker exited with ${exit.code ?? exit.signal} on SIGTERM`);
    child = null;
  } catch (error) {
    problems.push(`campaign aborted: ${error.message}`);
    console.error(`campaign aborted: ${error.stack ?? error.message}`);
  }

  const rows = analyse();
  const elapsed = (Date.now() - startedAt) / 1000;
  console.log('');
  console.log(
    table(rows, [
      ['door', 'door'],
      ['attempted', 'attempted'],
      ['accepted', 'accepted'],
      ['lost', 'lost'],
      ['duplicates', 'duplicates'],
      ['resurrected', 'resurrected'],
      ['settled in load', 'settled'],
      ['drained', 'drained'],
      ['unaccepted seen', 'extra'],
    ]),
  );
  console.log('');
  for (const row of rows) {
    console.log(`${row.door}: ${Object.entries(row.notes).map(([k, v]) => `${k}=${v}`).join(' ')}${row.lostIds.length > 0 ? `  lost e.g. ${row.lostIds.join(', ')}` : ''}`);
  }
  if (rounds.length > 0) {
    const ready = rounds.map((r) => r.readyMs).sort((x, y) => x - y);
    console.log(`restart to ready: median ${ready[Math.floor(ready.length / 2)]} ms, max ${ready[ready.length - 1]} ms; load ${(rounds.reduce((n, r) => n + r.loadMs, 0) / 1000).toFixed(1)} s in all`);
  }
  const logKeys = [...brokerLog.lines.entries()].sort((x, y) => y[1] - x[1]);
  if (logKeys.length > 0) {
    console.log('broker log lines (warn and above):');
    for (const [key, count] of logKeys.slice(0, 15)) console.log(`  ${String(count).padStart(6)}  ${key}`);
  }
  const suspicious = [...problems];
  for (const row of rows) {
    if (row.notes.sameIncarnation > 0) {
      suspicious.push(`${row.door}: ${row.notes.sameIncarnation} ids seen twice by one broker process (after a settle), e.g.`);
      for (const example of row.examples) suspicious.push(`  ${example}`);
    }
    if (row.notes.foreign > 0) suspicious.push(`${row.door}: ${row.notes.foreign} ids never sent`);
    if (row.notes.corrupt > 0) suspicious.push(`${row.door}: ${row.notes.corrupt} bodies that differ from their header`);
  }
  if (!drained) suspicious.push('not drained: "lost" counts everything not seen before the failure');
  console.log(suspicious.length > 0 ? `suspicious:\n  ${suspicious.join('\n  ')}` : 'suspicious: nothing');
  console.log(`run time ${elapsed.toFixed(1)} s, seed ${options.seed}`);
  const lost = rows.reduce((n, r) => n + r.lost, 0);
  cleanup();
  console.log(`RESULT lost=${lost}`);
  process.exitCode = lost > 0 || !drained ? 1 : 0;
}

main().catch((error) => {
  console.error(error.stack ?? String(error));
  cleanup();
  console.log('RESULT lost=unknown');
  process.exit(1);
});
