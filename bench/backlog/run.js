#!/usr/bin/env node
/**
 * The persistent backlog and its crash recovery, through the AMQP door of a real broker process:
 * N persistent messages published with confirms into one durable queue with no consumer, the
 * broker's RSS sampled from /proc meanwhile, `kill -9` once the last confirm is in, a restart on
 * the same data directory, the time until a basic.get returns the first message, then a drain
 * that checks count and order. Figures, not a test: nothing here fails on a slow number.
 *
 *   node bench/backlog/run.js                           # 2,000,000 x 200 B, this checkout's dist/
 *   node bench/backlog/run.js --messages 200000         # a quick look
 *   node bench/backlog/run.js --roots /work/wt/base,. --rounds 2   # before/after, alternating
 *
 * The publisher is a raw socket (no client library), so the client costs little CPU and the
 * broker gets its full load on a 2-core machine. See README.md next to this file for the options.
 */
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const HOST = '127.0.0.1';

// ------------------------------------------------------------------------------------- options

function parseArgs(argv) {
  const options = { messages: 2_000_000, size: 200, window: 0, connections: 1, copyAtKill: null, env: {}, rounds: 1, roots: [path.resolve(__dirname, '../..')], keep: false, metrics: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (argv[i + 1] === undefined) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--messages') options.messages = Number(value());
    else if (arg === '--size') options.size = Number(value());
    else if (arg === '--window') options.window = Number(value());
    else if (arg === '--connections') options.connections = Number(value());
    else if (arg === '--rounds') options.rounds = Number(value());
    else if (arg === '--roots') options.roots = value().split(',').map((root) => path.resolve(root));
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--copy-at-kill') options.copyAtKill = path.resolve(value());
    else if (arg === '--metrics') options.metrics = true;
    else if (arg === '--publish-only') options.publishOnly = true;
    else if (arg === '--env') {
      const [key, ...rest] = value().split('=');
      options.env[key] = rest.join('=');
    }
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown option ${arg}`);
  }
  for (const key of ['messages', 'size', 'rounds', 'connections']) {
    if (!Number.isInteger(options[key]) || options[key] < 1) usage(`--${key} must be a positive integer`);
  }
  if (!Number.isInteger(options.window) || options.window < 0) usage('--window must be 0 (no bound) or a positive integer');
  if (options.window === 0) options.window = Infinity;
  if (options.size < 8) usage('--size must be at least 8 (the body starts with its index)');
  for (const root of options.roots) {
    if (!fs.existsSync(path.join(root, 'dist/apps/broker/src/main.js'))) usage(`${root}: no dist/apps/broker/src/main.js (npm run build there)`);
  }
  return options;
}

function usage(error) {
  if (error) console.error(`error: ${error}\n`);
  console.error(`usage: node bench/backlog/run.js [--messages N] [--size BYTES] [--window N] [--connections N] [--roots DIR,DIR] [--rounds N] [--metrics] [--keep] [--copy-at-kill DIR] [--publish-only] [--env KEY=VALUE]...`);
  process.exit(error ? 2 : 0);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ----------------------------------------------------------------------------------- AMQP frames

const FRAME_END = 0xce;

function frame(type, channel, payload) {
  const out = Buffer.allocUnsafe(8 + payload.length);
  out[0] = type;
  out.writeUInt16BE(channel, 1);
  out.writeUInt32BE(payload.length, 3);
  payload.copy(out, 7);
  out[7 + payload.length] = FRAME_END;
  return out;
}

const shortstr = (text) => Buffer.concat([Buffer.from([Buffer.byteLength(text)]), Buffer.from(text)]);
const longstr = (bytes) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const u16 = (n) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const method = (channel, classId, methodId, ...args) => frame(1, channel, Buffer.concat([u16(classId), u16(methodId), ...args]));
const EMPTY_TABLE = u32(0);

/**
 * A minimal AMQP 0-9-1 client on a raw socket: the handshake, one channel, and what this bench
 * sends and reads (confirm.select, queue.declare, basic.publish, basic.ack, basic.get).
 */
class RawClient {
  constructor(socket) {
    this.socket = socket;
    this.pending = Buffer.alloc(0);
    this.waiters = [];
    this.onAck = null;
    this.closed = null;
    socket.on('data', (chunk) => this.read(chunk));
    socket.on('close', () => this.fail(new Error('connection closed')));
    socket.on('error', (error) => this.fail(error));
  }

  static connect(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: HOST, port });
      socket.setNoDelay(true);
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  fail(error) {
    this.closed ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  read(chunk) {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    while (this.pending.length - pos >= 8) {
      const size = this.pending.readUInt32BE(pos + 3);
      if (this.pending.length - pos < 8 + size) break;
      const type = this.pending[pos];
      const payload = this.pending.subarray(pos + 7, pos + 7 + size);
      pos += 8 + size;
      this.onFrame(type, payload);
    }
    this.pending = this.pending.subarray(pos);
  }

  onFrame(type, payload) {
    if (type === 8) return; // heartbeat
    if (type !== 1) {
      this.deliverContent(type, payload);
      return;
    }
    const classId = payload.readUInt16BE(0);
    const methodId = payload.readUInt16BE(2);
    if (classId === 60 && methodId === 80 && this.onAck) {
      this.onAck(Number(payload.readBigUInt64BE(4)), (payload[12] & 1) === 1);
      return;
    }
    if (classId === 60 && methodId === 120) {
      this.onAck?.(Number(payload.readBigUInt64BE(4)), (payload[12] & 1) === 1, true);
      return;
    }
    if ((classId === 10 && methodId === 50) || (classId === 20 && methodId === 40)) {
      this.fail(new Error(`closed by the broker: ${payload.toString('latin1', 7, 7 + payload[6])}`));
      return;
    }
    if (classId === 60 && methodId === 71) {
      // get-ok: the header and body frames follow
      this.content = { getOk: payload, header: null, body: [], size: 0, received: 0 };
      return;
    }
    const waiter = this.waiters.shift();
    if (!waiter) return;
    if (waiter.classId !== classId || waiter.methodId !== methodId) waiter.reject(new Error(`expected ${waiter.classId}.${waiter.methodId}, got ${classId}.${methodId}`));
    else waiter.resolve(payload);
  }

  deliverContent(type, payload) {
    const content = this.content;
    if (type === 2) {
      content.size = Number(payload.readBigUInt64BE(4));
      if (content.size === 0) this.finishContent();
      return;
    }
    content.body.push(Buffer.from(payload));
    content.received += payload.length;
    if (content.received >= content.size) this.finishContent();
  }

  finishContent() {
    const content = this.content;
    this.content = null;
    const waiter = this.waiters.shift();
    const tag = Number(content.getOk.readBigUInt64BE(4));
    waiter?.resolve({ tag, body: Buffer.concat(content.body) });
  }

  expect(classId, methodId) {
    return new Promise((resolve, reject) => {
      if (this.closed) reject(this.closed);
      else this.waiters.push({ classId, methodId, resolve, reject });
    });
  }

  send(bytes) {
    return this.socket.write(bytes);
  }

  async handshake() {
    const started = this.expect(10, 10);
    this.send(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await started;
    const tune = this.expect(10, 30);
    this.send(method(0, 10, 11, EMPTY_TABLE, shortstr('PLAIN'), longstr(Buffer.from('\0guest\0guest')), shortstr('en_US')));
    const tuned = await tune;
    this.send(method(0, 10, 31, u16(tuned.readUInt16BE(4) || 2047), u32(131072), u16(0)));
    const opened = this.expect(10, 41);
    this.send(method(0, 10, 40, shortstr('/'), shortstr(''), Buffer.from([0])));
    await opened;
    const channel = this.expect(20, 11);
    this.send(method(1, 20, 10, shortstr('')));
    await channel;
  }

  async confirmSelect() {
    const ok = this.expect(85, 11);
    this.send(method(1, 85, 10, Buffer.from([0])));
    await ok;
  }

  /** queue.declare durable (or passive); resolves with the message count. */
  async declareQueue(name, passive = false) {
    const ok = this.expect(50, 11);
    this.send(method(1, 50, 10, u16(0), shortstr(name), Buffer.from([passive ? 1 : 2]), EMPTY_TABLE));
    const payload = await ok;
    return payload.readUInt32BE(4 + 1 + payload[4]);
  }

  /** The frames of one persistent basic.publish to the default exchange. */
  static publishFrames(queue, body) {
    const header = Buffer.concat([u16(60), u16(0), Buffer.alloc(8), u16(0x1000), Buffer.from([2])]);
    header.writeBigUInt64BE(BigInt(body.length), 4);
    return Buffer.concat([method(1, 60, 40, u16(0), shortstr(''), shortstr(queue), Buffer.from([0])), frame(2, 1, header), frame(3, 1, body)]);
  }

  /** basic.get; resolves with { tag, body }, or null when the queue is empty. */
  get(queue, noAck) {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.closed);
      // the get-ok waiter is answered with the content; get-empty (60.72) answers with its payload
      this.waiters.push({
        classId: 60,
        methodId: 72,
        resolve: (value) => resolve(Buffer.isBuffer(value) ? null : value),
        reject,
      });
      this.send(method(1, 60, 70, u16(0), shortstr(queue), Buffer.from([noAck ? 1 : 0])));
    });
  }

  /** basic.consume with prefetch; calls onMessage(tag, body) for each delivery. */
  async consume(queue, prefetch, onMessage) {
    const qos = this.expect(60, 11);
    this.send(method(1, 60, 10, u32(0), u16(prefetch), Buffer.from([0])));
    await qos;
    const ok = this.expect(60, 21);
    this.onDelivery = onMessage;
    this.send(method(1, 60, 20, u16(0), shortstr(queue), shortstr('drain'), Buffer.from([0]), EMPTY_TABLE));
    await ok;
  }

  ack(tag, multiple) {
    const tagBytes = Buffer.alloc(8);
    tagBytes.writeBigUInt64BE(BigInt(tag));
    this.send(method(1, 60, 80, tagBytes, Buffer.from([multiple ? 1 : 0])));
  }

  close() {
    this.socket.destroy();
  }
}

// basic.deliver goes through the same content path as get-ok
const onFrameBase = RawClient.prototype.onFrame;
RawClient.prototype.onFrame = function onFrame(type, payload) {
  if (type === 1 && payload.readUInt16BE(0) === 60 && payload.readUInt16BE(2) === 60) {
    // deliver: consumer-tag shortstr, delivery-tag u64
    const tagAt = 4 + 1 + payload[4];
    this.content = { deliver: Number(payload.readBigUInt64BE(tagAt)), header: null, body: [], size: 0, received: 0 };
    return;
  }
  if (type !== 1 && this.content?.deliver !== undefined) {
    const content = this.content;
    if (type === 2) {
      content.size = Number(payload.readBigUInt64BE(4));
      if (content.size > 0) return;
    } else {
      content.body.push(payload.length === content.size ? payload : Buffer.from(payload));
      content.received += payload.length;
      if (content.received < content.size) return;
    }
    this.content = null;
    this.onDelivery(content.deliver, content.body.length === 1 ? content.body[0] : Buffer.concat(content.body));
    return;
  }
  onFrameBase.call(this, type, payload);
};

// -------------------------------------------------------------------------------- broker process

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

function startBroker(root, dataDir, ports, logFile, extraEnv) {
  const log = fs.openSync(logFile, 'a');
  // as npm start runs it (scripts/start-broker.sh execs node: same pid); a checkout from before the script, node directly
  const script = path.join(root, 'scripts/start-broker.sh');
  const [command, args] = fs.existsSync(script) ? ['sh', [script]] : [process.execPath, [path.join(root, 'dist/apps/broker/src/main.js')]];
  const proc = spawn(command, args, {
    cwd: root,
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
      ...extraEnv,
    },
    stdio: ['ignore', log, log],
  });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => fs.closeSync(log));
  return { proc, exited };
}

/** Connects (retrying while the port is closed) and completes the handshake. */
async function connectWhenOpen(port, deadline) {
  for (;;) {
    try {
      const client = await RawClient.connect(port);
      await client.handshake();
      return client;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(10);
    }
  }
}

function procStatus(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** The broker's own memory gauges (Prometheus, on the management port). */
function memoryMetrics(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/metrics', agent: false, timeout: 2000, headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        const gauge = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1048576;
        resolve({ heapUsed: gauge('nodejs_heap_size_used_bytes'), heapTotal: gauge('nodejs_heap_size_total_bytes'), external: gauge('nodejs_external_memory_bytes') });
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

const fileMb = (file) => {
  try {
    return fs.statSync(file).size / 1048576;
  } catch {
    return 0;
  }
};

// ------------------------------------------------------------------------------------- one round

/**
 * Publishes every message over `clients` at once: connection c sends the indices c, c + N, c + 2N…
 * (N connections), each with its own confirms and window.
 */
async function publishAll(clients, options, onProgress) {
  const started = Date.now();
  const progress = clients.map(() => ({ sent: 0, confirmed: 0 }));
  const report = () => onProgress(progress.reduce((sum, p) => sum + p.sent, 0), progress.reduce((sum, p) => sum + p.confirmed, 0));
  const results = await Promise.all(
    clients.map((client, c) => publishStride(client, options, c, clients.length, progress[c], report)),
  );
  return { seconds: (Date.now() - started) / 1000, nacked: results.reduce((sum, r) => sum + r.nacked, 0) };
}

async function publishStride(client, options, first, stride, progress, onProgress) {
  await client.confirmSelect();
  await client.declareQueue('backlog');
  const total = Math.floor((options.messages - first + stride - 1) / stride);
  const body = Buffer.alloc(options.size, 0x61);
  let confirmed = 0;
  let nacked = 0;
  let sent = 0;
  let release = null;
  client.onAck = (tag, multiple, nack) => {
    const count = multiple ? tag - confirmed : 1;
    confirmed = multiple ? tag : confirmed + 1;
    progress.confirmed = confirmed;
    if (nack) nacked += count;
    if (release && sent - confirmed < options.window) {
      const go = release;
      release = null;
      go();
    }
  };
  while (sent < total) {
    const chunk = [];
    for (let i = 0; i < 256 && sent < total && sent - confirmed < options.window; i++) {
      body.writeUInt32BE(first + sent * stride, 0);
      chunk.push(RawClient.publishFrames('backlog', body));
      sent++;
    }
    progress.sent = sent;
    if (chunk.length > 0 && !client.send(Buffer.concat(chunk))) await new Promise((resolve) => client.socket.once('drain', resolve));
    if (sent - confirmed >= options.window) await new Promise((resolve) => (release = resolve));
    if (client.closed) throw client.closed;
    onProgress();
  }
  while (confirmed < total) {
    if (client.closed) throw client.closed;
    await sleep(5);
  }
  return { nacked };
}

/** Consumes `expected` messages; each publishing connection's (index mod `stride`) must come in its order. */
async function drainAll(client, expected, nextOf) {
  let count = 0;
  let outOfOrder = 0;
  const started = Date.now();
  await new Promise((resolve, reject) => {
    client.consume('backlog', 2000, (tag, body) => {
      const index = body.readUInt32BE(0);
      const stream = index % nextOf.length;
      if (index !== nextOf[stream]) outOfOrder++;
      nextOf[stream] = index + nextOf.length;
      count++;
      if (count % 500 === 0 || count === expected) client.ack(tag, true);
      if (count === expected) resolve();
    }).catch(reject);
    const timer = setInterval(() => {
      if (client.closed) {
        clearInterval(timer);
        reject(client.closed);
      }
    }, 100);
    const done = () => clearInterval(timer);
    client.socket.once('close', done);
  });
  const seconds = (Date.now() - started) / 1000;
  return { count, outOfOrder, seconds };
}

async function round(root, options, label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backlog-bench-'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const ports = { amqp: await freePort(), jobs: await freePort(), dispatch: await freePort(), management: await freePort() };
  const wal = path.join(dataDir, 'broker.sqlite-wal');
  const result = { label, root };
  let broker = startBroker(root, dataDir, ports, path.join(dir, 'broker-1.log'), options.env);
  let sampler = null;
  try {
    const started = Date.now();
    const publisher = await connectWhenOpen(ports.amqp, Date.now() + 60_000);
    result.emptyStartSeconds = (Date.now() - started) / 1000;
    const publishers = [publisher];
    while (publishers.length < options.connections) publishers.push(await connectWhenOpen(ports.amqp, Date.now() + 60_000));
    const pid = broker.proc.pid;
    const startRss = procStatus(pid).rss;
    let peakWal = 0;
    let metricsAtPeak = null;
    let peakSampled = 0;
    let busy = false;
    sampler = setInterval(async () => {
      peakWal = Math.max(peakWal, fileMb(wal));
      if (!options.metrics || busy) return;
      const { rss } = procStatus(pid);
      if (rss <= peakSampled) return;
      busy = true;
      const metrics = await memoryMetrics(ports.management);
      busy = false;
      if (metrics && rss > peakSampled) {
        peakSampled = rss;
        metricsAtPeak = { rss, ...metrics };
      }
    }, 100);
    let lastReport = Date.now();
    const published = await publishAll(publishers, options, (sent, confirmed) => {
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        const { rss } = procStatus(pid);
        process.stderr.write(`  [${label}] ${sent.toLocaleString()} sent, ${confirmed.toLocaleString()} confirmed, RSS ${rss.toFixed(0)} MB, WAL ${fileMb(wal).toFixed(0)} MB\n`);
      }
    });
    clearInterval(sampler);
    sampler = null;
    const status = procStatus(pid);
    result.startRssMb = startRss;
    result.peakRssMb = status.hwm;
    result.endRssMb = status.rss;
    result.publishRate = options.messages / published.seconds;
    result.nacked = published.nacked;
    result.walAtKillMb = fileMb(wal);
    result.peakWalMb = Math.max(peakWal, result.walAtKillMb);
    result.dbAtKillMb = fileMb(path.join(dataDir, 'broker.sqlite'));
    result.metricsAtPeak = metricsAtPeak;
    broker.proc.kill('SIGKILL');
    await broker.exited;
    for (const client of publishers) client.close();
    if (options.publishOnly) return result;
    if (options.copyAtKill) fs.cpSync(dataDir, path.join(options.copyAtKill, label.replace(/\W+/g, '-')), { recursive: true });

    const restarted = Date.now();
    broker = startBroker(root, dataDir, ports, path.join(dir, 'broker-2.log'), options.env);
    const consumer = await connectWhenOpen(ports.amqp, Date.now() + 300_000);
    result.connectableSeconds = (Date.now() - restarted) / 1000;
    let first = null;
    while (first === null) {
      first = await consumer.get('backlog', true);
      if (first === null) await sleep(5);
    }
    result.recoverySeconds = (Date.now() - restarted) / 1000;
    result.recoveryPeakRssMb = procStatus(broker.proc.pid).hwm;
    // the first message was taken without an ack; the rest is drained behind it, in order
    const nextOf = Array.from({ length: options.connections }, (_, c) => c);
    const firstIndex = first.body.readUInt32BE(0);
    const firstInOrder = firstIndex === nextOf[firstIndex % nextOf.length];
    nextOf[firstIndex % nextOf.length] = firstIndex + nextOf.length;
    const drained = await drainAll(consumer, options.messages - 1, nextOf);
    result.drainRate = drained.count / drained.seconds;
    result.drained = drained.count + 1;
    result.outOfOrder = drained.outOfOrder + (firstInOrder ? 0 : 1);
    consumer.close();
    broker.proc.kill('SIGTERM');
    await broker.exited;
  } finally {
    if (sampler) clearInterval(sampler);
    if (broker.proc.exitCode === null && broker.proc.signalCode === null) {
      broker.proc.kill('SIGKILL');
      await broker.exited;
    }
    if (options.keep) console.error(`  kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

function describe(r) {
  if (r.recoverySeconds === undefined) {
    return `${r.label}: peak RSS ${r.peakRssMb.toFixed(0)} MB (start ${r.startRssMb.toFixed(0)}, end ${r.endRssMb.toFixed(0)}), publish ${Math.round(r.publishRate).toLocaleString()} msg/s, WAL at kill ${r.walAtKillMb.toFixed(0)} MB (peak ${r.peakWalMb.toFixed(0)}), db ${r.dbAtKillMb.toFixed(0)} MB${r.metricsAtPeak ? ` | at peak: heap ${r.metricsAtPeak.heapUsed.toFixed(0)}/${r.metricsAtPeak.heapTotal.toFixed(0)} MB, external ${r.metricsAtPeak.external.toFixed(0)} MB (RSS ${r.metricsAtPeak.rss.toFixed(0)})` : ''}`;
  }
  const metrics = r.metricsAtPeak
    ? ` | at peak: heap ${r.metricsAtPeak.heapUsed.toFixed(0)}/${r.metricsAtPeak.heapTotal.toFixed(0)} MB, external ${r.metricsAtPeak.external.toFixed(0)} MB (RSS ${r.metricsAtPeak.rss.toFixed(0)})`
    : '';
  return (
    `${r.label}: peak RSS ${r.peakRssMb.toFixed(0)} MB (start ${r.startRssMb.toFixed(0)}, end ${r.endRssMb.toFixed(0)}), publish ${Math.round(r.publishRate).toLocaleString()} msg/s, ` +
    `WAL at kill ${r.walAtKillMb.toFixed(0)} MB (peak ${r.peakWalMb.toFixed(0)}), db ${r.dbAtKillMb.toFixed(0)} MB; ` +
    `recovery (an empty start: ${r.emptyStartSeconds.toFixed(2)} s): AMQP open ${r.connectableSeconds.toFixed(2)} s, first message ${r.recoverySeconds.toFixed(2)} s, peak RSS ${r.recoveryPeakRssMb.toFixed(0)} MB; ` +
    `drain ${Math.round(r.drainRate).toLocaleString()} msg/s, ${r.drained.toLocaleString()} drained, ${r.outOfOrder} out of order, ${r.nacked} nacked${metrics}`
  );
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  console.log(`backlog bench: ${options.messages.toLocaleString()} persistent x ${options.size} B, unconfirmed at most ${options.window === Infinity ? 'all' : options.window} per connection, ${options.connections} publishing connection(s), ${options.rounds} round(s) over ${options.roots.join(', ')}`);
  const results = [];
  for (let r = 1; r <= options.rounds; r++) {
    for (const root of options.roots) {
      const label = `${path.basename(root)} #${r}`;
      const result = await round(root, options, label);
      results.push(result);
      console.log(describe(result));
    }
  }
  console.log(JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
