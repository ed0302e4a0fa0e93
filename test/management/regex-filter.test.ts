/**
 * Regular expressions from users run in linear time (RE2), over real HTTP: the list filter
 * `use_regex=true&name=(a+)+$` against a long name answers at once and the event loop keeps
 * serving others; invalid or unsupported patterns are a 400 with the reason; policy and
 * permission patterns take the same engine (a policymaker's catastrophic pattern cannot stall a
 * queue declaration), and RabbitMQ's `^(?!amq\.).*` still works.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';

/** 30 a's and a mismatch: a backtracking engine tries ~2^30 ways of splitting them for `(a+)+$`. */
const EVIL_NAME = `${'a'.repeat(30)}!`;

let app: TestApp;
let api: ManagementClient;
let connection: amqp.ChannelModel;
/** A server-named queue (amq.gen-…): names starting with amq. are the broker's to give. */
let serverNamed: string;

before(async () => {
  app = await startTestApp();
  api = new ManagementClient(app.managementUrl);
  for (const name of [EVIL_NAME, 'orders']) assert.equal((await api.put(`/api/queues/%2F/${encodeURIComponent(name)}`, { durable: false })).status, 201);
  connection = await amqp.connect(app.amqpUrl);
  serverNamed = (await (await connection.createChannel()).assertQueue('', { exclusive: true })).queue;
});

after(async () => {
  await connection?.close();
  await app?.close();
});

/** Milliseconds /healthz takes, asked while `work` runs (the event loop must stay free). */
async function healthzDuring<T>(work: Promise<T>): Promise<{ result: T; healthzMs: number; workMs: number }> {
  const started = performance.now();
  let workMs = 0;
  const timed = work.then((result) => {
    workMs = performance.now() - started;
    return result;
  });
  await new Promise((resolve) => setTimeout(resolve, 5));
  const asked = performance.now();
  await fetch(`${app.managementUrl}/healthz`);
  const healthzMs = performance.now() - asked;
  return { result: await timed, healthzMs, workMs };
}

describe('list filters', () => {
  it('^(a+)+$ against a long name answers at once, and /healthz is not held up', async () => {
    const plain = performance.now();
    await api.get('/api/queues');
    const listMs = performance.now() - plain;
    const { result, healthzMs, workMs } = await healthzDuring(api.request('GET', '/api/queues?use_regex=true&name=%5E(a%2B)%2B%24'));
    assert.equal(result.status, 200, result.text);
    assert.deepEqual(result.json, []);
    // a backtracking engine needs seconds (doubling per character) for this; RE2 a few ms
    assert.ok(workMs < 1000 + 10 * listMs, `filter took ${workMs.toFixed(0)} ms (a plain list ${listMs.toFixed(0)} ms)`);
    assert.ok(healthzMs < 1000, `/healthz took ${healthzMs.toFixed(0)} ms`);
  });

  it('regexes still filter, case-insensitively, and lookahead at the start works as in RabbitMQ', async () => {
    const names = async (query: string): Promise<string[]> => (await api.get<{ name: string }[]>(`/api/queues?use_regex=true&name=${encodeURIComponent(query)}`)).map((q) => q.name).sort();
    assert.deepEqual(await names('^ORD'), ['orders']);
    assert.deepEqual(await names('^a+!$'), [EVIL_NAME]);
    const all = (await api.get<{ name: string }[]>('/api/queues')).map((q) => q.name);
    assert.ok(all.includes(serverNamed));
    assert.deepEqual(await names('^(?!amq\\.).*'), all.filter((name) => !name.startsWith('amq.')).sort());
    assert.deepEqual((await api.get<{ name: string }[]>('/api/queues?name=ORDER')).map((q) => q.name), ['orders'], 'substring filter unchanged');
  });

  it('an invalid, unsupported or oversized pattern is a 400 with the reason', async () => {
    for (const [pattern, reason] of [
      ['(unclosed', /missing closing \)/],
      ['(a)\\1', /invalid escape sequence/],
      ['a(?<=b)', /invalid named capture/],
      ['(?!a)b', /unsupported Perl syntax/],
      ['x{0,1000}'.repeat(20), /too large/],
    ] as const) {
      const answer = await api.request('GET', `/api/queues?use_regex=true&name=${encodeURIComponent(pattern)}`);
      assert.equal(answer.status, 400, pattern);
      assert.equal((answer.json as { error: string }).error, 'bad_request');
      assert.match((answer.json as { reason: string }).reason, reason);
    }
  });
});

describe('policy and permission patterns', () => {
  it("a policymaker's (a+)+$ cannot stall declaring a queue with a long name", async () => {
    assert.equal((await api.put('/api/policies/%2F/evil', { pattern: '(a+)+$', definition: { 'max-length': 5 }, 'apply-to': 'queues' })).status, 201);
    const channel = await connection.createChannel();
    try {
      const { result, healthzMs, workMs } = await healthzDuring(channel.assertQueue(`${'a'.repeat(32)}!`, { durable: false }));
      assert.equal(result.queue, `${'a'.repeat(32)}!`);
      assert.ok(workMs < 1000, `declare took ${workMs.toFixed(0)} ms`);
      assert.ok(healthzMs < 1000, `/healthz took ${healthzMs.toFixed(0)} ms`);
      await channel.assertQueue('aaaa', { durable: false });
      const applied = await api.get('/api/queues/%2F/aaaa');
      assert.equal(applied.policy, 'evil', 'the policy still applies where it matches');
    } finally {
      await channel.close();
      await api.delete('/api/policies/%2F/evil');
    }
  });

  it('patterns RE2 cannot run are refused when set, with the reason', async () => {
    const policy = await api.put('/api/policies/%2F/backref', { pattern: '(a)\\1', definition: { 'max-length': 5 } });
    assert.equal(policy.status, 400);
    assert.match((policy.json as { reason: string }).reason, /not a valid regular expression.*invalid escape sequence/s);
    const permission = await api.put('/api/permissions/%2F/guest', { configure: '(?<=x)', write: '.*', read: '.*' });
    assert.equal(permission.status, 400);
    assert.match((permission.json as { reason: string }).reason, /configure is not a valid regular expression/);
    const usual = await api.put('/api/policies/%2F/not-amq', { pattern: '^(?!amq\\.).*', definition: { 'max-length': 7 }, 'apply-to': 'queues' });
    assert.equal(usual.status, 201, "RabbitMQ's usual pattern is taken");
    assert.equal((await api.get('/api/queues/%2F/orders')).policy, 'not-amq');
    assert.equal((await api.get(`/api/queues/%2F/${encodeURIComponent(serverNamed)}`)).policy ?? null, null);
    await api.delete('/api/policies/%2F/not-amq');
  });
});
