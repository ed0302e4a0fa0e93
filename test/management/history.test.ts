/**
 * History on the server: the management layer keeps 5 s samples in bounded rings and answers
 * RabbitMQ's `lengths_age`/`lengths_incr`/`msg_rates_age`/`msg_rates_incr` with `*_details.samples`
 * (newest first, timestamps in ms since the epoch) on /api/overview and /api/queues/{vhost}/{name}.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagementService } from '#management';
import { startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';
import { SampleRing } from '../../libs/management/src/rates/sample-ring';
import { WATCHED_QUEUES_MAX } from '../../libs/management/src/rates/rate-sampler';

interface Details {
  rate: number;
  samples?: { sample: number; timestamp: number }[];
  avg?: number;
  avg_rate?: number;
}

describe('SampleRing', () => {
  it('keeps at most its capacity, newest first, thinned to one per step, nothing before `since`', () => {
    const ring = new SampleRing(4, ['n']);
    for (let i = 1; i <= 6; i++) ring.push(i * 5000, { n: i * 10 });
    assert.equal(ring.length, 4);
    assert.deepEqual(ring.samples('n', 0, 5000, 2500), [
      { sample: 60, timestamp: 30000 },
      { sample: 50, timestamp: 25000 },
      { sample: 40, timestamp: 20000 },
      { sample: 30, timestamp: 15000 },
    ]);
    assert.deepEqual(
      ring.samples('n', 0, 10000, 2500).map((s) => s.timestamp),
      [30000, 20000],
    );
    assert.deepEqual(
      ring.samples('n', 20000, 5000, 2500).map((s) => s.timestamp),
      [30000, 25000],
    );
    assert.deepEqual(ring.samples('unknown', 0, 5000, 2500), []);
  });

  it('a pause in sampling stays a gap (no samples made up); a sample from a clock stepped back is dropped', () => {
    const ring = new SampleRing(10, ['n']);
    for (const at of [5000, 10000, 40000, 45000]) ring.push(at, { n: at });
    ring.push(42000, { n: 0 });
    assert.deepEqual(
      ring.samples('n', 0, 5000, 2500).map((s) => s.timestamp),
      [45000, 40000, 10000, 5000],
    );
  });
});

describe('history over the API', () => {
  let app: TestApp;
  let api: ManagementClient;
  let service: ManagementService;
  const publish = async (vhost: string, queue: string, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await api.post(`/api/exchanges/${encodeURIComponent(vhost)}/amq.default/publish`, { routing_key: queue, payload: 'x', payload_encoding: 'string', properties: {} });
  };
  /** The sampler's clock in these tests: samples taken by hand, 5 s apart (the timer is stopped). */
  let clock = 0;
  const tick = (): number => {
    clock += 5000;
    service.sampler.sample(clock);
    return clock;
  };

  before(async () => {
    app = await startTestApp();
    api = new ManagementClient(app.managementUrl);
    service = app.running.app.get(ManagementService);
    service.sampler.stop();
    clock = Date.now();
    await api.put('/api/vhosts/other', {});
    await api.put('/api/queues/%2F/hist-q', { durable: true });
    await api.put('/api/queues/other/other-q', { durable: true });
    await api.put('/api/users/mgmt', { password: 'mgmt-pw', tags: 'management' });
    await api.put('/api/permissions/%2F/mgmt', { configure: '.*', write: '.*', read: '.*' });
  });

  after(async () => {
    await app?.close();
  });

  it('the overview carries samples of the counters and the depths, in ms, newest first', async () => {
    const first = tick();
    await publish('/', 'hist-q', 2);
    const second = tick();
    await publish('other', 'other-q', 3);
    const third = tick();
    const o = await api.get<{ message_stats: Record<string, Details>; queue_totals: Record<string, Details> }>('/api/overview?lengths_age=60&lengths_incr=5&msg_rates_age=60&msg_rates_incr=5');
    const publishes = o.message_stats.publish_details!.samples!;
    const mine = (samples: { timestamp: number; sample: number }[]) => samples.filter((s) => [first, second, third].includes(s.timestamp));
    assert.deepEqual(
      mine(publishes).map((s) => s.timestamp),
      [third, second, first],
    );
    const [t3, t2, t1] = mine(publishes).map((s) => s.sample);
    assert.equal(t2! - t1!, 2);
    assert.equal(t3! - t2!, 3);
    assert.ok(publishes.every((s) => s.timestamp > 1.6e12 && s.timestamp < Date.now() + 60_000), 'timestamps are ms since the epoch, not seconds');
    assert.deepEqual(
      mine(o.queue_totals.messages_ready_details!.samples!).map((s) => s.sample),
      [5, 2, 0],
    );
    assert.equal(typeof o.message_stats.publish_details!.avg_rate, 'number');
    // without the parameters: RabbitMQ's plain answer
    const plain = await api.get<{ message_stats: Record<string, Details> }>('/api/overview');
    assert.equal(plain.message_stats.publish_details!.samples, undefined);
  });

  it('a user who sees some vhosts gets the depths of theirs', async () => {
    const o = await api.as('mgmt', 'mgmt-pw').get<{ queue_totals: Record<string, Details> }>('/api/overview?lengths_age=60&lengths_incr=5');
    const newest = o.queue_totals.messages_ready_details!.samples![0]!;
    assert.equal(newest.sample, 2, "only '/': other's 3 messages are not counted");
  });

  it('a queue keeps its history from the first time its samples are asked for', async () => {
    const path = '/api/queues/%2F/hist-q?lengths_age=600&lengths_incr=5&msg_rates_age=600&msg_rates_incr=5';
    const before = await api.get<{ messages_ready_details: Details }>(path);
    assert.deepEqual(before.messages_ready_details.samples, [], 'not watched before');
    const a = tick();
    await publish('/', 'hist-q', 4);
    const b = tick();
    const q = await api.get<{ messages_ready_details: Details; message_stats: Record<string, Details> }>(path);
    const ready = q.messages_ready_details.samples!.filter((s) => [a, b].includes(s.timestamp));
    assert.deepEqual(ready, [
      { sample: 6, timestamp: b },
      { sample: 2, timestamp: a },
    ]);
    const published = q.message_stats.publish_details!.samples!.filter((s) => [a, b].includes(s.timestamp));
    assert.equal(published[0]!.sample - published[1]!.sample, 4);
  });

  it('keeps the history of at most WATCHED_QUEUES_MAX queues, and none of queues that are gone', () => {
    const window = { age: 60_000, incr: 5000 };
    for (let i = 0; i <= WATCHED_QUEUES_MAX; i++) service.sampler.queueSamples('/', `asked-${i}`, 'messages', window, clock);
    assert.equal(service.sampler.watchedQueues, WATCHED_QUEUES_MAX);
    // none of the asked-* queues exist: the next sample drops them
    tick();
    assert.equal(service.sampler.watchedQueues, 0);
  });

  it('refuses parameters that are not whole seconds', async () => {
    const answer = await api.request('GET', '/api/overview?lengths_age=soon&lengths_incr=5');
    assert.equal(answer.status, 400);
    assert.match(answer.text, /lengths_age must be a positive whole number of seconds/);
    assert.equal((await api.request('GET', '/api/queues/%2F/hist-q?msg_rates_age=60')).status, 400, 'an age without its incr');
  });
});
