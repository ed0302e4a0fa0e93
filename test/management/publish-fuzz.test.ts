/**
 * `POST /api/exchanges/:vhost/amq.default/publish` with whatever `properties` a client may send.
 * The broker runs as a child process, so a crash is a process exit, not a test runner failure.
 * Every answer is 200 or 400 (RabbitMQ's JSON error, naming the property); every message answered
 * 200 is then consumed by amqplib without a channel closing, and the persistent ones come back
 * after a SIGTERM restart and after a kill -9.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { freePort } from '../support/app-harness';
import { Prng } from '../support/amqp-wire';
import { BrokerProcess, startBrokerProcess } from '../support/broker-process';
import { tempDir } from '../support/temp-dir';

const SEED = 0x9b1f2e77;
const CASES = 1500; // each posted twice (persistent and transient): 3,000 requests, plus the table
const CONCURRENCY = 8;
const QUEUE = 'fuzz';
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

interface Answer {
  status: number;
  body: { error?: string; reason?: string; routed?: boolean };
}

class Broker {
  proc!: BrokerProcess;
  readonly dir = tempDir();
  env!: Record<string, string>;

  async start(): Promise<void> {
    this.env ??= {
      DATA_DIR: this.dir.path,
      AMQP_PORT: String(await freePort()),
      MANAGEMENT_PORT: String(await freePort()),
      JOBS_PORT: String(await freePort()),
      DISPATCH_PORT: String(await freePort()),
      BIND_HOST: '127.0.0.1',
      STORE_SYNC: 'normal',
    };
    this.proc = await startBrokerProcess(this.env);
  }

  get alive(): boolean {
    return this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  get amqpUrl(): string {
    return `amqp://guest:guest@127.0.0.1:${this.env.AMQP_PORT}`;
  }

  async request(method: string, path: string, text?: string): Promise<Answer> {
    const response = await fetch(`http://127.0.0.1:${this.env.MANAGEMENT_PORT}${path}`, {
      method,
      headers: { authorization: AUTH, ...(text === undefined ? {} : { 'content-type': 'application/json' }) },
      body: text,
    });
    const raw = await response.text();
    let body: Answer['body'] = {};
    try {
      body = raw === '' ? {} : (JSON.parse(raw) as Answer['body']);
    } catch {
      body = { reason: `not JSON: ${raw.slice(0, 100)}` };
    }
    return { status: response.status, body };
  }

  /** Publishes with `properties` given as JSON text (so it can hold what JSON.stringify never writes, like 1e400). */
  publish(payload: string, propertiesJson: string): Promise<Answer> {
    const text = `{"routing_key":${JSON.stringify(QUEUE)},"payload":${JSON.stringify(payload)},"payload_encoding":"string","properties":${propertiesJson}}`;
    return this.request('POST', '/api/exchanges/%2F/amq.default/publish', text);
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<number | null> {
    const exited = this.proc.exited;
    this.proc.child.kill(signal);
    return exited;
  }
}

/** Consumes everything in the queue with amqplib (no ack), then closes: the messages stay. Fails on any channel or connection error. */
async function consumeAll(url: string, expected: number): Promise<Map<string, amqp.MessageProperties>> {
  // `expected`: how many must arrive at least (messages that may expire need not)
  const connection = await amqp.connect(url);
  const errors: string[] = [];
  connection.on('error', (error: Error) => errors.push(`connection: ${error.message}`));
  const channel = await connection.createChannel();
  let closed = false;
  channel.on('error', (error: Error) => errors.push(`channel: ${error.message}`));
  channel.on('close', () => (closed = true));
  await channel.prefetch(0);
  const seen = new Map<string, amqp.MessageProperties>();
  await channel.consume(QUEUE, (message) => {
    if (message !== null) seen.set(message.content.toString(), message.properties);
  });
  const deadline = Date.now() + 20_000;
  while (seen.size < expected && errors.length === 0 && !closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200)); // anything beyond what was expected arrives too
  assert.deepEqual(errors, [], 'no channel or connection error while consuming');
  assert.equal(closed, false, 'the channel stayed open');
  await connection.close();
  return seen;
}

// ---- random properties ---------------------------------------------------------------------------

const NAMES = ['content_type', 'content_encoding', 'headers', 'delivery_mode', 'priority', 'correlation_id', 'reply_to', 'expiration', 'message_id', 'timestamp', 'type', 'user_id', 'app_id', 'cluster_id'];
const ODD_NAMES = ['Priority', 'deliveryMode', 'foo', '', '__proto__', 'constructor', 'headers ', 'x-'.repeat(100)];

/** JSON text of a random value; `depth` bounds nesting. Raw text, so numbers like 1e400 and -0 appear as written. */
class JsonMaker {
  constructor(private readonly rng: Prng) {}

  string(): string {
    const r = this.rng;
    const n = r.chance(0.75) ? r.int(0, 30) : r.pick([0, 1, 85, 86, 200, 255, 256, 300, 1000, r.int(0, 400)]);
    const kind = r.int(0, 5);
    let s = '';
    for (let i = 0; i < n; i++) {
      if (kind === 0) s += String.fromCharCode(r.int(0x20, 0x7e));
      else if (kind === 1) s += String.fromCharCode(r.int(0xa0, 0x2fff));
      else if (kind === 2) s += r.chance(0.5) ? '\u{1f4a9}' : 'x';
      else if (kind === 3) s += r.pick(['\u0000', '\n', '"', '\\', '\u2028', 'é']);
      else if (kind === 4) s += String.fromCharCode(r.int(0, 0xffff));
      else s += String(r.int(0, 9));
    }
    return JSON.stringify(s);
  }

  number(): string {
    const r = this.rng;
    return r.pick([
      '0', '-0', '1', '2', '-1', '1.5', '255', '256', '300', '-129', '65536', '2147483648', '4294967296', '9007199254740993', '9223372036854775807',
      '9223372036854775808', '-9223372036854775809', '18446744073709551615', '18446744073709551616', '1e308', '1e400', '-1e400', '1e-400', '0.1',
      '123456789012345678901234567890', String(r.int(-1000, 1000)), String(r.next() * 1e6), String(r.int(0, 2 ** 31)),
    ]);
  }

  scalar(): string {
    const r = this.rng;
    switch (r.int(0, 6)) {
      case 0:
      case 1:
        return this.string();
      case 2:
      case 3:
        return this.number();
      case 4:
        return r.pick(['true', 'false']);
      case 5:
        return 'null';
      default:
        // big integers and numbers as strings
        return JSON.stringify(r.pick(['18446744073709551616', '300', '2', '-1', '1e400', 'NaN']));
    }
  }

  value(depth: number): string {
    const r = this.rng;
    if (depth <= 0 || r.chance(0.55)) return this.scalar();
    if (r.chance(0.4)) return `[${Array.from({ length: r.int(0, 4) }, () => this.value(depth - 1)).join(',')}]`;
    return this.object(depth - 1);
  }

  key(): string {
    const r = this.rng;
    if (r.chance(0.05)) return JSON.stringify('k'.repeat(r.pick([255, 256, 300])));
    if (r.chance(0.03)) return JSON.stringify(r.pick(['__proto__', 'constructor', '', 'x-death', 'x-delay', 'CC', 'BCC']));
    return this.string().length < 40 ? this.string() : JSON.stringify(`h${r.int(0, 99)}`);
  }

  object(depth: number): string {
    const entries = Array.from({ length: this.rng.int(0, 4) }, () => `${this.key()}:${this.value(depth)}`);
    return `{${entries.join(',')}}`;
  }

  /** A chain of objects and arrays `levels` deep around a scalar. */
  nested(levels: number): string {
    let inner = this.scalar() === 'null' ? '1' : '"deep"';
    for (let i = 1; i < levels; i++) inner = this.rng.chance(0.2) ? `[${inner}]` : `{"n":${inner}}`;
    return `{"n":${inner}}`;
  }

  headers(): string {
    const r = this.rng;
    const choice = r.int(0, 9);
    if (choice === 0) return this.nested(r.int(95, 105));
    if (choice === 1) return this.scalar();
    if (choice === 2) return `[${this.value(2)}]`;
    if (choice === 3) return `{"big":${JSON.stringify('b'.repeat(r.pick([1000, 130_000, 140_000])))}}`;
    return this.object(r.int(0, 5));
  }

  properties(): string {
    const r = this.rng;
    if (r.chance(0.02)) return r.pick(['null', '[]', '"x"', '5', 'true', '[{"priority":1}]']);
    const entries: string[] = [];
    for (const name of NAMES) {
      if (!r.chance(name === 'headers' ? 0.5 : 0.2)) continue;
      let value: string;
      if (name === 'headers') value = this.headers();
      else if (name === 'expiration') value = r.chance(0.5) ? this.scalar() : JSON.stringify(r.pick(['0', '10', '-5', 'abc', '3600000', '9999999999999999999']));
      else if (name === 'delivery_mode') value = r.chance(0.85) ? r.pick(['1', '2']) : this.number();
      else if (name === 'priority' || name === 'timestamp') value = r.chance(0.5) ? String(r.int(0, 255)) : r.chance(0.8) ? this.number() : this.value(1);
      else value = r.chance(0.9) ? this.string() : this.value(1);
      entries.push(`${JSON.stringify(name)}:${value}`);
    }
    if (r.chance(0.1)) entries.push(`${JSON.stringify(r.pick(ODD_NAMES))}:${this.value(1)}`);
    return `{${entries.join(',')}}`;
  }
}

/** The same properties with delivery_mode set (last key wins in JSON.parse). */
const withDeliveryMode = (properties: string, mode: number): string =>
  properties.startsWith('{') ? `${properties.slice(0, -1)}${properties.length > 2 ? ',' : ''}"delivery_mode":${mode}}` : properties;

// ---- the tests -----------------------------------------------------------------------------------

describe('management publish: any properties', () => {
  const broker = new Broker();
  /** Payload of every message answered 200 → persistent or not, and whether it may expire. */
  const accepted = new Map<string, { persistent: boolean; mayExpire: boolean }>();

  before(async () => {
    await broker.start();
    const declared = await broker.request('PUT', `/api/queues/%2F/${QUEUE}`, '{"durable":true}');
    assert.equal(declared.status, 201);
  });

  after(async () => {
    if (broker.alive) await broker.stop('SIGTERM');
    broker.dir.cleanup();
  });

  it('refuses what AMQP cannot carry with a 400 naming the property, as RabbitMQ words it', async () => {
    const refused: [string, RegExp][] = [
      ['{"priority":300}', /^out_of_range: property priority must be from 0 to 255, got 300$/],
      ['{"priority":1.5}', /^not_int: property priority must be an integer$/],
      ['{"priority":"5"}', /^not_int: property priority/],
      ['{"delivery_mode":3}', /^delivery_mode_unknown: property delivery_mode must be 1 \(transient\) or 2 \(persistent\), got 3$/],
      ['{"timestamp":-1}', /^out_of_range: property timestamp must be seconds from 0 to 2\^64-1, got -1$/],
      ['{"timestamp":1.5}', /^not_int: property timestamp/],
      ['{"timestamp":18446744073709551616}', /^out_of_range: property timestamp/],
      [`{"message_id":"${'m'.repeat(300)}"}`, /^too_long: property message_id must be at most 255 bytes of UTF-8, got 300$/],
      [`{"app_id":"${'é'.repeat(128)}"}`, /^too_long: property app_id must be at most 255 bytes of UTF-8, got 256$/],
      ['{"content_type":5}', /^not_string: property content_type must be a string$/],
      ['{"content_type":null}', /^not_string: property content_type/],
      ['{"headers":null}', /^not_table: property headers must be a JSON object/],
      ['{"headers":[1,2]}', /^not_table: property headers/],
      ['{"headers":"x"}', /^not_table: property headers/],
      ['{"headers":{"a":{"b":[1,null]}}}', /^null_not_allowed: property headers\.a\.b\[1\] is null/],
      ['{"headers":{"a":1e400}}', /^not_json: property headers\.a is not a finite number$/],
      [`{"headers":{"${'k'.repeat(256)}":1}}`, /^too_long: property headers has a name of 256 bytes, more than 255$/],
      [`{"headers":${new JsonMaker(new Prng(1)).nested(101)}}`, /^too_deep: property headers\..*nests tables and arrays deeper than 100 levels$/],
      [`{"headers":{"big":"${'b'.repeat(140_000)}"}}`, /^too_large: the properties take 1400\d\d bytes encoded, more than the 131052 allowed$/],
      ['{"expiration":"abc"}', /^invalid expiration 'abc'/],
      ['null', /properties must be an object/],
    ];
    for (const [properties, reason] of refused) {
      for (const text of properties.includes('delivery_mode') ? [properties] : [withDeliveryMode(properties, 1), withDeliveryMode(properties, 2)]) {
        const answer = await broker.publish('refused', text);
        assert.equal(answer.status, 400, `${text.slice(0, 80)}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.error, 'bad_request');
        assert.match(answer.body.reason ?? '', reason, properties.slice(0, 80));
      }
    }
    // what RabbitMQ takes, we take: unknown (and differently cased) names are ignored
    const fine = [
      '{}',
      '{"Priority":300,"foo":{"bar":null}}',
      '{"priority":0,"timestamp":0,"cluster_id":"c","headers":{}}',
      '{"priority":255,"timestamp":18446744073709549568,"message_id":"' + 'm'.repeat(255) + '"}',
      `{"headers":${new JsonMaker(new Prng(2)).nested(100)}}`,
      '{"headers":{"s":"x","i":-9223372036854775808,"d":1.5,"b":true,"t":{"a":[1,"two",[3]]},"big":1e300}}',
    ];
    for (const properties of fine) {
      for (const mode of [1, 2]) {
        const payload = `fine-${accepted.size}`;
        const answer = await broker.publish(payload, withDeliveryMode(properties, mode));
        assert.equal(answer.status, 200, `${properties.slice(0, 80)}: ${JSON.stringify(answer.body)}`);
        accepted.set(payload, { persistent: mode === 2, mayExpire: false });
      }
    }
    assert.ok(broker.alive);
  });

  it(`answers ${CASES * 2} random property sets with 200 or 400, never 500 and never a dropped connection`, async (t) => {
    const rng = new Prng(SEED);
    const make = new JsonMaker(rng);
    const statuses = new Map<number, number>();
    const reasons = new Map<string, number>();
    const jobs: (() => Promise<void>)[] = [];
    for (let i = 0; i < CASES; i++) {
      const properties = make.properties();
      // most cases are sent as a persistent and as a transient message; some keep their own delivery_mode
      const variants = rng.chance(0.1) ? [[properties, 'own']] : [[withDeliveryMode(properties, 2), 'p'], [withDeliveryMode(properties, 1), 't']];
      for (const [text, variant] of variants) {
        const payload = `case-${i}-${variant}`;
        jobs.push(async () => {
          let answer: Answer;
          try {
            answer = await broker.publish(payload, text!);
          } catch (error) {
            assert.fail(`case ${i} (${variant}): the connection dropped (${String(error)}); broker ${broker.alive ? 'alive' : 'DEAD'}; properties ${text!.slice(0, 300)}`);
          }
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          assert.ok(answer.status === 200 || answer.status === 400, `case ${i} (${variant}): ${answer.status} ${JSON.stringify(answer.body)} for ${text!.slice(0, 300)}`);
          if (answer.status === 400) {
            assert.equal(answer.body.error, 'bad_request');
            const atom = (answer.body.reason ?? '').split(':')[0]!;
            reasons.set(atom, (reasons.get(atom) ?? 0) + 1);
            return;
          }
          const parsed = JSON.parse(text!) as Record<string, unknown>;
          accepted.set(payload, { persistent: parsed.delivery_mode === 2, mayExpire: parsed.expiration !== undefined });
        });
      }
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < jobs.length) await jobs[next++]!();
      }),
    );
    assert.ok(broker.alive, 'the broker process is alive');
    t.diagnostic(`statuses ${JSON.stringify([...statuses])}; 400 reasons ${JSON.stringify([...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12))}`);
    assert.ok((statuses.get(200) ?? 0) > CASES / 4 && (statuses.get(400) ?? 0) > CASES / 4, 'both answers are exercised');
  });

  it('every accepted message is consumed by amqplib without a channel closing, and listed by the management API', async () => {
    const expected = [...accepted].filter(([, a]) => !a.mayExpire).map(([payload]) => payload);
    const seen = await consumeAll(broker.amqpUrl, expected.length);
    const missing = expected.filter((payload) => !seen.has(payload));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} accepted messages not delivered`);
    assert.ok([...seen.keys()].every((payload) => accepted.has(payload)), 'nothing refused was queued');
    const listed = await broker.request('POST', `/api/queues/%2F/${QUEUE}/get`, '{"count":10000,"ackmode":"ack_requeue_true","encoding":"auto"}');
    assert.equal(listed.status, 200, JSON.stringify(listed.body).slice(0, 300));
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`after a restart (${signal}) every accepted persistent message is back and consumable; transient ones are gone`, async () => {
      const code = await broker.stop(signal);
      if (signal === 'SIGTERM') assert.equal(code, 0, 'a clean shutdown');
      await broker.start();
      const persistent = [...accepted].filter(([, a]) => a.persistent && !a.mayExpire).map(([payload]) => payload);
      const seen = await consumeAll(broker.amqpUrl, persistent.length);
      const missing = persistent.filter((payload) => !seen.has(payload));
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${persistent.length} persistent messages lost`);
      const transient = [...seen.keys()].filter((payload) => accepted.get(payload)?.persistent === false);
      assert.deepEqual(transient.slice(0, 10), [], 'transient messages do not survive a restart');
      assert.ok(broker.alive);
    });
  }
});
