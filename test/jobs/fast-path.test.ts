import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import { RawAnswer, RawClient } from '../support/raw-http-client';

/**
 * The job API's HTTP fast path (/schedule, /receive_noblock, /receive_block, /ack) over raw sockets: dispenserd's bytes,
 * pipelining, requests split anywhere, and the hand-over to Fastify for everything else.
 */

const post = (path: string, body: string, extra = ''): string =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const json = (answer: RawAnswer): Record<string, unknown> => JSON.parse(answer.body) as Record<string, unknown>;
const header = (answer: RawAnswer, name: string): string | undefined => answer.headers.find(([n]) => n.toLowerCase() === name)?.[1];

describe('job API fast path', () => {
  let app: TestApp;
  let port: number;
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const client = await RawClient.open(port);
    clients.push(client);
    return client;
  };

  before(async () => {
    app = await startTestApp({ HTTP_HEADERS_TIMEOUT_MS: '400', HTTP_REQUEST_TIMEOUT_MS: '600' });
    port = app.running.ports.jobs;
  });
  after(async () => {
    for (const client of clients) client.close();
    await app.close();
  });

  test("answers carry dispenserd's header set, in its order, with its bodies", async () => {
    const client = await open();
    client.write(post('/schedule', '{"message":"bytes","lane":"fp-bytes"}'));
    const scheduled = await client.answer();
    assert.equal(scheduled.status, 200);
    assert.deepEqual(scheduled.headers.map(([name]) => name), ['Content-Type', 'Date', 'Content-Length']);
    assert.equal(header(scheduled, 'content-type'), 'application/json');
    assert.match(header(scheduled, 'date')!, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    assert.equal(scheduled.body, '{\n  "status": "ok",\n  "code": 0\n}');
    client.write(post('/receive_noblock', '{"lane":"fp-bytes"}'));
    assert.equal((await client.answer()).body, '{\n  "status": "ok",\n  "code": 0,\n  "message": "bytes"\n}');
    client.write(post('/receive_noblock', '{"lane":"fp-bytes"}'));
    assert.equal((await client.answer()).body, '{\n  "status": "ok",\n  "code": 2,\n  "message": "empty queue"\n}');
    client.write(post('/schedule', 'not json'));
    const bad = await client.answer();
    assert.equal(bad.status, 400);
    assert.deepEqual(json(bad), { status: 'error', code: 1, message: 'missing message' });
    client.write(post('/schedule', '{"message": 7}'));
    assert.deepEqual(json(await client.answer()), { status: 'error', code: 1, message: 'message must be a string' });
    // the connection is still good after bad input
    client.write(post('/schedule', '{"message":"after","lane":"fp-bytes"}'));
    assert.equal((await client.answer()).status, 200);
  });

  test("/receive_block waits on the fast path (dispenserd's header set); a client that half-closes while waiting consumes nothing", async () => {
    const client = await open();
    client.write(post('/receive_block', '{"lane":"fp-block","wait_ms":5000}'));
    const scheduler = await open();
    await new Promise((resolve) => setTimeout(resolve, 100));
    scheduler.write(post('/schedule', '{"message":"woken","lane":"fp-block"}'));
    assert.equal((await scheduler.answer()).status, 200);
    const woken = await client.answer();
    assert.deepEqual(woken.headers.map(([name]) => name), ['Content-Type', 'Date', 'Content-Length'], 'answered by the fast path');
    assert.equal(woken.body, '{\n  "status": "ok",\n  "code": 0,\n  "message": "woken"\n}');
    // a waiting receive whose client ends its side stops waiting: the next job is not handed to it
    const leaving = await open();
    leaving.write(post('/receive_block', '{"lane":"fp-block"}'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    leaving.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    scheduler.write(post('/schedule', '{"message":"kept","lane":"fp-block"}'));
    assert.equal((await scheduler.answer()).status, 200);
    scheduler.write(post('/receive_noblock', '{"lane":"fp-block"}'));
    assert.equal(json(await scheduler.answer()).message, 'kept');
  });

  test("/ack answers on the fast path with dispenserd's header set: ok for a lease, 404 for an unknown or settled one, 400 without an id", async () => {
    const client = await open();
    client.write(post('/schedule', '{"message":"acked","lane":"fp-ack"}'));
    assert.equal((await client.answer()).status, 200);
    client.write(post('/receive_noblock', '{"lane":"fp-ack","ack":true,"timeout_ms":60000}'));
    const received = json(await client.answer());
    assert.equal(received.message, 'acked');
    const id = received.id as string;
    client.write(post('/ack', JSON.stringify({ id })));
    const acked = await client.answer();
    assert.equal(acked.status, 200);
    assert.deepEqual(acked.headers.map(([name]) => name), ['Content-Type', 'Date', 'Content-Length']);
    assert.deepEqual(json(acked), { status: 'ok', code: 0 });
    // settled: the lease is gone, and the lane is empty (the job is done, not returned)
    client.write(post('/ack', JSON.stringify({ id })));
    const again = await client.answer();
    assert.equal(again.status, 404);
    assert.deepEqual(again.headers.map(([name]) => name), ['Content-Type', 'Date', 'Content-Length']);
    assert.match(String(json(again).message ?? json(again).error), /unknown or expired lease/);
    client.write(post('/ack', '{"lane":"fp-ack"}'));
    const missing = await client.answer();
    assert.equal(missing.status, 400);
    assert.match(missing.body, /id is required/);
    client.write(post('/receive_noblock', '{"lane":"fp-ack"}'));
    assert.equal(json(await client.answer()).code, 2);
  });

  test('pipelined requests are answered in order, schedules and receives mixed, then a request for Fastify on the same connection', async () => {
    const client = await open();
    let burst = '';
    for (let i = 0; i < 300; i++) {
      burst += post('/schedule', JSON.stringify({ message: `job ${i}`, lane: 'fp-pipe' }));
      if (i % 3 === 2) burst += post('/receive_noblock', '{"lane":"fp-pipe"}');
    }
    burst += 'GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    client.write(burst);
    const received: string[] = [];
    for (let i = 0; i < 300; i++) {
      const scheduled = await client.answer();
      assert.deepEqual([scheduled.status, json(scheduled).code], [200, 0], `schedule ${i}`);
      if (i % 3 === 2) {
        const got = json(await client.answer());
        assert.equal(got.code, 0);
        received.push(String(got.message));
      }
    }
    // FIFO: the receives got the first 100 jobs, in order
    assert.deepEqual(received, Array.from({ length: 100 }, (_, i) => `job ${i}`));
    const listed = await client.answer();
    assert.match(header(listed, 'content-type')!, /^application\/json; charset=utf-8$/, 'the /jobs answer came from Fastify');
    const lane = (json(listed)['fp-pipe'] as { message: string }[]).map((job) => job.message);
    assert.deepEqual(lane, Array.from({ length: 200 }, (_, i) => `job ${i + 100}`));
  });

  test('a request split into single bytes, and a hand-over in the middle of a request, lose nothing', async () => {
    const client = await open();
    const bytes = Buffer.from(post('/schedule', '{"message":"trickled","lane":"fp-split"}') + 'GET /jobs HTTP/1.1\r\nHost: 1');
    for (const byte of bytes) {
      client.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await client.answer()).status, 200);
    client.write('27.0.0.1\r\n\r\n');
    const listed = await client.answer();
    assert.deepEqual((json(listed)['fp-split'] as { message: string }[]).map((job) => job.message), ['trickled']);
  });

  test('chunked bodies, Expect: 100-continue and other paths go to Fastify, with the same answers', async () => {
    const client = await open();
    const body = '{"message":"chunked","lane":"fp-chunked"}';
    client.write(`POST /schedule HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    const chunked = await client.answer();
    assert.deepEqual([chunked.status, chunked.body], [200, '{\n  "status": "ok",\n  "code": 0\n}']);
    const other = await open();
    other.write(post('/receive_noblock', '{"lane":"fp-chunked"}', 'Expect: 100-continue\r\n'));
    let answer = await other.answer();
    if (answer.status === 100) answer = await other.answer();
    assert.equal(json(answer).message, 'chunked');
    // query strings, HEAD and HTTP/1.0 are Fastify's too
    other.write('GET /receive_noblock?lane=x HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(json(await other.answer()).code, 2);
  });

  test('bad requests get the answers Node gives: 400 for a broken header, 413 at once for an oversized Content-Length', async () => {
    const broken = await open();
    broken.write('POST /schedule HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\nContent-Length: 2\r\n\r\n{}');
    assert.equal((await broken.answer()).status, 400);
    const big = await open();
    big.write(`POST /schedule HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 * 1024 * 1024 * 1024}\r\n\r\n{"message":`);
    const tooBig = await big.answer();
    assert.equal(tooBig.status, 413);
    assert.equal(json(tooBig).status, 'error');
    await big.closedByServer();
    // a body above the fast path's own limit (64 KiB) but under the door's still works
    const large = await open();
    const message = 'x'.repeat(200_000);
    large.write(post('/schedule', JSON.stringify({ message, lane: 'fp-large' })));
    assert.equal((await large.answer()).status, 200);
    large.write(post('/receive_noblock', '{"lane":"fp-large"}'));
    assert.equal(json(await large.answer()).message, message);
  });

  test('a client that pipelines thousands of requests without reading is paced, and gets every answer in order', async () => {
    const client = await open();
    const count = 5000;
    let burst = '';
    for (let i = 0; i < count; i++) burst += post('/schedule', JSON.stringify({ message: `bulk ${i} ${'p'.repeat(100)}`, lane: 'fp-bulk' }));
    client.socket.pause();
    client.write(burst);
    await new Promise((resolve) => setTimeout(resolve, 500));
    client.socket.resume();
    for (let i = 0; i < count; i++) assert.equal((await client.answer()).status, 200, `answer ${i}`);
    client.write('GET /jobs HTTP/1.1\r\nHost: x\r\n\r\n');
    const lane = json(await client.answer(10_000))['fp-bulk'] as { message: string }[];
    assert.equal(lane.length, count);
    assert.equal(lane[count - 1]!.message, `bulk ${count - 1} ${'p'.repeat(100)}`);
  });

  test('HTTP/1.1 without a Host header gets 400, as from Node and Go', async () => {
    const client = await open();
    client.write('POST /schedule HTTP/1.1\r\nContent-Length: 17\r\n\r\n{"message":"no"}\n');
    assert.equal((await client.answer()).status, 400);
  });

  test('Connection: close is honoured after the answer; a half-sent request times out with 408', async () => {
    const closing = await open();
    closing.write(post('/schedule', '{"message":"last","lane":"fp-close"}', 'Connection: close\r\n') + post('/schedule', '{"message":"ignored","lane":"fp-close"}'));
    const answer = await closing.answer();
    assert.equal(answer.status, 200);
    assert.equal(header(answer, 'connection'), 'close');
    await closing.closedByServer();
    const slow = await open();
    slow.write('POST /schedule HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{"mess');
    const timedOut = await slow.answer(3000);
    assert.equal(timedOut.status, 408);
    await slow.closedByServer();
    const check = await open();
    check.write(post('/receive_noblock', '{"lane":"fp-close"}'));
    assert.equal(json(await check.answer()).message, 'last');
    check.write(post('/receive_noblock', '{"lane":"fp-close"}'));
    assert.equal(json(await check.answer()).code, 2, 'the request after Connection: close was not run');
  });

  test('a job whose answer cannot be written goes back to its lane', async () => {
    const client = await open();
    for (let round = 0; round < 5; round++) {
      client.write(post('/schedule', `{"message":"survivor ${round}","lane":"fp-gone"}`));
      await client.answer();
      // the receive's answer waits behind a schedule that waits for its commit; the client resets meanwhile
      const vanishing = await RawClient.open(port);
      vanishing.write(post('/schedule', '{"message":"x","lane":"fp-other"}') + post('/receive_noblock', '{"lane":"fp-gone"}'));
      vanishing.socket.resetAndDestroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      client.write(post('/receive_noblock', '{"lane":"fp-gone"}'));
      assert.deepEqual(json(await client.answer()), { status: 'ok', code: 0, message: `survivor ${round}` }, `round ${round}`);
    }
  });
});

describe('job API with JOBS_FAST_PATH=false', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ JOBS_FAST_PATH: 'false' });
  });
  after(async () => {
    await app.close();
  });

  test('every request goes through Fastify and gets the same documents', async () => {
    const client = await RawClient.open(app.running.ports.jobs);
    try {
      client.write(post('/schedule', '{"message":"slow path"}') + post('/receive_noblock', ''));
      const scheduled = await client.answer();
      assert.equal(scheduled.body, '{\n  "status": "ok",\n  "code": 0\n}');
      assert.equal(header(scheduled, 'content-type'), 'application/json; charset=utf-8');
      assert.equal(json(await client.answer()).message, 'slow path');
    } finally {
      client.close();
    }
  });
});

describe('job API fast path and Node on heads with control characters', () => {
  let fast: TestApp;
  let slow: TestApp;
  before(async () => {
    [fast, slow] = await Promise.all([startTestApp(), startTestApp({ JOBS_FAST_PATH: 'false' })]);
  });
  after(async () => {
    await Promise.all([fast.close(), slow.close()]);
  });

  /** The status a request gets on a connection of its own, or 0 when the server closes it without one. */
  const statusOf = async (port: number, request: string): Promise<number> => {
    const client = await RawClient.open(port);
    try {
      client.write(Buffer.from(request, 'latin1'));
      return (await client.answer()).status;
    } catch (error) {
      if (client.closed) return 0;
      throw error;
    } finally {
      client.close();
    }
  };

  test('a lone CR or LF, NUL, DEL or another control byte in the head: the fast path answers as Node does', async () => {
    const body = '{"message":"head","lane":"fp-heads"}';
    const length = `Content-Length: ${body.length}`;
    const heads = {
      'NUL in a value': `POST /schedule HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n${length}\r\n\r\n`,
      'DEL in a value': `POST /schedule HTTP/1.1\r\nHost: x\r\nX-Note: a\x7fb\r\n${length}\r\n\r\n`,
      'unit separator in a value': `POST /schedule HTTP/1.1\r\nHost: x\r\nX-Note: a\x1fb\r\n${length}\r\n\r\n`,
      'lone CR in a value': `POST /schedule HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n${length}\r\n\r\n`,
      'lone LF ending a line': `POST /schedule HTTP/1.1\r\nHost: x\nX-Note: a\r\n${length}\r\n\r\n`,
      'control byte in the path': `POST /sched\x01ule HTTP/1.1\r\nHost: x\r\n${length}\r\n\r\n`,
      'tab in a value (allowed)': `POST /schedule HTTP/1.1\r\nHost: x\r\nX-Note: a\tb\r\n${length}\r\n\r\n`,
    };
    for (const [what, head] of Object.entries(heads)) {
      const [onFast, onNode] = await Promise.all([statusOf(fast.running.ports.jobs, head + body), statusOf(slow.running.ports.jobs, head + body)]);
      assert.equal(onFast, onNode, what);
    }
    assert.equal(await statusOf(fast.running.ports.jobs, `POST /schedule HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n${length}\r\n\r\n${body}`), 400, 'a lone CR is refused');
    // every schedule Node took is there, once; nothing else was lost
    const lane = async (port: number): Promise<number> => {
      const client = await RawClient.open(port);
      try {
        client.write(`GET /jobs HTTP/1.1\r\nHost: x\r\n\r\n`);
        const lanes = JSON.parse((await client.answer()).body) as { lanes?: Record<string, unknown[]> };
        return lanes.lanes?.['fp-heads']?.length ?? 0;
      } finally {
        client.close();
      }
    };
    assert.equal(await lane(fast.running.ports.jobs), await lane(slow.running.ports.jobs));
  });
});
