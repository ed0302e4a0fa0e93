/**
 * Fuzz campaign against the real broker process: a million seeded, mutated AMQP inputs (the
 * generators of test/support/amqp-fuzz.ts) and a hundred thousand malformed HTTP requests to the
 * job API and the delivery API, while a sentinel AMQP connection keeps doing publish → get round
 * trips. Checks, for every input: no crash (the broker stays alive), no hang (every connection
 * ends in connection.close, a dropped socket, or — for inputs the connection survives — the
 * answer to a probe, within a bound), no half-written frame (every frame the server sends parses
 * and ends with 0xCE), only AMQP 0-9-1 reply codes; for HTTP: only 2xx/4xx answers (never 5xx),
 * never a hang. Prints progress every 10 s, a summary, and `RESULT failures=<n>`; exits 1 on any
 * failure, naming the seed and iterations that reproduce it.
 *
 *   npm run build && node dist/bench/security/fuzz-campaign.js [--inputs 1000000] [--http 100000]
 *     [--seed 1592602660] [--concurrency 48] [--http-concurrency 16] [--per-conn 25]
 *     [--answer-timeout-ms 10000] [--sentinel-max-ms 2000]
 *   Reproduce: --seed S --replay i,j,k (AMQP iterations, in order on one connection, verbose);
 *              --seed S --replay-http i,j (HTTP iterations, verbose).
 *
 * Several inputs share a connection where the input allows it: after an input, the framing is
 * re-synchronised (a partial frame completed with 0xCE bytes), a probe channel.open is sent and
 * its open-ok proves the server processed everything before it; the channels the input left
 * open are closed, and the next input follows. An input that breaks the framing gets the
 * FILLER of amqp-fuzz.ts instead, which no server may accept: it must close the connection.
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { AddressInfo, connect, createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import {
  AmqpMethod,
  decodeMethod,
  encodeConnectionOpenFrame,
  encodeConnectionStartOkFrame,
  encodeConnectionTuneOkFrame,
  FRAME_END,
  FRAME_METHOD,
  FrameParser,
  MethodId,
  PROTOCOL_HEADER,
} from '../../libs/amqp/src/codec/index';
import { FILLER, FUZZ_FRAME_MAX, FuzzInput, fuzzInput } from '../../test/support/amqp-fuzz';
import { bytes, channelCloseOkFrame, channelOpenFrame, connectionCloseOkFrame, methodFrame, Prng, sleep } from '../../test/support/amqp-wire';

// ---- options ------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 && argv[at + 1] !== undefined ? argv[at + 1]! : fallback;
};
const listFlag = (name: string): number[] | null => {
  const at = argv.indexOf(`--${name}`);
  if (at < 0) return null;
  return (argv[at + 1] ?? '').split(',').filter((s) => s !== '').map(Number);
};

const DEFAULT_SEED = 0x5eed_f022;
const SEED = flag('seed', String(DEFAULT_SEED)) === 'random' ? (Math.random() * 2 ** 32) >>> 0 : Number(flag('seed', String(DEFAULT_SEED))) >>> 0;
const REPLAY = listFlag('replay');
const REPLAY_HTTP = listFlag('replay-http');
const REPLAYING = REPLAY !== null || REPLAY_HTTP !== null;
const INPUTS = REPLAYING ? 0 : Number(flag('inputs', '1000000'));
const HTTP_REQUESTS = REPLAYING ? 0 : Number(flag('http', '100000'));
const CONCURRENCY = Number(flag('concurrency', '48'));
const HTTP_CONCURRENCY = Number(flag('http-concurrency', '16'));
/** Inputs at most on one connection before it is retired (with FILLER, which must close it). */
const PER_CONN = Number(flag('per-conn', '25'));
/** Time the server gets to answer an input (close, drop, or the probe's open-ok). */
const ANSWER_TIMEOUT_MS = Number(flag('answer-timeout-ms', '10000'));
/** Longest acceptable sentinel round trip. */
const SENTINEL_MAX_MS = Number(flag('sentinel-max-ms', '2000'));
/** Time an HTTP request gets for an answer (or a close); stalled requests get the request timeout on top. */
const HTTP_TIMEOUT_MS = Number(flag('http-timeout-ms', '10000'));
/** The broker's HTTP request/header timeout in this campaign, so that stalled requests end soon. */
const BROKER_HTTP_TIMEOUT_MS = 2000;
/** Requests larger than this may see a big answer cut short when the server does not read their body (see httpIteration). */
const UNREAD_BODY_BYTES = 64 * 1024;
const PROGRESS_MS = 10_000;
/**
 * Deletes, every JANITOR_MS, the exchanges fuzz inputs left behind (seen in two sweeps in a row:
 * every input is long done by then). Auto-delete exchanges that were never bound stay forever
 * (as in RabbitMQ); without the janitor about one in ten inputs leaves one, and since every queue
 * deletion scans all exchanges the campaign slows down quadratically. --no-janitor shows that.
 */
const JANITOR = !argv.includes('--no-janitor');
const JANITOR_MS = 5000;
const VERBOSE = REPLAYING || argv.includes('--verbose');

/** The reply codes AMQP 0-9-1 defines. */
const SPEC_CODES = new Set([200, 311, 312, 313, 320, 402, 403, 404, 405, 406, 501, 502, 503, 504, 505, 506, 530, 540, 541]);
/** Channel the probe opens after each surviving input (the highest the server allows). */
const PROBE_CHANNEL = 2047;
const PROBE_FRAME = channelOpenFrame(PROBE_CHANNEL);

const iterationSeed = (iteration: number): number => (SEED ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0;
const httpSeed = (iteration: number): number => (SEED ^ 0x48545450 ^ Math.imul(iteration + 1, 0x85ebca6b)) >>> 0;

// ---- statistics and failures -------------------------------------------------------------------

class Counter {
  readonly counts = new Map<string, number>();
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
  format(sortNumeric = false): string {
    const entries = [...this.counts];
    entries.sort(sortNumeric ? (a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }) : (a, b) => b[1] - a[1]);
    return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k}: ${n.toLocaleString('en')}`).join(', ');
  }
}

const stats = {
  inputs: 0,
  inputsByMode: new Counter(),
  connections: 0,
  connectionClose: new Counter(),
  channelClose: new Counter(),
  drops: 0,
  clientClosed: 0,
  survived: 0,
  headerReplies: 0,
  retired: 0,
  hangs: 0,
  halfFrames: 0,
  resetPartials: 0,
  nonSpecCodes: 0,
  internalErrors: 0,
  serverFrames: 0,
  http: 0,
  httpByStatus: new Counter(),
  httpOutcomes: new Counter(),
  http5xx: 0,
  httpHangs: 0,
  sentinelSamples: [] as number[],
  sentinelErrors: [] as string[],
  sentinelStalls: 0,
  sinkDeliveries: 0,
  peakRss: 0,
  brokerWarnings: new Counter(),
  janitorSweeps: 0,
  janitorDeleted: 0,
  janitorErrors: 0,
  exchangesAtEnd: -1,
};

interface Failure {
  kind: string;
  text: string;
}
const failures: Failure[] = [];
const failureKinds = new Counter();
const MAX_DETAILED = 20;

function fail(kind: string, text: string): void {
  failureKinds.add(kind);
  if (failures.length < MAX_DETAILED) failures.push({ kind, text });
  if (VERBOSE || failures.length <= 3) console.error(`FAILURE [${kind}] ${text}`);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const hex = (buf: Buffer, max = 4096): string => buf.subarray(0, max).toString('hex') + (buf.length > max ? `… (${buf.length} bytes, first ${max} shown)` : '');

// ---- the broker process -------------------------------------------------------------------------

interface Ports {
  amqp: number;
  jobs: number;
  dispatch: number;
  management: number;
}

interface Broker {
  child: ChildProcess;
  ports: Ports;
  dataDir: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive: () => boolean;
  stderrTail: () => string;
  logTail: string[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Log messages that mean the broker hit an unexpected exception. */
const INTERNAL_ERROR_LOGS = ['internal error handling a frame', 'job API request failed', 'delivery API request failed'];

async function startBroker(): Promise<Broker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fuzz-campaign-'));
  const ports: Ports = { amqp: await freePort(), jobs: await freePort(), dispatch: await freePort(), management: await freePort() };
  const main = join(__dirname, '..', '..', 'apps', 'broker', 'src', 'main.js');
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      AMQP_PORT: String(ports.amqp),
      JOBS_PORT: String(ports.jobs),
      DISPATCH_PORT: String(ports.dispatch),
      MANAGEMENT_PORT: String(ports.management),
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // stalled HTTP requests (truncated bodies kept open) end with 408 after this
      HTTP_REQUEST_TIMEOUT_MS: String(BROKER_HTTP_TIMEOUT_MS),
      HTTP_HEADERS_TIMEOUT_MS: String(BROKER_HTTP_TIMEOUT_MS),
      // deliveries the HTTP fuzz manages to make valid go to the local sink, nowhere else
      DISPATCH_ALLOW: '127.0.0.1',
      DISPATCH_ALLOW_LOOPBACK: 'true',
      DISPATCH_MAX_ATTEMPTS: '2',
      DISPATCH_RETRY_BASE_MS: '100',
      // fuzzed start-oks are failed logins from 127.0.0.1: the per-source back-off would refuse the valid handshakes after them
      AUTH_FAILURE_LIMIT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const logTail: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === '') continue;
      logTail.push(line.slice(0, 2000));
      if (logTail.length > 50) logTail.shift();
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        stats.brokerWarnings.add('(not JSON)');
        continue;
      }
      const msg = String(entry.msg ?? '');
      stats.brokerWarnings.add(msg);
      if (INTERNAL_ERROR_LOGS.includes(msg)) {
        stats.internalErrors++;
        fail('internal-error', `broker logged '${msg}': ${line.slice(0, 1500)}`);
      }
    }
  });
  let exitState: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitState = { code, signal };
      resolve(exitState);
    }),
  );
  const broker: Broker = { child, ports, dataDir, exited, alive: () => exitState === null, stderrTail: () => stderr, logTail };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!broker.alive()) throw new Error(`broker exited during start-up: ${stderr}`);
    const up = await Promise.all([ports.amqp, ports.jobs, ports.dispatch, ports.management].map(canConnect));
    if (up.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error(`broker did not open its ports within 60 s: ${stderr}`);
    await sleep(100);
  }
  return broker;
}

function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

// ---- a raw AMQP connection that checks everything the server sends --------------------------------

interface ServerFrame {
  type: number;
  channel: number;
  method?: AmqpMethod;
}

interface CloseArgs {
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

/** What the connection is doing, for failure reports. */
interface Context {
  iteration: number;
  input: FuzzInput | null;
  /** The iterations run on this connection so far, this one last. */
  history: number[];
  phase: string;
}

/**
 * One fuzzing connection. Unlike test/support/raw-amqp.ts (which polls, concatenates every chunk
 * it receives and swallows parse errors), it waits on events, checks every server frame as it
 * arrives (complete, 0xCE frame-end, within frame_max, decodable methods, spec reply codes) and
 * remembers whether the socket ended with a FIN and what was left of a partial frame.
 */
class FuzzConnection {
  readonly frames: ServerFrame[] = [];
  closed = false;
  /** The server ended the stream (FIN) rather than resetting it. */
  endedCleanly = false;
  errorCode: string | null = null;
  /** Bytes the server answered a protocol header with (when it did). */
  headerReply: Buffer | null = null;
  connectionClose: CloseArgs | null = null;
  serverCloseOk = false;
  /** Channels the server confirmed open (open-ok) and has not closed since. */
  readonly openChannels = new Set<number>();
  /** channel.close from the server still to be answered (when the stream is in sync). */
  pendingCloseOks: number[] = [];
  /** Channels we asked to close (cleanup) whose close-ok has not come yet. */
  readonly closingChannels = new Set<number>();
  context: Context = { iteration: -1, input: null, history: [], phase: 'connect' };
  private readonly parser: FrameParser;
  private sawBytes = false;
  private broken = false;
  private waiter: { check: () => boolean; resolve: (ok: boolean) => void } | null = null;

  private constructor(private readonly socket: Socket) {
    this.parser = new FrameParser((type, channel, payload) => this.onFrame(type, channel, payload), FUZZ_FRAME_MAX);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => (this.endedCleanly = true));
    socket.on('error', (error: NodeJS.ErrnoException) => (this.errorCode ??= error.code ?? error.message));
    socket.on('close', () => this.onClose());
  }

  static open(port: number, timeoutMs: number): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`TCP connect not accepted within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new FuzzConnection(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  private where(): string {
    const c = this.context;
    return `seed=${SEED} iteration=${c.iteration} (${c.phase}; connection history ${c.history.join(',') || '-'})`;
  }

  private onData(chunk: Buffer): void {
    if (!this.sawBytes) {
      this.sawBytes = true;
      // the answer to a protocol header we do not speak is the header we do, and nothing else
      if (chunk[0] === PROTOCOL_HEADER[0]) this.headerReply = Buffer.alloc(0);
    }
    if (this.headerReply !== null) {
      this.headerReply = Buffer.concat([this.headerReply, chunk]);
      this.notify();
      return;
    }
    if (this.broken) return;
    try {
      this.parser.push(chunk);
    } catch (error) {
      this.broken = true;
      stats.halfFrames++;
      fail('half-frame', `${this.where()}: the server sent bytes that are not a complete frame: ${(error as Error).message}; chunk ${hex(chunk, 256)}`);
    }
    this.notify();
  }

  private onFrame(type: number, channel: number, payload: Buffer): void {
    stats.serverFrames++;
    const frame: ServerFrame = { type, channel };
    if (type === FRAME_METHOD) {
      try {
        frame.method = decodeMethod(payload);
      } catch (error) {
        stats.halfFrames++;
        fail('bad-frame', `${this.where()}: the server sent a method frame that does not decode (${(error as Error).message}) on channel ${channel}: ${hex(payload, 512)}`);
      }
    }
    this.frames.push(frame);
    const method = frame.method;
    if (method === undefined) return;
    switch (method.id) {
      case MethodId.ConnectionClose:
        this.connectionClose = method.args as CloseArgs;
        this.checkCode('connection.close', this.connectionClose);
        stats.connectionClose.add(String(this.connectionClose.replyCode));
        break;
      case MethodId.ConnectionCloseOk:
        this.serverCloseOk = true;
        break;
      case MethodId.ChannelClose: {
        const args = method.args as CloseArgs;
        this.checkCode(`channel.close on channel ${channel}`, args);
        stats.channelClose.add(String(args.replyCode));
        this.openChannels.delete(channel);
        this.closingChannels.delete(channel);
        this.pendingCloseOks.push(channel);
        break;
      }
      case MethodId.ChannelOpenOk:
        this.openChannels.add(channel);
        break;
      case MethodId.ChannelCloseOk:
        this.openChannels.delete(channel);
        this.closingChannels.delete(channel);
        break;
    }
  }

  private checkCode(what: string, args: CloseArgs): void {
    if (!SPEC_CODES.has(args.replyCode)) {
      stats.nonSpecCodes++;
      fail('non-spec-code', `${this.where()}: ${what} with reply code ${args.replyCode} (not an AMQP 0-9-1 code) "${args.replyText}"`);
    }
    if (args.replyCode === 541) {
      stats.internalErrors++;
      fail('internal-error', `${this.where()}: ${what} 541 INTERNAL_ERROR "${args.replyText}" (an unexpected exception handling input)`);
    }
  }

  private onClose(): void {
    this.closed = true;
    const partial = this.parser.buffered;
    if (partial > 0 && !this.broken) {
      if (this.endedCleanly) {
        stats.halfFrames++;
        fail('half-frame', `${this.where()}: the server closed the stream (FIN) with ${partial} bytes of an incomplete frame outstanding`);
      } else {
        // a reset can discard bytes the kernel had received: not evidence against the server
        stats.resetPartials++;
      }
    }
    this.notify();
  }

  private notify(): void {
    const waiter = this.waiter;
    if (waiter !== null && waiter.check()) waiter.resolve(true);
  }

  /** Resolves true once `check` holds (re-evaluated on every frame and on close), false at the timeout. */
  until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(check());
      }, timeoutMs);
      this.waiter = {
        check,
        resolve: (ok) => {
          clearTimeout(timer);
          this.waiter = null;
          resolve(ok);
        },
      };
    });
  }

  write(data: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(data);
  }

  has(from: number, match: (f: ServerFrame) => boolean): boolean {
    for (let i = from; i < this.frames.length; i++) if (match(this.frames[i]!)) return true;
    return false;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** A one-line account of what the server sent, for failure reports. */
  describe(from = 0): string {
    const parts = this.frames.slice(from).map((f) => {
      if (!f.method) return `${f.channel}:type${f.type}`;
      const name = `${f.channel}:${f.method.id >>> 16}/${f.method.id & 0xffff}`;
      if (f.method.id === MethodId.ConnectionClose || f.method.id === MethodId.ChannelClose) {
        const a = f.method.args as CloseArgs;
        return `${name}(${a.replyCode} ${a.classId}/${a.methodId} "${a.replyText}")`;
      }
      return name;
    });
    const shown = parts.length > 60 ? [...parts.slice(0, 20), `… ${parts.length - 40} more …`, ...parts.slice(-20)] : parts;
    return `socket ${this.closed ? `closed (${this.endedCleanly ? 'FIN' : (this.errorCode ?? 'reset')})` : 'open'}; frames [${shown.join(' ')}]` + (this.headerReply ? `; header reply ${hex(this.headerReply, 64)}` : '');
  }
}

// ---- one fuzzing worker ---------------------------------------------------------------------------

const startOk = bytes((w) =>
  encodeConnectionStartOkFrame(w, 0, {
    clientProperties: { product: 'fuzz-campaign', capabilities: {} },
    mechanism: 'PLAIN',
    response: Buffer.from('\0guest\0guest'),
    locale: 'en_US',
  }),
);

/** Runs the opening handshake; null when it worked, the reason otherwise. */
async function handshake(conn: FuzzConnection): Promise<string | null> {
  conn.write(PROTOCOL_HEADER);
  const isStart = (f: ServerFrame): boolean => f.method?.id === MethodId.ConnectionStart;
  if (!(await conn.until(() => conn.closed || conn.has(0, isStart), ANSWER_TIMEOUT_MS)) || !conn.has(0, isStart)) return `no connection.start (${conn.describe()})`;
  conn.write(startOk);
  const tuneOrClose = (): ServerFrame | undefined => conn.frames.find((f) => f.method?.id === MethodId.ConnectionTune || f.method?.id === MethodId.ConnectionClose);
  await conn.until(() => conn.closed || tuneOrClose() !== undefined, ANSWER_TIMEOUT_MS);
  const tune = tuneOrClose();
  if (tune?.method?.id !== MethodId.ConnectionTune) return `no connection.tune (${conn.describe()})`;
  const proposed = tune.method.args;
  conn.write(
    bytes((w) => {
      encodeConnectionTuneOkFrame(w, 0, { channelMax: proposed.channelMax, frameMax: FUZZ_FRAME_MAX, heartbeat: 0 });
      encodeConnectionOpenFrame(w, 0, { virtualHost: '/' });
    }),
  );
  const isOpenOk = (f: ServerFrame): boolean => f.method?.id === MethodId.ConnectionOpenOk;
  await conn.until(() => conn.closed || conn.connectionClose !== null || conn.has(0, isOpenOk), ANSWER_TIMEOUT_MS);
  if (!conn.has(0, isOpenOk)) return `no connection.open-ok (${conn.describe()})`;
  return null;
}

type FramingState = { kind: 'aligned' } | { kind: 'partial'; completion: Buffer } | { kind: 'broken' };

/**
 * Follows `data` the way the server's frame parser does (frame_max FUZZ_FRAME_MAX). Aligned: it
 * ends on a frame boundary. Partial: it ends inside a frame that `completion` (zero header bytes,
 * then 0xCE payload bytes and frame-end) completes validly. Broken: the server must have closed
 * (or will, whatever follows).
 */
function framingOf(data: Buffer): FramingState {
  const valid = (type: number, channel: number, size: number): boolean => {
    if (type === 8) return channel === 0 && size === 0;
    return (type === 1 || type === 2 || type === 3) && size <= FUZZ_FRAME_MAX - 8;
  };
  let off = 0;
  while (off < data.length) {
    const left = data.length - off;
    if (left < 7) {
      const head = Buffer.alloc(7);
      data.copy(head, 0, off);
      const size = head.readUInt32BE(3);
      if (!valid(head[0]!, head.readUInt16BE(1), size)) return { kind: 'broken' };
      return { kind: 'partial', completion: Buffer.concat([Buffer.alloc(7 - left), Buffer.alloc(size + 1, FRAME_END)]) };
    }
    const type = data[off]!;
    const channel = data.readUInt16BE(off + 1);
    const size = data.readUInt32BE(off + 3);
    if (!valid(type, channel, size)) return { kind: 'broken' };
    const end = off + 7 + size;
    if (end >= data.length) return { kind: 'partial', completion: Buffer.alloc(end + 1 - data.length, FRAME_END) };
    if (data[end] !== FRAME_END) return { kind: 'broken' };
    off = end + 1;
  }
  return { kind: 'aligned' };
}

/** The input without the trailing FILLER (the campaign decides what follows it), and its chunks cut to match. */
function withoutFiller(input: FuzzInput): { data: Buffer; chunks: Buffer[] } {
  const hasFiller = input.bytes.length >= FILLER.length && input.bytes.subarray(input.bytes.length - FILLER.length).equals(FILLER);
  const length = hasFiller ? input.bytes.length - FILLER.length : input.bytes.length;
  const chunks: Buffer[] = [];
  let at = 0;
  for (const chunk of input.chunks) {
    const take = Math.min(chunk.length, length - at);
    if (take > 0) chunks.push(chunk.subarray(0, take));
    at += chunk.length;
  }
  return { data: input.bytes.subarray(0, length), chunks };
}

type InputOutcome = 'alive' | 'ended';

/** After connection.close from the server: answer close-ok; the socket must then close. */
async function finishClose(conn: FuzzConnection, what: string, mark: number): Promise<void> {
  conn.write(connectionCloseOkFrame());
  if (!(await conn.until(() => conn.closed, ANSWER_TIMEOUT_MS))) {
    stats.hangs++;
    fail('hang', `${whereOf(conn)}: socket still open ${ANSWER_TIMEOUT_MS} ms after connection.close and our close-ok (${what}); server: ${conn.describe(mark)}${inputText(conn)}`);
    conn.destroy();
  }
}

const whereOf = (conn: FuzzConnection): string =>
  `seed=${SEED} iteration=${conn.context.iteration} (${conn.context.phase}; connection history ${conn.context.history.join(',') || '-'})`;

function inputText(conn: FuzzConnection): string {
  const input = conn.context.input;
  if (input === null) return '';
  return `\n  mode=${input.mode} mutations=[${input.notes.join(', ')}] chunks=[${input.chunks.map((c) => c.length).join(',')}]\n  input: ${hex(input.bytes)}`;
}

/** Waits for the end of an input that must end the connection (close or drop). */
async function expectEnd(conn: FuzzConnection, mark: number, what: string): Promise<void> {
  const ended = await conn.until(() => conn.closed || conn.connectionClose !== null, ANSWER_TIMEOUT_MS);
  if (!ended) {
    stats.hangs++;
    fail('hang', `${whereOf(conn)}: neither connection.close nor a closed socket within ${ANSWER_TIMEOUT_MS} ms ${what}; server: ${conn.describe(mark)}${inputText(conn)}`);
    conn.destroy();
    return;
  }
  if (conn.connectionClose !== null) await finishClose(conn, what, mark);
  else if (conn.serverCloseOk) stats.clientClosed++;
  else stats.drops++;
}

/** One input on a live connection; 'alive' when the connection survived it (and is clean again). */
async function runInput(conn: FuzzConnection, input: FuzzInput, rng: Prng): Promise<InputOutcome> {
  const mark = conn.frames.length;
  const { data, chunks } = withoutFiller(input);
  const framing = framingOf(data);
  const probing = framing.kind !== 'broken';
  const suffix = framing.kind === 'aligned' ? PROBE_FRAME : framing.kind === 'partial' ? Buffer.concat([framing.completion, PROBE_FRAME]) : FILLER;
  conn.context.phase = 'input';
  for (const chunk of chunks) {
    if (conn.closed) break;
    conn.write(chunk);
    if (rng.chance(0.5)) await sleep(1);
  }
  conn.write(suffix);
  if (!probing) {
    await expectEnd(conn, mark, 'after an input that breaks the framing (then FILLER)');
    return 'ended';
  }
  // the stream is in sync after the probe: channel.close from the server can be answered now
  flushCloseOks(conn);
  const probeOk = (f: ServerFrame): boolean => f.channel === PROBE_CHANNEL && f.method?.id === MethodId.ChannelOpenOk;
  const answered = await conn.until(() => conn.closed || conn.connectionClose !== null || conn.has(mark, probeOk), ANSWER_TIMEOUT_MS);
  if (!answered) {
    stats.hangs++;
    fail('hang', `${whereOf(conn)}: no connection.close, no closed socket and no answer to the probe channel.open within ${ANSWER_TIMEOUT_MS} ms; server: ${conn.describe(mark)}${inputText(conn)}`);
    conn.destroy();
    return 'ended';
  }
  if (conn.connectionClose !== null) {
    await finishClose(conn, 'after the input', mark);
    return 'ended';
  }
  if (conn.closed) {
    if (conn.serverCloseOk) stats.clientClosed++;
    else stats.drops++;
    return 'ended';
  }
  stats.survived++;
  flushCloseOks(conn);
  // close what the input (and the probe) left open; the next input starts from channel 1 alone
  for (const channel of conn.openChannels) {
    if (conn.closingChannels.has(channel)) continue;
    conn.closingChannels.add(channel);
    conn.write(methodFrame(channel, { id: MethodId.ChannelClose, args: { replyCode: 200, replyText: 'fuzz cleanup', classId: 0, methodId: 0 } }));
  }
  return 'alive';
}

function flushCloseOks(conn: FuzzConnection): void {
  for (const channel of conn.pendingCloseOks.splice(0)) conn.write(channelCloseOkFrame(channel));
}

/** Opens a connection and handshakes; null (after recording the failure) when that failed. */
async function openConnection(port: number, context: Context): Promise<FuzzConnection | null> {
  let conn: FuzzConnection;
  try {
    conn = await FuzzConnection.open(port, ANSWER_TIMEOUT_MS);
  } catch (error) {
    if (!aborted) fail('connect', `seed=${SEED} iteration=${context.iteration}: ${(error as Error).message}`);
    return null;
  }
  stats.connections++;
  conn.context = context;
  return conn;
}

/** Makes sure channel 1 is open (as the fuzz test has it before every input); false when the connection ended. */
async function prepareChannel(conn: FuzzConnection): Promise<boolean> {
  conn.context.phase = 'cleanup and channel.open 1';
  const mark = conn.frames.length;
  if (conn.openChannels.has(1) && !conn.closingChannels.has(1)) return true;
  conn.write(channelOpenFrame(1));
  const ok = (f: ServerFrame): boolean => f.channel === 1 && f.method?.id === MethodId.ChannelOpenOk;
  const done = await conn.until(() => conn.closed || conn.connectionClose !== null || conn.has(mark, ok), ANSWER_TIMEOUT_MS);
  if (!done) {
    stats.hangs++;
    fail('hang', `${whereOf(conn)}: channel.open 1 after the previous input's cleanup not answered within ${ANSWER_TIMEOUT_MS} ms; server: ${conn.describe(mark)}`);
    conn.destroy();
    return false;
  }
  if (conn.connectionClose !== null) {
    await finishClose(conn, 'after the cleanup of the previous input', mark);
    return false;
  }
  if (conn.closed) {
    stats.drops++;
    return false;
  }
  flushCloseOks(conn);
  return true;
}

/** Sends FILLER on a connection in sync: the server must close it. */
async function retire(conn: FuzzConnection): Promise<void> {
  conn.context.phase = 'retire (FILLER)';
  conn.context.input = null;
  const mark = conn.frames.length;
  flushCloseOks(conn);
  conn.write(FILLER);
  stats.retired++;
  await expectEnd(conn, mark, 'after FILLER on a connection in sync');
}

/** Inputs that need a connection of their own (before or inside the handshake). */
async function runFreshInput(port: number, iteration: number, input: FuzzInput, rng: Prng): Promise<void> {
  const conn = await openConnection(port, { iteration, input, history: [iteration], phase: 'connect' });
  if (conn === null) return;
  try {
    if (input.mode === 'pre-start-ok') {
      conn.context.phase = 'protocol header';
      conn.write(PROTOCOL_HEADER);
      const isStart = (f: ServerFrame): boolean => f.method?.id === MethodId.ConnectionStart;
      if (!(await conn.until(() => conn.closed || conn.has(0, isStart), ANSWER_TIMEOUT_MS)) || !conn.has(0, isStart)) {
        fail('handshake', `${whereOf(conn)}: no connection.start for a valid protocol header; server: ${conn.describe()}`);
        return;
      }
    }
    conn.context.phase = 'input';
    const mark = conn.frames.length;
    for (const chunk of input.chunks) {
      if (conn.closed) break;
      conn.write(chunk);
      if (rng.chance(0.5)) await sleep(1);
    }
    if (input.mode === 'pre-header') {
      if (!(await conn.until(() => conn.closed, ANSWER_TIMEOUT_MS))) {
        stats.hangs++;
        fail('hang', `${whereOf(conn)}: socket still open ${ANSWER_TIMEOUT_MS} ms after a wrong protocol header; server: ${conn.describe()}${inputText(conn)}`);
        return;
      }
      if (conn.headerReply === null || !conn.headerReply.equals(PROTOCOL_HEADER) || conn.frames.length > 0) {
        fail('bad-header-reply', `${whereOf(conn)}: a wrong protocol header was not answered with exactly AMQP 0-9-1's header; server: ${conn.describe()}${inputText(conn)}`);
      } else stats.headerReplies++;
      return;
    }
    await expectEnd(conn, mark, 'after a fuzzed connection.start-ok (then FILLER)');
  } finally {
    conn.destroy();
  }
}

let nextIteration = 0;
let aborted = false;

/** A worker: takes iterations in turn, running several on one connection while it survives them. */
async function amqpWorker(port: number, take: () => number | null): Promise<void> {
  let conn: FuzzConnection | null = null;
  let used = 0;
  for (;;) {
    const iteration = aborted ? null : take();
    if (iteration === null) break;
    const rng = new Prng(iterationSeed(iteration));
    const input = fuzzInput(rng, `${SEED}-${iteration}`);
    stats.inputs++;
    stats.inputsByMode.add(input.mode);
    if (VERBOSE) console.log(`iteration ${iteration}: mode=${input.mode} mutations=[${input.notes.join(', ')}] ${input.bytes.length} bytes`);
    if (input.mode === 'pre-header' || input.mode === 'pre-start-ok') {
      await runFreshInput(port, iteration, input, rng);
      if (VERBOSE) console.log('  → ended (a connection of its own)');
      continue;
    }
    if (conn !== null && (conn.closed || used >= PER_CONN)) {
      if (!conn.closed) await retire(conn);
      conn.destroy();
      conn = null;
    }
    if (conn === null) {
      conn = await openConnection(port, { iteration, input, history: [], phase: 'handshake' });
      if (conn === null) continue;
      used = 0;
      const why = await handshake(conn);
      if (why !== null) {
        if (!aborted) fail('handshake', `seed=${SEED} iteration=${iteration}: a valid handshake failed: ${why}`);
        conn.destroy();
        conn = null;
        continue;
      }
    }
    conn.context = { iteration, input, history: [...conn.context.history, iteration], phase: 'channel.open 1' };
    if (!(await prepareChannel(conn))) {
      // the previous input's cleanup ended the connection: this input goes to a new one
      conn.destroy();
      conn = await openConnection(port, { iteration, input, history: [iteration], phase: 'handshake' });
      if (conn === null) continue;
      used = 0;
      const why = await handshake(conn);
      if (why !== null || !(await prepareChannel(conn))) {
        if (!aborted) fail('handshake', `seed=${SEED} iteration=${iteration}: a valid handshake (and channel.open 1) failed: ${why ?? conn.describe()}`);
        conn.destroy();
        conn = null;
        continue;
      }
    }
    used++;
    const mark = conn.frames.length;
    const outcome = await runInput(conn, input, rng);
    if (VERBOSE) console.log(`  → ${outcome}; server: ${conn.describe(mark)}`);
    if (outcome === 'ended') {
      conn.destroy();
      conn = null;
    }
  }
  if (conn !== null) {
    if (!conn.closed && !aborted) await retire(conn);
    conn.destroy();
  }
}

// ---- HTTP -------------------------------------------------------------------------------------------

type Door = 'jobs' | 'dispatch';

interface HttpCase {
  door: Door;
  mode: string;
  /** The request bytes, in the writes they are sent in. */
  chunks: Buffer[];
  /** Methods of the requests in the stream (HEAD answers have no body). */
  methods: string[];
  /** wait: for the answer; half-close: end our side after sending; stall: keep it open, unfinished. */
  finish: 'wait' | 'half-close' | 'stall';
  /** A well-formed request that must be answered (never just dropped). */
  mustAnswer: boolean;
  /** A receive_block that may legitimately wait for a job (a long poll). */
  mayBlock: boolean;
}

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const JOB_PATHS = ['/', '/jobs', '/schedule', '/schedule', '/schedule', '/schedule', '/receive_noblock', '/receive_noblock', '/receive_noblock', '/receive_block', '/receive_block', '/ack', '/release', '/touch', '/job', '/delete', '/nope', '/schedule/', '/job?job_num='];
const JOB_FIELDS = ['message', 'lane', 'priority', 'delay_ms', 'run_at', 'idempotency_key', 'ack', 'timeout_ms', 'wait_ms', 'id', 'job_num'];
const DELIVERY_FIELDS = ['UUID', 'Url', 'Method', 'Body', 'Header', 'Timeout', 'MaxAttempts', 'OrderingKey'];
const JUNK_STRINGS = ['', ' ', 'null', 'true', '0', '-1', '\u0000', '\ud800', '\udfff\ud800x', '💥', 'é', '\r\n', '%00', '../../etc/passwd', '<script>', '{"a":1}', 'main', '__proto__', 'dead', 'pending', 'http://', 'ftp://127.0.0.1/', 'http://[::1', 'GET', 'get', 'P O S T', '2024-13-45T25:61:61Z', '1970-01-01T00:00:00Z'];
const RAW_TOKENS = ['1e999', '-', '01', 'NaN', 'Infinity', '-Infinity', '0x10', "'single'", 'undefined', '1.', '.5', '+1', '"\u0000"', '"\\ud800"', '"\\x41"', '"\\u12"', '[', '}', '"unterminated', '1_000', 'true false', '"a"\u0000'];
const PLACEHOLDER = '\u0001RAW\u0001';

function randomText(rng: Prng, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String.fromCharCode(rng.chance(0.8) ? rng.int(0x20, 0x7e) : rng.int(0, 0xffff));
  return out;
}

function junkValue(rng: Prng, depth = 0): unknown {
  switch (rng.int(0, 14)) {
    case 0:
    case 1:
      return rng.pick(JUNK_STRINGS);
    case 2:
      return rng.int(-1000, 1000);
    case 3:
      return -rng.int(1, 2 ** 31);
    case 4:
      return rng.next() * 1e6;
    case 5:
      return rng.pick([1e300, -1e300, 2 ** 53 + 2, -(2 ** 63), 2 ** 64, Number.MAX_VALUE, Number.MIN_VALUE, 0.5, 4294967296, 4294967295, 43_200_001, 31_536_000_001]);
    case 6:
      return rng.chance(0.5);
    case 7:
      return null;
    case 8:
      return depth < 3 ? Array.from({ length: rng.int(0, 4) }, () => junkValue(rng, depth + 1)) : [];
    case 9:
      return depth < 3 ? { [rng.pick(['a', '__proto__', 'constructor', 'X-A', 'bad name'])]: junkValue(rng, depth + 1) } : {};
    case 10:
      return 'x'.repeat(rng.pick([199, 200, 201, 255, 256, 257, 1000, 70_000]));
    case 11:
      return randomText(rng, rng.int(1, 40));
    case 12:
      return String(rng.int(0, 1e9));
    case 13:
      return PLACEHOLDER;
    default:
      return new Date(rng.int(0, 4e12)).toISOString();
  }
}

interface Target {
  door: Door;
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}

function validJobValue(rng: Prng, field: string): unknown {
  switch (field) {
    case 'message':
      return `fuzz job ${rng.int(0, 1e6)}`;
    case 'lane':
      return rng.pick(['main', 'fz1', 'fz2']);
    case 'priority':
      return rng.int(0, 1000);
    case 'delay_ms':
      return rng.int(0, 500);
    case 'run_at':
      return Date.now() + rng.int(0, 500);
    case 'idempotency_key':
      return `k${rng.int(0, 1000)}`;
    case 'ack':
      return rng.chance(0.5);
    case 'timeout_ms':
    case 'wait_ms':
      return rng.int(0, 200);
    case 'id':
      return `lease-${rng.int(0, 1000)}`;
    default:
      return rng.int(1, 2000);
  }
}

function validDeliveryValue(rng: Prng, field: string, sinkPort: number): unknown {
  switch (field) {
    case 'UUID':
      return `fz-${rng.int(0, 1e9)}`;
    case 'Url':
      return rng.chance(0.9) ? `http://127.0.0.1:${sinkPort}/hook/${rng.int(0, 1000)}` : rng.pick(['https://127.0.0.1:1/', 'http://localhost:1/', 'http://example.invalid/']);
    case 'Method':
      return rng.pick(['POST', 'PUT', 'GET', 'delete']);
    case 'Body':
      return randomText(rng, rng.int(0, 50));
    case 'Header':
      return { 'X-Fuzz': 'yes', 'Content-Type': 'text/plain' };
    case 'Timeout':
      return rng.int(0, 2000);
    case 'MaxAttempts':
      return rng.int(1, 2);
    default:
      return `key-${rng.int(0, 10)}`;
  }
}

function fieldsFor(rng: Prng, names: readonly string[], valid: (field: string) => unknown, required: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const name of required) body[name] = rng.chance(0.8) ? valid(name) : junkValue(rng);
  const extra = rng.int(0, 4);
  for (let i = 0; i < extra; i++) {
    const name = rng.chance(0.9) ? rng.pick(names) : rng.pick(['__proto__', 'constructor', 'MESSAGE', 'Lane', 'url', 'uuid', 'unknown', '']);
    body[rng.chance(0.1) ? name.toUpperCase() : name] = rng.chance(0.5) ? valid(name) : junkValue(rng);
  }
  return body;
}

function targetOf(rng: Prng, sinkPort: number): Target {
  if (rng.chance(0.55)) {
    let path = rng.pick(JOB_PATHS);
    if (path.endsWith('=')) path += rng.pick(['1', '-1', 'abc', '1e3', '', '%zz', '99999999999999999999']);
    const required = path.startsWith('/schedule') ? ['message'] : ['/ack', '/release', '/touch'].includes(path) ? ['id'] : path === '/delete' || path === '/job' ? ['job_num'] : [];
    const body = rng.chance(0.9) ? fieldsFor(rng, JOB_FIELDS, (f) => validJobValue(rng, f), required) : null;
    return { door: 'jobs', method: rng.chance(0.7) ? 'POST' : rng.pick(ALL_METHODS), path, body };
  }
  const id = rng.pick(['fz-1', 'missing', '%ff', 'a'.repeat(300), '..', `fz-${rng.int(0, 1e9)}`]);
  const choice = rng.int(0, 9);
  if (choice <= 4) {
    const body = fieldsFor(rng, DELIVERY_FIELDS, (f) => validDeliveryValue(rng, f, sinkPort), ['Url']);
    return { door: 'dispatch', method: rng.chance(0.9) ? 'POST' : rng.pick(ALL_METHODS), path: rng.pick(['/', '/', '/deliveries', '/some/other/path']), body };
  }
  if (choice === 5) {
    const query = rng.pick(['', '?limit=abc', '?limit=0', '?limit=1001', '?limit=5', '?after=-1', '?state=nope', '?state=dead&since=yesterday', '?since=1&until=2', '?host=%zz', '?limit=1e2']);
    return { door: 'dispatch', method: rng.chance(0.8) ? 'GET' : rng.pick(ALL_METHODS), path: `/deliveries${query}`, body: null };
  }
  if (choice === 6) {
    const body = rng.chance(0.7) ? { state: rng.chance(0.5) ? 'dead' : junkValue(rng), host: rng.chance(0.5) ? '127.0.0.1' : junkValue(rng), since: junkValue(rng) } : null;
    return { door: 'dispatch', method: 'POST', path: '/deliveries/replay', body };
  }
  if (choice === 7) return { door: 'dispatch', method: rng.pick(['GET', 'DELETE', 'PUT']), path: `/deliveries/${id}`, body: null };
  return { door: 'dispatch', method: rng.pick(['POST', 'GET']), path: `/deliveries/${id}/replay`, body: null };
}

function jsonText(rng: Prng, body: Record<string, unknown> | null): string {
  if (body === null) return '';
  let text = JSON.stringify(body);
  const placeholder = JSON.stringify(PLACEHOLDER);
  while (text.includes(placeholder)) text = text.replace(placeholder, rng.pick(RAW_TOKENS));
  return text;
}

function mutateBytes(rng: Prng, data: Buffer): Buffer {
  let out = Buffer.from(data);
  const count = rng.int(1, 3);
  for (let i = 0; i < count; i++) {
    const at = out.length === 0 ? 0 : rng.int(0, out.length - 1);
    const op = rng.int(0, 4);
    if (op === 0 && out.length > 0) out[at] = rng.int(0, 255);
    else if (op === 1) out = out.subarray(0, at);
    else if (op === 2) out = Buffer.concat([out.subarray(0, at), rng.bytes(rng.int(1, 8)), out.subarray(at)]);
    else if (op === 3) out = Buffer.concat([out.subarray(0, at), out.subarray(at + rng.int(1, 8))]);
    else out = Buffer.concat([out.subarray(0, at), Buffer.from(rng.pick(['"', '{', '}', '[', ']', ',', ':', '\\', '\\u', 'null'])), out.subarray(at)]);
  }
  return out;
}

const INVALID_UTF8 = [[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf4, 0x90, 0x80, 0x80]].map((b) => Buffer.from(b));

function deepJson(rng: Prng): string {
  const depth = rng.pick([64, 1000, 1000, 10_000, 10_000, 50_000, 200_000]);
  const closed = rng.chance(0.7);
  const array = rng.chance(0.5);
  const inner = array ? '['.repeat(depth) + '1' + (closed ? ']'.repeat(depth) : '') : '{"a":'.repeat(depth) + '1' + (closed ? '}'.repeat(depth) : '');
  const field = rng.pick(['message', 'lane', 'Header', 'Body', 'Url', 'priority', 'x']);
  return rng.chance(0.3) ? inner : `{"${field}":${inner}${rng.chance(0.5) ? ',"message":"m","Url":"http://127.0.0.1:1/"' : ''}}`;
}

/** Whether a request to receive_block may wait for a job (no bounded wait in a body the server accepts). */
function mayBlock(target: Target, body: Buffer, method: string): boolean {
  if (target.door !== 'jobs' || !target.path.startsWith('/receive_block') || target.path.startsWith('/receive_block/')) return false;
  if (method === 'HEAD') return true;
  const text = body.toString('utf8');
  if (text.trim() === '') return true;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
  const fields = parsed as Record<string, unknown>;
  // as RequestFields reads them: an exact key wins, otherwise keys match case-insensitively
  const get = (name: string): unknown => {
    if (Object.prototype.hasOwnProperty.call(fields, name)) return fields[name];
    const key = Object.keys(fields).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : fields[key];
  };
  const bounded = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1000;
  return !(bounded(get('wait_ms')) || (get('ack') !== true && bounded(get('timeout_ms'))));
}

function splitInto(rng: Prng, data: Buffer): Buffer[] {
  if (data.length < 2 || rng.chance(0.7)) return [data];
  const cut = rng.int(1, data.length - 1);
  return [data.subarray(0, cut), data.subarray(cut)];
}

function httpCase(iteration: number, ports: Ports, sinkPort: number): HttpCase {
  const rng = new Prng(httpSeed(iteration));
  const target = targetOf(rng, sinkPort);
  const port = target.door === 'jobs' ? ports.jobs : ports.dispatch;
  const limit = (target.door === 'jobs' ? 64 : 16) * 1024 * 1024;
  const mode = rng.pick(['fields', 'fields', 'fields', 'bad-json', 'bad-json', 'deep-json', 'invalid-utf8', 'content-length', 'content-length', 'truncated', 'truncated', 'chunked', 'bad-method', 'bad-request-line', 'bad-headers', 'random-bytes', 'pipelined']);
  let method = target.method;
  let path = target.path;
  let version = 'HTTP/1.1';
  let body: Buffer = Buffer.from(jsonText(rng, target.body), 'utf8');
  const headers: string[] = [`Host: 127.0.0.1:${port}`];
  if (rng.chance(0.6)) headers.push(`Content-Type: ${rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'garbage/\u00ff', ''])}`);
  let contentLength: string | null = null; // null: the body's length
  let extraHeaders: string[] = [];
  let chunked: Buffer | null = null;
  let finish: HttpCase['finish'] = 'wait';
  let mustAnswer = true;
  let raw: Buffer | null = null;
  let methods = [method];

  switch (mode) {
    case 'bad-json':
      body = rng.chance(0.6) ? mutateBytes(rng, body.length > 0 ? body : Buffer.from('{"message":"x"}')) : Buffer.from(rng.pick(['{', '{"message":', '{"message":"x",}', "{'message':'x'}", '[1,2', 'nul', '{"message":"x"}{"message":"y"}', '{"message":"x"} trailing', '"just a string"', '42', '[]', 'null', '{"message":"\u0000"}', '{"a":1,"a":2,"message":"dup"}', '{"__proto__":{"message":"p"}}', '\ufeff{"message":"bom"}']));
      break;
    case 'deep-json':
      body = Buffer.from(deepJson(rng));
      break;
    case 'invalid-utf8': {
      const bad = rng.pick(INVALID_UTF8);
      const where = rng.int(0, 2);
      if (where === 0) body = Buffer.concat([Buffer.from(target.door === 'jobs' ? '{"message":"' : `{"Url":"http://127.0.0.1:${sinkPort}/`), bad, Buffer.from(target.door === 'jobs' ? '","lane":"' : '","UUID":"'), rng.pick(INVALID_UTF8), Buffer.from('"}')]);
      else if (where === 1) path = Buffer.concat([Buffer.from(path), bad]).toString('latin1');
      else extraHeaders.push(`X-Bad: ${Buffer.concat([Buffer.from('v'), bad]).toString('latin1')}`);
      break;
    }
    case 'content-length': {
      const options = ['-1', '-0', '1e3', '0x10', 'abc', '', ` ${body.length}`, `${body.length} `, '99999999999999999999', String(2 ** 53), '18446744073709551616', String(limit + 1), `${body.length}, ${body.length}`, `${body.length},${body.length + 1}`, '+5', String(Math.max(0, body.length - rng.int(1, 5)))];
      const pick = rng.int(0, options.length);
      if (pick === options.length) extraHeaders.push(`Content-Length: ${body.length + 1}`);
      else contentLength = options[pick]!;
      if (rng.chance(0.2)) extraHeaders.push('Transfer-Encoding: chunked');
      mustAnswer = false;
      break;
    }
    case 'truncated': {
      const full = body.length > 0 ? body : Buffer.from('{"message":"truncated"}');
      body = full.subarray(0, rng.int(0, full.length - 1));
      contentLength = String(full.length);
      finish = rng.chance(0.97) ? 'half-close' : 'stall';
      mustAnswer = false;
      break;
    }
    case 'chunked': {
      const pieces: string[] = [];
      let at = 0;
      while (at < body.length) {
        const n = rng.int(1, 64);
        const piece = body.subarray(at, at + n);
        const size = rng.chance(0.9) ? piece.length.toString(16) : rng.pick(['zz', '-1', 'ffffffffffffffffff', `${piece.length.toString(16)};ext=1`, '', ' 1', String(piece.length + 5)]);
        pieces.push(`${size}\r\n${piece.toString('latin1')}${rng.chance(0.95) ? '\r\n' : ''}`);
        at += n;
      }
      const terminated = rng.chance(0.8);
      chunked = Buffer.from(pieces.join('') + (terminated ? rng.pick(['0\r\n\r\n', '0\r\nX-Trailer: y\r\n\r\n', '0\r\n']) : ''), 'latin1');
      extraHeaders.push(rng.chance(0.9) ? 'Transfer-Encoding: chunked' : rng.pick(['Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked, identity', 'Transfer-Encoding: xchunked', 'Transfer-Encoding:\tchunked']));
      if (!terminated) finish = 'half-close';
      mustAnswer = false;
      break;
    }
    case 'bad-method':
      method = rng.pick(['FOO', 'get', 'G\u0000T', 'PO ST', 'A'.repeat(rng.int(100, 20_000)), '', 'CONNECT', 'TRACE', 'PROPFIND', 'M-SEARCH', 'POST\u00ff', '\u00e9', 'GET\t']);
      methods = [method];
      mustAnswer = false;
      break;
    case 'bad-request-line':
      if (rng.chance(0.5)) version = rng.pick(['HTTP/1.2', 'HTTP/2.0', 'HTTP/9.9', 'http/1.1', 'HTTP/1', 'HTTP/1.1 extra', '', 'HTTP/1.x', 'HTTPS/1.1']);
      else path = rng.pick(['*', 'http://127.0.0.1/schedule', '/a b', `/${'x'.repeat(rng.int(8000, 40_000))}`, '/%', '/%zz', '/\u0000', '', '//', '/schedule#frag', '/schedule?' + '&'.repeat(5000), '/..%2f..%2f']);
      mustAnswer = false;
      break;
    case 'bad-headers':
      extraHeaders = [rng.pick(['NoColon', ' leading: space', 'Bad Name: x', 'X: \u0000', 'X: \u007f', `X-Big: ${'y'.repeat(rng.int(10_000, 70_000))}`, 'Host: second', ':empty-name', 'X:\r\n folded', 'Expect: 100-continue', 'Expect: nonsense', 'Connection: keep-alive, close, upgrade', 'Upgrade: websocket', 'Transfer-Encoding: chunked\r\nContent-Length: 3', 'Authorization: Basic !!!', 'Authorization: Bearer ' + 'z'.repeat(5000)])];
      if (rng.chance(0.2)) extraHeaders = Array.from({ length: rng.int(100, 3000) }, (_, i) => `X-H${i}: v`);
      if (rng.chance(0.2)) headers.shift(); // no Host
      mustAnswer = false;
      break;
    case 'random-bytes': {
      const prefix = rng.chance(0.5) ? Buffer.from(`${method} ${path} HTTP/1.1\r\n`, 'latin1') : Buffer.alloc(0);
      raw = Buffer.concat([prefix, rng.bytes(rng.int(1, 2000)), rng.chance(0.5) ? Buffer.from('\r\n\r\n') : Buffer.alloc(0)]);
      finish = rng.chance(0.5) ? 'half-close' : 'wait';
      mustAnswer = false;
      break;
    }
    default:
      break;
  }

  const build = (close: boolean, requestMethod: string, requestBody: Buffer): Buffer => {
    const lines = [`${requestMethod} ${path}${version === '' ? '' : ' ' + version}`, ...headers];
    if (chunked === null) {
      if (contentLength !== null) lines.push(`Content-Length: ${contentLength}`);
      else if (requestBody.length > 0 || rng.chance(0.3)) lines.push(`Content-Length: ${requestBody.length}`);
    }
    lines.push(...extraHeaders);
    if (close) lines.push('Connection: close');
    return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), chunked ?? requestBody]);
  };

  let data: Buffer;
  if (raw !== null) data = raw;
  else if (mode === 'pipelined') {
    const second = targetOf(rng, sinkPort);
    const secondBody = Buffer.from(jsonText(rng, second.body), 'utf8');
    data = Buffer.concat([build(false, method, body), Buffer.from([`${second.method} ${second.path} HTTP/1.1`, headers[0]!, `Content-Length: ${secondBody.length}`, 'Connection: close', '', ''].join('\r\n'), 'latin1'), secondBody]);
    methods = [method, second.method];
    mustAnswer = second.door === target.door && !(mayBlock(target, body, method) || mayBlock({ ...second, door: target.door }, secondBody, second.method));
  } else data = build(finish !== 'stall' && rng.chance(0.97), method, body);

  const blocking = raw === null && mayBlock(target, body, method);
  return { door: target.door, mode, chunks: splitInto(rng, data), methods, finish, mustAnswer: mustAnswer && !blocking && finish === 'wait', mayBlock: blocking };
}

interface HttpResult {
  statuses: number[];
  /** Interim (1xx) answers. */
  interim: number;
  error: string | null;
  closed: boolean;
  timedOut: boolean;
  /** The socket was reset (or refused our writes): an answer may have been lost in the kernel. */
  reset: boolean;
  bytes: number;
}

/** Parses the answers in `buf` (as much as is complete). */
function parseResponses(buf: Buffer, methods: string[], closed: boolean): { statuses: number[]; interim: number; error: string | null; complete: boolean } {
  const statuses: number[] = [];
  let interim = 0;
  let off = 0;
  let index = 0;
  while (off < buf.length) {
    const headEnd = buf.indexOf('\r\n\r\n', off);
    if (headEnd < 0) return { statuses, interim, error: closed ? `truncated response head: ${JSON.stringify(buf.subarray(off, off + 200).toString('latin1'))}` : null, complete: false };
    const head = buf.toString('latin1', off, headEnd);
    const match = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?(?:\r\n|$)/.exec(head);
    if (!match) return { statuses, interim, error: `not an HTTP response: ${JSON.stringify(head.slice(0, 200))}`, complete: false };
    const status = Number(match[1]);
    const lines = head.split('\r\n').slice(1);
    const header = (name: string): string | undefined => lines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
    let at = headEnd + 4;
    if (status >= 100 && status < 200) {
      interim++;
      off = at;
      continue;
    }
    statuses.push(status);
    const method = methods[Math.min(index, methods.length - 1)] ?? 'GET';
    index++;
    // a HEAD answer has no body, unless the server answered before it knew the method (a
    // request it could not parse): then what follows is a body, not the next answer
    if (status === 204 || status === 304 || (method === 'HEAD' && (at >= buf.length || buf.subarray(at, at + 5).toString('latin1') === 'HTTP/'))) {
      off = at;
      continue;
    }
    if ((header('transfer-encoding') ?? '').toLowerCase().includes('chunked')) {
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', at);
        if (lineEnd < 0) return { statuses, interim, error: closed ? 'truncated chunked response' : null, complete: false };
        const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
        if (Number.isNaN(size)) return { statuses, interim, error: 'bad chunk size in a response', complete: false };
        at = lineEnd + 2 + size + 2;
        if (at > buf.length) return { statuses, interim, error: closed ? 'truncated chunked response' : null, complete: false };
        if (size === 0) break;
      }
      off = at;
      continue;
    }
    const length = header('content-length');
    if (length === undefined) return { statuses, interim, error: null, complete: closed }; // body until close
    at += Number(length);
    if (at > buf.length) return { statuses, interim, error: closed ? `response body shorter than its Content-Length ${length}` : null, complete: false };
    off = at;
  }
  return { statuses, interim, error: null, complete: true };
}

function sendHttp(port: number, c: HttpCase): Promise<HttpResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let size = 0;
    let done = false;
    let idle: NodeJS.Timeout | null = null;
    let reset = false;
    const bound = c.mayBlock ? 1500 : c.finish === 'stall' ? BROKER_HTTP_TIMEOUT_MS + HTTP_TIMEOUT_MS : HTTP_TIMEOUT_MS;
    const finishWith = (closed: boolean, timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (idle) clearTimeout(idle);
      socket.destroy();
      const buf = Buffer.concat(received);
      const parsed = parseResponses(buf, c.methods, true);
      resolve({ statuses: parsed.statuses, interim: parsed.interim, error: parsed.error, closed, timedOut, reset, bytes: size });
    };
    const timer = setTimeout(() => finishWith(false, true), bound);
    socket.setNoDelay(true);
    socket.on('connect', async () => {
      for (const chunk of c.chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (c.chunks.length > 1) await sleep(1);
      }
      if (c.finish === 'half-close' && !socket.destroyed) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size < 2 * 1024 * 1024) received.push(chunk);
      if (size > 256 * 1024) return; // a big answer: read it to the close
      // answered but kept open (keep-alive): give it a moment for more, then stop waiting
      const parsed = parseResponses(Buffer.concat(received), c.methods, false);
      if (parsed.complete && parsed.statuses.length > 0) {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => finishWith(false, false), parsed.statuses.length >= c.methods.length ? 50 : 500);
      }
    });
    socket.on('error', () => (reset = true));
    socket.on('close', () => finishWith(true, false));
  });
}

function describeHttp(c: HttpCase): string {
  const data = Buffer.concat(c.chunks);
  const shown = data.subarray(0, 1500).toString('latin1').replace(/[^\x20-\x7e]/g, (ch) => (ch === '\r' ? '\\r' : ch === '\n' ? '\\n\n    ' : `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return `door=${c.door} mode=${c.mode} finish=${c.finish} chunks=[${c.chunks.map((b) => b.length).join(',')}]\n  request (${data.length} bytes${data.length > 1500 ? ', first 1500 shown' : ''}):\n    ${shown}`;
}

async function httpIteration(ports: Ports, sinkPort: number, iteration: number): Promise<void> {
  const c = httpCase(iteration, ports, sinkPort);
  const port = c.door === 'jobs' ? ports.jobs : ports.dispatch;
  const result = await sendHttp(port, c);
  stats.http++;
  const where = `seed=${SEED} http iteration=${iteration}`;
  for (const status of result.statuses) stats.httpByStatus.add(`${c.door} ${status}`);
  if (result.interim > 0) stats.httpOutcomes.add('interim 1xx', result.interim);
  let outcome: string;
  if (result.statuses.length > 0) outcome = result.timedOut ? 'answered (kept alive)' : 'answered';
  else if (result.timedOut) outcome = c.mayBlock ? 'long poll (receive_block waiting)' : 'hang';
  else if (result.reset) outcome = 'reset without an answer (the server answered early and closed while we were still sending, or refused the bytes)';
  else outcome = 'closed without an answer';
  stats.httpOutcomes.add(result.statuses.length > 0 ? outcome : `${outcome} [${c.mode}]`);
  if (VERBOSE) console.log(`http iteration ${iteration}: ${outcome} ${result.statuses.join(',')} ${result.error ?? ''}\n  ${describeHttp(c)}`);
  const bad = result.statuses.filter((s) => s >= 500);
  if (bad.length > 0) {
    stats.http5xx += bad.length;
    fail('http-5xx', `${where}: answered ${bad.join(',')}\n  ${describeHttp(c)}`);
  }
  const odd = result.statuses.filter((s) => !((s >= 200 && s < 300) || (s >= 400 && s < 500) || s >= 500));
  if (odd.length > 0) fail('http-status', `${where}: answered ${odd.join(',')} (neither 2xx nor 4xx)\n  ${describeHttp(c)}`);
  if (result.error !== null) {
    const sent = c.chunks.reduce((n, b) => n + b.length, 0);
    if (/truncated|shorter/.test(result.error) && sent > UNREAD_BODY_BYTES) {
      // Node's http server (any Node server, not just the broker's) closes a Connection: close
      // socket without lingering while request bytes it never read are still arriving; an answer
      // larger than the socket buffers then arrives cut short
      stats.httpOutcomes.add(`answer cut short after a large request body the server did not read [${c.mode}]`);
    } else fail('http-malformed-answer', `${where}: ${result.error} (socket ${result.reset ? 'reset' : result.closed ? 'closed' : 'open'}, ${result.bytes} bytes received)\n  ${describeHttp(c)}`);
  }
  if (outcome === 'hang') {
    stats.httpHangs++;
    fail('http-hang', `${where}: no answer and no close within ${c.finish === 'stall' ? BROKER_HTTP_TIMEOUT_MS + HTTP_TIMEOUT_MS : HTTP_TIMEOUT_MS} ms\n  ${describeHttp(c)}`);
  }
  if (outcome === 'closed without an answer' && c.mustAnswer) fail('http-no-answer', `${where}: a well-formed request was closed without an answer\n  ${describeHttp(c)}`);
}

// ---- the sentinel (and the delivery sink), in a child process so fuzzing does not delay its timers --

interface SentinelMessage {
  type: 'sink' | 'ready' | 'samples' | 'error' | 'stall' | 'final';
  port?: number;
  samples?: number[];
  message?: string;
  ms?: number;
  deliveries?: number;
}

async function sentinelChild(url: string): Promise<void> {
  const send = (m: SentinelMessage): void => void process.send?.(m);
  let deliveries = 0;
  const sink = createHttpServer((request, response) => {
    request.resume();
    request.on('end', () => {
      deliveries++;
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  send({ type: 'sink', port: (sink.address() as AddressInfo).port });
  const connection = await amqp.connect(url, { noDelay: true });
  connection.on('error', (e: Error) => send({ type: 'error', message: `connection error: ${e.message}` }));
  let stopping = false;
  connection.on('close', () => {
    if (!stopping) send({ type: 'error', message: 'the sentinel connection closed' });
  });
  const channel = await connection.createChannel();
  channel.on('error', (e: Error) => send({ type: 'error', message: `channel error: ${e.message}` }));
  const { queue } = await channel.assertQueue('', { exclusive: true });
  let samples: number[] = [];
  let pendingSince = 0;
  let stallReported = false;
  const watchdog = setInterval(() => {
    if (pendingSince !== 0 && Date.now() - pendingSince > SENTINEL_MAX_MS && !stallReported) {
      stallReported = true;
      send({ type: 'stall', ms: Date.now() - pendingSince });
    }
    if (samples.length > 0) {
      send({ type: 'samples', samples });
      samples = [];
    }
  }, 250);
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stop') stopping = true;
  });
  let n = 0;
  while (!stopping) {
    const text = `sentinel-${n++}`;
    const t0 = process.hrtime.bigint();
    pendingSince = Date.now();
    stallReported = false;
    channel.sendToQueue(queue, Buffer.from(text));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 10_000 && got === false; i++) {
      got = await channel.get(queue, { noAck: true });
      if (got === false) await sleep(1);
    }
    pendingSince = 0;
    if (got === false || got.content.toString() !== text) send({ type: 'error', message: `round trip ${text} got ${got === false ? 'nothing' : got.content.toString()}` });
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await sleep(20);
  }
  clearInterval(watchdog);
  send({ type: 'samples', samples });
  await channel.close().catch(() => undefined);
  await connection.close().catch(() => undefined);
  sink.close();
  send({ type: 'final', deliveries });
  process.disconnect?.();
}

interface Sentinel {
  child: ChildProcess;
  sinkPort: number;
  stop: () => Promise<void>;
}

async function startSentinel(amqpPort: number): Promise<Sentinel> {
  const child = fork(__filename, ['--sentinel-child', `amqp://guest:guest@127.0.0.1:${amqpPort}`, '--sentinel-max-ms', String(SENTINEL_MAX_MS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let sinkPort = 0;
  let final: (() => void) | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: SentinelMessage) => {
      if (m.type === 'sink') {
        sinkPort = m.port!;
        resolve();
      } else if (m.type === 'samples') stats.sentinelSamples.push(...m.samples!);
      else if (m.type === 'error') {
        stats.sentinelErrors.push(m.message!);
        fail('sentinel', `the sentinel connection: ${m.message}`);
      } else if (m.type === 'stall') {
        stats.sentinelStalls++;
        fail('sentinel-latency', `a sentinel round trip has taken more than ${SENTINEL_MAX_MS} ms (${m.ms} ms so far)`);
      } else if (m.type === 'final') {
        stats.sinkDeliveries = m.deliveries ?? 0;
        final?.();
      }
    });
    child.once('exit', (code) => reject(new Error(`sentinel exited with ${code}`)));
  });
  await ready;
  return {
    child,
    sinkPort,
    stop: () =>
      new Promise<void>((resolve) => {
        final = resolve;
        child.send({ type: 'stop' });
        setTimeout(resolve, 15_000).unref();
      }),
  };
}

// ---- the janitor ----------------------------------------------------------------------------------

const managementAuth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

async function exchangeNames(managementPort: number): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${managementPort}/api/exchanges/%2F`, { headers: managementAuth });
  const list = (await response.json()) as { name: string }[];
  return list.map((e) => e.name);
}

/** One sweep: deletes the exchanges (but the default and amq.*) that were there at the previous sweep too. */
async function janitorSweep(managementPort: number, previous: Set<string>): Promise<Set<string>> {
  const names = (await exchangeNames(managementPort)).filter((name) => name !== '' && !name.startsWith('amq.'));
  const old = names.filter((name) => previous.has(name));
  const current = new Set(names.filter((name) => !previous.has(name)));
  stats.janitorSweeps++;
  let next = 0;
  const deleter = async (): Promise<void> => {
    while (next < old.length) {
      const name = old[next++]!;
      try {
        const response = await fetch(`http://127.0.0.1:${managementPort}/api/exchanges/%2F/${encodeURIComponent(name)}`, { method: 'DELETE', headers: managementAuth });
        await response.arrayBuffer();
        if (response.status < 300 || response.status === 404) stats.janitorDeleted++;
        else stats.janitorErrors++;
      } catch {
        stats.janitorErrors++;
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, deleter));
  return current;
}

function startJanitor(managementPort: number): () => Promise<void> {
  let running = true;
  let previous = new Set<string>();
  const loop = (async () => {
    while (running) {
      await sleep(JANITOR_MS);
      if (!running) break;
      try {
        previous = await janitorSweep(managementPort, previous);
      } catch {
        stats.janitorErrors++;
      }
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

// ---- end-of-run checks ---------------------------------------------------------------------------

async function finalChecks(broker: Broker, expectedConnections: number): Promise<void> {
  if (!broker.alive()) return;
  // a new client still gets a working connection
  try {
    const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.ports.amqp}`, { noDelay: true });
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    channel.sendToQueue(queue, Buffer.from('after'));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 1000 && got === false; i++) {
      got = await channel.get(queue, { noAck: true });
      if (got === false) await sleep(5);
    }
    if (got === false || got.content.toString() !== 'after') fail('final', 'a new connection after the campaign could not do a publish/get round trip');
    await connection.close();
  } catch (error) {
    fail('final', `a new connection after the campaign failed: ${(error as Error).message}`);
  }
  // the HTTP doors still answer
  for (const [door, port, path] of [['jobs', broker.ports.jobs, '/'], ['dispatch', broker.ports.dispatch, '/deliveries?limit=1']] as const) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      await response.text();
      if (response.status !== 200) fail('final', `${door} API answered ${response.status} to a plain GET ${path} after the campaign`);
    } catch (error) {
      fail('final', `${door} API after the campaign: ${(error as Error).message}`);
    }
  }
  // every fuzzed connection is gone from the server
  let count = -1;
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(`http://127.0.0.1:${broker.ports.management}/api/connections`, {
        headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
      });
      const list = (await response.json()) as unknown[];
      count = Array.isArray(list) ? list.length : -1;
    } catch {
      count = -1;
    }
    if (count === expectedConnections) break;
    await sleep(100);
  }
  if (count !== expectedConnections) fail('leak', `the server still lists ${count} AMQP connections after the campaign (expected ${expectedConnections}: the sentinel)`);
  try {
    stats.exchangesAtEnd = (await exchangeNames(broker.ports.management)).length;
  } catch {
    stats.exchangesAtEnd = -1;
  }
}

// ---- main ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  console.log(
    `fuzz campaign: seed=${SEED} amqp inputs=${INPUTS.toLocaleString('en')} http requests=${HTTP_REQUESTS.toLocaleString('en')} ` +
      `concurrency=${CONCURRENCY}/${HTTP_CONCURRENCY} per-conn=${PER_CONN} answer-timeout=${ANSWER_TIMEOUT_MS}ms sentinel-max=${SENTINEL_MAX_MS}ms` +
      (REPLAY ? ` replay=${REPLAY.join(',')}` : '') +
      (REPLAY_HTTP ? ` replay-http=${REPLAY_HTTP.join(',')}` : ''),
  );
  const broker = await startBroker();
  console.log(`broker pid ${broker.child.pid}: amqp ${broker.ports.amqp}, jobs ${broker.ports.jobs}, dispatch ${broker.ports.dispatch}, management ${broker.ports.management}, data ${broker.dataDir}`);
  let stopping = false;
  void broker.exited.then(({ code, signal }) => {
    if (stopping) return;
    aborted = true;
    fail('crash', `the broker exited during the campaign (code ${code}, signal ${signal}) after ${stats.inputs} AMQP inputs and ${stats.http} HTTP requests; stderr:\n${broker.stderrTail()}\nlast log lines:\n${broker.logTail.join('\n')}`);
  });
  const sentinel = await startSentinel(broker.ports.amqp);
  const stopJanitor = JANITOR ? startJanitor(broker.ports.management) : async (): Promise<void> => undefined;
  // Ctrl-C: take the broker, the sentinel and the data directory along
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true;
      broker.child.kill('SIGKILL');
      sentinel.child.kill('SIGKILL');
      rmSync(broker.dataDir, { recursive: true, force: true });
      console.log(`\ninterrupted (${signal}) after ${stats.inputs} AMQP inputs and ${stats.http} HTTP requests; failures so far: ${failureKinds.format()}`);
      process.exit(130);
    });
  }

  let lastInputs = 0;
  let lastHttp = 0;
  let lastAt = Date.now();
  const progress = setInterval(() => {
    const rss = rssOf(broker.child.pid);
    stats.peakRss = Math.max(stats.peakRss, rss);
    const now = Date.now();
    const secs = (now - lastAt) / 1000;
    const sorted = stats.sentinelSamples.slice(-2000).sort((a, b) => a - b);
    console.log(
      `[${Math.round((now - started) / 1000)}s] amqp ${stats.inputs.toLocaleString('en')}/${INPUTS.toLocaleString('en')} (${Math.round((stats.inputs - lastInputs) / secs)}/s) ` +
        `conns ${stats.connections.toLocaleString('en')} survived ${stats.survived.toLocaleString('en')} | http ${stats.http.toLocaleString('en')}/${HTTP_REQUESTS.toLocaleString('en')} (${Math.round((stats.http - lastHttp) / secs)}/s) 5xx ${stats.http5xx} | ` +
        `sentinel p50 ${percentile(sorted, 50).toFixed(1)} ms p99 ${percentile(sorted, 99).toFixed(1)} ms | rss ${(rss / 1048576).toFixed(0)} MB | janitor ${stats.janitorDeleted.toLocaleString('en')} | failures ${failureKinds.total()}`,
    );
    lastInputs = stats.inputs;
    lastHttp = stats.http;
    lastAt = now;
  }, PROGRESS_MS);

  const amqpTake = REPLAY !== null ? (() => {
    let i = 0;
    return (): number | null => (i < REPLAY.length ? REPLAY[i++]! : null);
  })() : (): number | null => (nextIteration < INPUTS ? nextIteration++ : null);
  let nextHttp = 0;
  const httpTake = REPLAY_HTTP !== null ? (() => {
    let i = 0;
    return (): number | null => (i < REPLAY_HTTP.length ? REPLAY_HTTP[i++]! : null);
  })() : (): number | null => (nextHttp < HTTP_REQUESTS ? nextHttp++ : null);
  const httpWorker = async (): Promise<void> => {
    for (;;) {
      const iteration = aborted ? null : httpTake();
      if (iteration === null) return;
      await httpIteration(broker.ports, sentinel.sinkPort, iteration);
    }
  };
  await Promise.all([
    ...Array.from({ length: REPLAY !== null ? 1 : INPUTS > 0 ? CONCURRENCY : 0 }, () => amqpWorker(broker.ports.amqp, amqpTake)),
    ...Array.from({ length: REPLAY_HTTP !== null ? 1 : HTTP_REQUESTS > 0 ? HTTP_CONCURRENCY : 0 }, httpWorker),
  ]);
  clearInterval(progress);
  await stopJanitor();
  const fuzzSeconds = (Date.now() - started) / 1000;

  await finalChecks(broker, 1);
  const rss = rssOf(broker.child.pid);
  stats.peakRss = Math.max(stats.peakRss, rss);
  const alive = broker.alive();
  await sentinel.stop();
  stopping = true;
  broker.child.kill('SIGTERM');
  const exit = await Promise.race([broker.exited, sleep(30_000).then(() => null)]);
  if (exit === null) {
    fail('shutdown', 'the broker did not exit within 30 s of SIGTERM');
    broker.child.kill('SIGKILL');
  } else if (alive && exit.code !== 0) fail('shutdown', `the broker exited with code ${exit.code} (signal ${exit.signal}) on SIGTERM`);
  rmSync(broker.dataDir, { recursive: true, force: true });

  const sorted = stats.sentinelSamples.slice().sort((a, b) => a - b);
  const duration = (Date.now() - started) / 1000;
  const out = [
    '',
    '==== fuzz campaign summary ====',
    `seed                 ${SEED}`,
    `amqp inputs          ${stats.inputs.toLocaleString('en')} (${stats.inputsByMode.format()})`,
    `amqp connections     ${stats.connections.toLocaleString('en')} (inputs survived on a live connection: ${stats.survived.toLocaleString('en')}; retired with FILLER: ${stats.retired.toLocaleString('en')})`,
    `connection.close     ${stats.connectionClose.format(true)}`,
    `channel.close        ${stats.channelClose.format(true)}`,
    `drops                ${stats.drops.toLocaleString('en')} (socket closed without connection.close); protocol-header answers ${stats.headerReplies.toLocaleString('en')}; client connection.close honoured ${stats.clientClosed.toLocaleString('en')}`,
    `server frames        ${stats.serverFrames.toLocaleString('en')} parsed`,
    `hangs                ${stats.hangs}`,
    `half frames          ${stats.halfFrames} (partial frames at a TCP reset, not counted: ${stats.resetPartials})`,
    `non-spec codes       ${stats.nonSpecCodes}`,
    `internal errors      ${stats.internalErrors}`,
    `http requests        ${stats.http.toLocaleString('en')}; answers by status: ${stats.httpByStatus.format(true)}`,
    `http outcomes        ${stats.httpOutcomes.format()}`,
    `http 5xx             ${stats.http5xx}; http hangs ${stats.httpHangs}; deliveries received by the sink ${stats.sinkDeliveries.toLocaleString('en')}`,
    `sentinel             ${sorted.length.toLocaleString('en')} round trips, p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)} ms; errors ${stats.sentinelErrors.length}, stalls over ${SENTINEL_MAX_MS} ms ${stats.sentinelStalls}`,
    `broker log (warn+)   ${stats.brokerWarnings.format()}`,
    `janitor              ${JANITOR ? `${stats.janitorSweeps} sweeps, ${stats.janitorDeleted.toLocaleString('en')} leftover exchanges deleted, ${stats.janitorErrors} errors` : 'off'}; exchanges at end ${stats.exchangesAtEnd.toLocaleString('en')}`,
    `broker rss           ${(rss / 1048576).toFixed(0)} MB at end (peak sampled ${(stats.peakRss / 1048576).toFixed(0)} MB)`,
    `broker alive         ${alive ? 'yes' : 'no'}`,
    `duration             ${duration.toFixed(0)} s (fuzzing ${fuzzSeconds.toFixed(0)} s, ${Math.round(stats.inputs / fuzzSeconds).toLocaleString('en')} AMQP inputs/s)`,
  ];
  console.log(out.join('\n'));
  const total = failureKinds.total();
  if (total > 0) {
    console.log(`\nfailures by kind: ${failureKinds.format()}`);
    console.log(`first ${failures.length} failure(s) (reproduce an AMQP one with --seed ${SEED} --replay <connection history>, an HTTP one with --seed ${SEED} --replay-http <iteration>):`);
    for (const f of failures) console.log(`- [${f.kind}] ${f.text}`);
  }
  console.log(`RESULT failures=${total}`);
  process.exit(total > 0 ? 1 : 0);
}

if (argv[0] === '--sentinel-child') {
  sentinelChild(argv[1]!).catch((error: unknown) => {
    process.send?.({ type: 'error', message: `sentinel failed: ${(error as Error)?.stack ?? String(error)}` });
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    console.log('RESULT failures=1');
    process.exit(1);
  });
}
