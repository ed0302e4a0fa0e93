/**
 * The overview's message figures on a cluster are the cluster's, as RabbitMQ's are: a node shows
 * what every node published and delivered (the others' counters arrive with their heartbeats),
 * with rates, and its totals never fall when another node restarts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../support/app-harness';
import { startNode, TestNode } from '../support/cluster-nodes';
import { JobsClient } from '../support/jobs-client';
import { PrivatePostgres, postgresMissing, startPostgres } from '../support/postgres-server';

interface Overview {
  node: string;
  message_stats: Record<string, number | { rate: number }>;
}

describe('overview message figures across cluster nodes', { skip: postgresMissing }, () => {
  let server: PrivatePostgres;
  let a: TestNode;
  let b: TestNode | undefined;
  const clients: JobsClient[] = [];

  const jobsOf = (node: TestNode): JobsClient => {
    const client = new JobsClient(`http://127.0.0.1:${node.app.running.ports.jobs}`);
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await startPostgres();
    a = await startNode(server.url, 'stats-a');
    b = await startNode(server.url, 'stats-b');
  });

  after(async () => {
    for (const client of clients) client.close();
    await Promise.all([a, b].map((node) => node?.app.close()));
    await server?.stop();
  });

  const countOf = (overview: Overview, name: string): number => {
    const value = overview.message_stats[name];
    assert.equal(typeof value, 'number', `message_stats.${name} is a count`);
    return value as number;
  };
  const rateOf = (overview: Overview, name: string): number => (overview.message_stats[`${name}_details`] as { rate: number }).rate;

  /** Polls node's overview until `done` holds (samples are taken every 5 s), checking that publish never falls. */
  const waitForOverview = async (node: TestNode, done: (o: Overview) => boolean, floor: { publish: number }): Promise<Overview> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const overview = await node.api.get<Overview>('/api/overview');
      const published = countOf(overview, 'publish');
      assert.ok(published >= floor.publish, `the cluster's publish count fell from ${floor.publish} to ${published}`);
      floor.publish = published;
      if (done(overview)) return overview;
      if (Date.now() > deadline) assert.fail(`overview of ${node.name} never got there: ${JSON.stringify(overview.message_stats)}`);
      await sleep(250);
    }
  };

  it('a node shows what another node published and delivered, with a rate', async () => {
    const floor = { publish: 0 };
    const before = await a.api.get<Overview>('/api/overview');
    assert.equal(before.node, 'stats-a');
    const start = countOf(before, 'publish');
    const onB = jobsOf(b!);
    for (let i = 0; i < 30; i++) assert.equal((await onB.schedule(`job ${i}`, { lane: 'counted' })).json.status, 'ok');
    for (let i = 0; i < 10; i++) assert.equal((await onB.send('/receive_noblock', { lane: 'counted' })).json.status, 'ok');
    // nothing of it happened on A: its own counters stay where they were
    assert.equal(a.app.broker.metrics.snapshot().published, 0);
    const seen = await waitForOverview(a, (o) => countOf(o, 'publish') >= start + 30 && countOf(o, 'deliver_get') >= 10 && rateOf(o, 'publish') > 0, floor);
    assert.ok(rateOf(seen, 'publish') > 0);
    // and B shows the same cluster-wide counts (its own now, A's from A's heartbeats)
    const onBView = await waitForOverview(b!, (o) => countOf(o, 'publish') >= 30, { publish: 0 });
    assert.ok(countOf(onBView, 'publish') >= 30);
  });

  it("another node's restart does not make the cluster's counts fall; its new counts add up", async () => {
    const floor = { publish: 0 };
    const first = await waitForOverview(a, () => true, floor);
    const had = countOf(first, 'publish');
    await b!.app.close();
    b = await startNode(server.url, 'stats-b');
    const onB = jobsOf(b);
    for (let i = 0; i < 5; i++) assert.equal((await onB.schedule(`again ${i}`, { lane: 'counted' })).json.status, 'ok');
    const later = await waitForOverview(a, (o) => countOf(o, 'publish') >= had + 5, floor);
    assert.ok(countOf(later, 'publish') >= had + 5);
  });
});
