/**
 * Outbound deliveries on three nodes sharing one PostgreSQL (STORE=postgres): intake on any node,
 * each delivery sent once by one node, lookups, retries, dead letters, replay, cancel and
 * idempotency from any node, and an ordering key with one delivery out at a time across nodes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../support/app-harness';
import { startNode, TestNode } from '../support/cluster-nodes';
import { getJson, HttpSink, postJson, requestJson } from '../support/http-sink';
import { PrivatePostgres, postgresMissing, startPostgres } from '../support/postgres-server';

describe('deliveries across cluster nodes', { skip: postgresMissing }, () => {
  let server: PrivatePostgres;
  let nodes: TestNode[] = [];
  let sink: HttpSink;
  let urls: string[] = [];

  before(async () => {
    server = await startPostgres();
    sink = await HttpSink.start();
    // no node dies here: the default-like node timeout keeps a query slowed by a loaded machine
    // (3,000 deliveries on three nodes) from failing as a database outage (503) at half of 1.5 s
    const settings = { DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_RETRY_BASE_MS: '100', CLUSTER_NODE_TIMEOUT_MS: '10000' };
    nodes = [await startNode(server.url, 'send-a', settings)];
    nodes.push(...(await Promise.all(['send-b', 'send-c'].map((name) => startNode(server.url, name, settings)))));
    urls = nodes.map((node) => node.app.dispatchUrl);
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.app.close()));
    await sink?.close();
    await server?.stop();
  });

  const state = async (url: string, id: string): Promise<Record<string, unknown>> => (await getJson(`${url}/deliveries/${id}`)).json;

  const eventuallyState = async (url: string, id: string, wanted: string, timeoutMs = 8000): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = await state(url, id);
      if (seen.state === wanted) return seen;
      if (Date.now() > deadline) throw new Error(`${id} is ${String(seen.state)}, not ${wanted}`);
      await sleep(50);
    }
  };

  it('1,000 deliveries posted to each of three nodes reach the sink exactly once each', async () => {
    const perNode = 1000;
    const ids: string[] = [];
    const post = async (url: string, i: number): Promise<number> => {
      const id = randomUUID();
      ids.push(id);
      return (await postJson(`${url}/`, { UUID: id, Url: sink.url(`/bulk/${i}`), Method: 'POST', Body: id })).status;
    };
    const statuses: number[] = [];
    for (let i = 0; i < perNode; i += 50) {
      const batch = urls.flatMap((url, n) => Array.from({ length: Math.min(50, perNode - i) }, (_, j) => post(url, n * perNode + i + j)));
      statuses.push(...(await Promise.all(batch)));
    }
    assert.ok(statuses.every((status) => status === 202), `statuses: ${[...new Set(statuses)].join(',')}`);
    await sink.waitFor(() => sink.to('/bulk/').length >= 3 * perNode, 60_000, 'every delivery');
    await sleep(500);
    const bodies = sink.to('/bulk/').map((request) => request.body.toString('utf8'));
    assert.equal(bodies.length, 3 * perNode, 'no delivery twice');
    assert.deepEqual(new Set(bodies), new Set(ids));
    assert.ok(nodes.every((node) => node.app.broker.storeOpen), 'no node crashed');
    // finished on whichever node: shown as delivered by every node
    assert.equal((await state(urls[2]!, ids[0]!)).state, 'delivered');
  });

  it('the same UUID posted to every node at once is accepted once and delivered once', async () => {
    const id = randomUUID();
    const request = { UUID: id, Url: sink.url('/same'), Method: 'POST', Body: 'same' };
    const answers = await Promise.all(urls.flatMap((url) => [url, url].map((u) => postJson(`${u}/`, request))));
    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 202], answers.map((answer) => answer.text).join('\n'));
    await sink.waitFor(() => sink.to('/same').length === 1);
    await sleep(400);
    assert.equal(sink.to('/same').length, 1);
    const other = await postJson(`${urls[1]}/`, { ...request, Body: 'different' });
    assert.equal(other.status, 409);
  });

  it("a retry the destination asks for (Retry-After) is made, by any node, and every node shows the attempts", async () => {
    let calls = 0;
    sink.behaviour = (request) => {
      if (!request.url.startsWith('/retry')) return { status: 200 };
      calls++;
      return calls === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 };
    };
    const id = randomUUID();
    assert.equal((await postJson(`${urls[0]}/`, { UUID: id, Url: sink.url('/retry'), Method: 'POST', Body: 'x' })).status, 202);
    await sink.waitFor(() => sink.to('/retry').length === 1);
    const pending = await eventuallyState(urls[1]!, id, 'pending');
    assert.equal((pending.attempts as unknown[]).length, 1, 'the first attempt, seen from another node');
    const delivered = await eventuallyState(urls[2]!, id, 'delivered', 6000);
    assert.equal((delivered.attempts as unknown[]).length, 2);
    const [first, second] = sink.to('/retry');
    assert.ok(second!.at - first!.at >= 900, `retried after ${second!.at - first!.at} ms (Retry-After: 1)`);
    sink.behaviour = () => ({ status: 200, body: 'ok' });
  });

  it('a dead delivery is shown dead on every node, replayed through another, cancelled through a third', async () => {
    sink.behaviour = (request) => (request.url.startsWith('/gone') && !request.url.includes('again') ? { status: 404, body: 'no such hook' } : { status: 200 });
    const id = randomUUID();
    assert.equal((await postJson(`${urls[0]}/`, { UUID: id, Url: sink.url('/gone'), Method: 'POST', Body: 'x' })).status, 202);
    await eventuallyState(urls[1]!, id, 'dead');
    const listed = await getJson(`${urls[2]}/deliveries?state=dead`);
    assert.ok((listed.json.deliveries as { uuid: string }[]).some((d) => d.uuid === id), 'listed as dead on another node');
    sink.behaviour = () => ({ status: 200 });
    const replayed = await postJson(`${urls[2]}/deliveries/${id}/replay`, {});
    assert.equal(replayed.status, 200, replayed.text);
    await eventuallyState(urls[0]!, id, 'delivered');

    // a pending one (its next attempt far off) cancelled through another node is never sent
    sink.behaviour = (request) => (request.url.startsWith('/later') ? { status: 503, headers: { 'retry-after': '30' } } : { status: 200 });
    const later = randomUUID();
    assert.equal((await postJson(`${urls[1]}/`, { UUID: later, Url: sink.url('/later'), Method: 'POST', Body: 'x' })).status, 202);
    await sink.waitFor(() => sink.to('/later').length === 1);
    await eventuallyState(urls[0]!, later, 'pending');
    const cancelled = await requestJson(`${urls[2]}/deliveries/${later}`, { method: 'DELETE' });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal((await state(urls[0]!, later)).state, 'cancelled');
    sink.behaviour = () => ({ status: 200 });
  });

  it('deliveries of one ordering key posted to every node are sent one at a time, in acceptance order', async () => {
    let out = 0;
    let most = 0;
    sink.behaviour = (request) => {
      if (!request.url.startsWith('/ordered')) return { status: 200 };
      out++;
      most = Math.max(most, out);
      setTimeout(() => out--, 30);
      return { status: 200, delayMs: 30 };
    };
    const count = 24;
    for (let i = 0; i < count; i++) {
      const answer = await postJson(`${urls[i % 3]}/`, { UUID: randomUUID(), Url: sink.url(`/ordered/${i}`), Method: 'POST', Body: String(i), OrderingKey: 'customer-7' });
      assert.equal(answer.status, 202, answer.text);
    }
    await sink.waitFor(() => sink.to('/ordered').length >= count, 20_000, 'every ordered delivery');
    await sleep(200);
    assert.deepEqual(
      sink.to('/ordered').map((request) => Number(request.body.toString('utf8'))),
      Array.from({ length: count }, (_, i) => i),
    );
    assert.equal(most, 1, 'one delivery of the key out at a time across the nodes');
    sink.behaviour = () => ({ status: 200 });
  });
});
