/**
 * Delivery intake (`POST /`) on the HTTP fast path, over raw sockets: every answer (status and
 * document, valid deliveries, repeats and each kind of bad input, with and without credentials)
 * equals what the same request gets through Fastify (DISPATCH_FAST_PATH=false), and what is
 * accepted is delivered. Other paths and methods keep going through Fastify on the same connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import { HttpSink } from '../support/http-sink';
import { RawAnswer, RawClient } from '../support/raw-http-client';

const request = (method: string, path: string, body: string, extra = ''): string =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const header = (answer: RawAnswer, name: string): string | undefined => answer.headers.find(([n]) => n.toLowerCase() === name)?.[1];
const basic = (user: string, password: string): string => `Authorization: Basic ${Buffer.from(`${user}:${password}`).toString('base64')}\r\n`;

/** A sink and two brokers with `settings`: one with the fast path, one without; raw clients closed after. */
function brokerPair(settings: Record<string, string>): { sink: () => HttpSink; fast: () => TestApp; slow: () => TestApp; open: (app: TestApp) => Promise<RawClient> } {
  let sink: HttpSink;
  let fast: TestApp;
  let slow: TestApp;
  const clients: RawClient[] = [];
  before(async () => {
    sink = await HttpSink.start();
    [fast, slow] = await Promise.all([startTestApp(settings), startTestApp({ ...settings, DISPATCH_FAST_PATH: 'false' })]);
  });
  after(async () => {
    for (const client of clients) client.close();
    await Promise.all([fast?.close(), slow?.close()]);
    await sink?.close();
  });
  const open = async (app: TestApp): Promise<RawClient> => {
    const client = await RawClient.open(app.running.ports.dispatch);
    clients.push(client);
    return client;
  };
  return { sink: () => sink, fast: () => fast, slow: () => slow, open };
}

describe('delivery intake on the fast path', () => {
  const pair = brokerPair({ DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_MAX_BODY_MB: '1' });
  const open = pair.open;
  let sink: HttpSink;
  let fast: TestApp;
  let slow: TestApp;
  before(() => {
    [sink, fast, slow] = [pair.sink(), pair.fast(), pair.slow()];
  });
  /** One request through each path: the statuses and documents must be equal. */
  const both = async (method: string, path: string, body: string, extra = ''): Promise<[RawAnswer, RawAnswer]> => {
    const answers: RawAnswer[] = [];
    for (const app of [fast, slow]) {
      const client = await open(app);
      client.write(request(method, path, body, extra));
      answers.push(await client.answer());
    }
    const [onFast, onFastify] = answers as [RawAnswer, RawAnswer];
    assert.equal(onFast.status, onFastify.status, `${method} ${path} ${body.slice(0, 60)}: status`);
    assert.deepEqual(JSON.parse(onFast.body), JSON.parse(onFastify.body), `${method} ${path} ${body.slice(0, 60)}: document`);
    return [onFast, onFastify];
  };

  test('a delivery is accepted (202) as on Fastify, delivered, and a repeat answers 200 with duplicate', async () => {
    const uuid = 'fast-path-1';
    const body = JSON.stringify({ UUID: uuid, Url: sink.url('/fast/one'), Method: 'POST', Body: 'hello', Header: { 'X-Test': ['a'] } });
    const [accepted] = await both('POST', '/', body);
    assert.equal(accepted.status, 202);
    assert.deepEqual(JSON.parse(accepted.body), { uuid, state: 'pending' });
    assert.deepEqual(
      accepted.headers.map(([name]) => name.toLowerCase()),
      ['content-type', 'date', 'content-length'],
      'answered by the fast path, not by Fastify',
    );
    await sink.waitFor(() => sink.to('/fast/one').length >= 2, 5000, 'both deliveries');
    assert.equal(sink.to('/fast/one')[0]!.body.toString(), 'hello');
    const [repeat] = await both('POST', '/', body);
    assert.equal(repeat.status, 200);
    assert.equal(JSON.parse(repeat.body).duplicate, true);
  });

  test('bad input gets the same 4xx and document on both paths, and the connection goes on', async () => {
    const bad = [
      '',
      'not json',
      '[]',
      JSON.stringify({ UUID: 'no-url', Method: 'POST' }),
      JSON.stringify({ UUID: 'bad-url', Url: 'ftp://example.com/x', Method: 'POST' }),
      JSON.stringify({ UUID: 'bad-timeout', Url: sink.url('/x'), Method: 'POST', Timeout: 'soon' }),
      JSON.stringify({ UUID: 'x'.repeat(300), Url: sink.url('/x'), Method: 'POST' }),
      JSON.stringify({ UUID: 'bad-method', Url: sink.url('/x'), Method: 'GET GET' }),
    ];
    for (const body of bad) {
      const [answer] = await both('POST', '/', body);
      assert.ok(answer.status >= 400 && answer.status < 500, `${body.slice(0, 40)}: ${answer.status} ${answer.body}`);
    }
    // a method that is not POST on / is 405 with Allow, from the fast path too
    const [refused] = await both('GET', '/', '');
    assert.equal(refused.status, 405);
    assert.equal(header(refused, 'allow'), 'POST');
    // the same connection then carries a fast request and a Fastify one
    const client = await open(fast);
    client.write(request('POST', '/', 'nope') + request('GET', '/deliveries/fast-path-1', '') + request('POST', '/', JSON.stringify({ UUID: 'after', Url: sink.url('/fast/after'), Method: 'POST' })));
    assert.equal((await client.answer()).status, 400);
    const shown = await client.answer();
    assert.equal(shown.status, 200);
    assert.equal(JSON.parse(shown.body).uuid, 'fast-path-1');
    assert.equal((await client.answer()).status, 202);
    await sink.waitFor(() => sink.to('/fast/after').length === 1, 5000, 'the delivery after bad input');
  });

  test('a body over DISPATCH_MAX_BODY_MB is 413 on both paths', async () => {
    const big = JSON.stringify({ UUID: 'big', Url: sink.url('/x'), Method: 'POST', Body: 'x'.repeat(1024 * 1024 + 10) });
    const [answer] = await both('POST', '/', big);
    assert.equal(answer.status, 413);
  });
});

describe('delivery intake on the fast path with DISPATCH_AUTH=true', () => {
  const pair = brokerPair({ DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_AUTH: 'true' });

  test('no or wrong credentials get 401 with the challenge, right ones 202, on both paths alike', async () => {
    const body = JSON.stringify({ UUID: 'authed', Url: pair.sink().url('/fast/authed'), Method: 'POST' });
    for (const [extra, status] of [
      ['', 401],
      [basic('guest', 'wrong'), 401],
      [basic('guest', 'guest'), 202],
    ] as const) {
      const answers: RawAnswer[] = [];
      for (const app of [pair.fast(), pair.slow()]) {
        const client = await pair.open(app);
        client.write(request('POST', '/', body.replace('authed', `authed-${status}-${answers.length}-${extra.length}`), extra));
        answers.push(await client.answer());
      }
      for (const answer of answers) {
        assert.equal(answer.status, status, `${extra || 'no credentials'}: ${answer.body}`);
        if (status === 401) assert.match(header(answer, 'www-authenticate') ?? '', /^Basic realm="deliveries"/);
      }
      // the same document but for the UUID, which differs per request here
      const withoutUuid = (answer: RawAnswer): Record<string, unknown> => {
        const { uuid: _uuid, ...rest } = JSON.parse(answer.body) as Record<string, unknown>;
        return rest;
      };
      assert.deepEqual(withoutUuid(answers[0]!), withoutUuid(answers[1]!));
    }
  });
});
