/**
 * exchange.* and queue.* end to end with amqplib against the whole app. Expected behaviour is
 * RabbitMQ's (AMQP 0-9-1 spec plus RabbitMQ's documented extensions and error codes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import {
  body,
  channel,
  closeQuietly,
  Collector,
  connect,
  drain,
  exists,
  expectChannelClosed,
  expectRefused,
  getOne,
  messageCount,
  ReplyCode,
  settle,
  TrackedConnection,
  withTimeout,
} from '../support/amqp-e2e';

let app: TestApp;
let conn: TrackedConnection;

before(async () => {
  app = await startTestApp();
  conn = await connect(app.amqpUrl);
});

after(async () => {
  await closeQuietly(conn);
  await app.close();
});

describe('exchange.declare', () => {
  it('declares every exchange type, and passive declare finds them', async () => {
    const ch = await channel(conn);
    for (const type of ['direct', 'fanout', 'topic', 'headers']) {
      const ok = await ch.assertExchange(`t-${type}`, type, { durable: false });
      assert.equal(ok.exchange, `t-${type}`);
      await ch.checkExchange(`t-${type}`);
    }
    for (const name of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']) await ch.checkExchange(name);
    await ch.close();
  });

  it("a predeclared amq.* exchange may be re-declared with matching properties (only creation is reserved)", async () => {
    // spec (exchange.declare, rule "reserved names"): "The client MAY declare an exchange starting with
    // 'amq.' if the passive option is set, or the exchange already exists." RabbitMQ applies the
    // 'amq.' check only when creating.
    const ch = await channel(conn);
    await ch.assertExchange('amq.direct', 'direct', { durable: true });
    await ch.assertExchange('amq.topic', 'topic', { durable: true });
    await ch.close();
  });

  it('deleting a predeclared amq.* exchange is refused with 403', async () => {
    const ch = await channel(conn);
    await expectRefused(ch.deleteExchange('amq.fanout'), ReplyCode.AccessRefused, 'exchange.delete amq.fanout');
    assert.equal(await exists(conn, 'exchange', 'amq.fanout'), true);
  });

  it('passive declare of a missing exchange closes the channel with 404', async () => {
    const ch = await channel(conn);
    await expectRefused(ch.checkExchange('no-such-exchange'), ReplyCode.NotFound, 'passive exchange.declare');
    await expectChannelClosed(ch, ReplyCode.NotFound);
    // only the channel: the connection is still usable
    assert.equal(await exists(conn, 'exchange', 'amq.direct'), true);
  });

  it('re-declaring with a different type or durability is refused with 406 and changes nothing', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('redeclare-x', 'direct', { durable: false });
    await ch.assertExchange('redeclare-x', 'direct', { durable: false }); // same: fine
    await expectRefused(ch.assertExchange('redeclare-x', 'fanout', { durable: false }), ReplyCode.PreconditionFailed, 'different type');
    const ch2 = await channel(conn);
    await expectRefused(ch2.assertExchange('redeclare-x', 'direct', { durable: true }), ReplyCode.PreconditionFailed, 'different durable');
    const ch3 = await channel(conn);
    await expectRefused(
      ch3.assertExchange('redeclare-x', 'direct', { durable: false, autoDelete: true }),
      ReplyCode.PreconditionFailed,
      'different auto-delete',
    );
    // still a direct exchange: routes by exact key
    const ch4 = await channel(conn);
    const q = (await ch4.assertQueue('', { exclusive: true })).queue;
    await ch4.bindQueue(q, 'redeclare-x', 'k');
    ch4.publish('redeclare-x', 'k', body('hit'));
    ch4.publish('redeclare-x', 'other', body('miss'));
    await settle(100);
    assert.deepEqual(await drain(ch4, q), ['hit']);
    await ch4.close();
  });

  it("new exchanges named 'amq.*' are refused with 403", async () => {
    const ch = await channel(conn);
    await expectRefused(ch.assertExchange('amq.custom', 'direct'), ReplyCode.AccessRefused, "exchange.declare 'amq.custom'");
    await expectChannelClosed(ch, ReplyCode.AccessRefused);
    assert.equal(await exists(conn, 'exchange', 'amq.custom'), false);
  });

  it('an unknown exchange type closes the connection with 503', async () => {
    const c = await connect(app.amqpUrl);
    const ch = await channel(c);
    const declare = ch.assertExchange('weird-x', 'no-such-type');
    await declare.catch(() => undefined);
    const error = await withTimeout(c.closed, 10000, 'connection was not closed');
    assert.ok(error, 'the connection must be closed with an error');
    assert.equal(error.code, ReplyCode.CommandInvalid, error.message);
    assert.equal(await exists(conn, 'exchange', 'weird-x'), false);
  });

  it('an auto-delete exchange goes away when its last binding is removed', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('ad-x', 'direct', { durable: false, autoDelete: true });
    // never bound: stays (RabbitMQ deletes only on removal of the last binding)
    assert.equal(await exists(conn, 'exchange', 'ad-x'), true);
    const q1 = (await ch.assertQueue('', { exclusive: true })).queue;
    const q2 = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q1, 'ad-x', 'a');
    await ch.bindQueue(q2, 'ad-x', 'b');
    await ch.unbindQueue(q1, 'ad-x', 'a');
    assert.equal(await exists(conn, 'exchange', 'ad-x'), true, 'one binding left');
    await ch.deleteQueue(q2); // removing the queue removes its binding too
    assert.equal(await exists(conn, 'exchange', 'ad-x'), false, 'last binding gone: exchange deleted');
    await ch.close();
  });

  it('publishing to an internal exchange is refused with 403, but it routes from an exchange-to-exchange binding', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('int-x', 'fanout', { durable: false, internal: true });
    await ch.assertExchange('front-x', 'direct', { durable: false });
    await ch.bindExchange('int-x', 'front-x', 'k');
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'int-x', '');
    ch.publish('front-x', 'k', body('via-e2e'));
    await settle(100);
    assert.deepEqual(await drain(ch, q), ['via-e2e']);

    ch.publish('int-x', '', body('direct-to-internal'));
    await expectChannelClosed(ch, ReplyCode.AccessRefused, 'publish to internal exchange');
    const check = await channel(conn);
    assert.deepEqual(await drain(check, q), [], 'nothing was routed by the refused publish');
    await check.close();
  });

  it('unroutable messages go to the alternate-exchange', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('ae', 'fanout', { durable: false });
    await ch.assertExchange('with-ae', 'direct', { durable: false, alternateExchange: 'ae' });
    const routed = (await ch.assertQueue('', { exclusive: true })).queue;
    const unroutedQ = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(routed, 'with-ae', 'known');
    await ch.bindQueue(unroutedQ, 'ae', '');
    ch.publish('with-ae', 'known', body('k1'));
    ch.publish('with-ae', 'unknown', body('u1'));
    ch.publish('with-ae', 'other', body('u2'));
    await settle(100);
    assert.deepEqual(await drain(ch, routed), ['k1']);
    const ae = await getOne(ch, unroutedQ, { noAck: true });
    assert.equal(ae.content.toString(), 'u1');
    assert.equal(ae.fields.exchange, 'with-ae', 'the message keeps its original exchange');
    assert.equal(ae.fields.routingKey, 'unknown');
    assert.deepEqual(await drain(ch, unroutedQ), ['u2']);
    await ch.close();
  });
});

describe('exchange.delete and exchange.bind', () => {
  it('delete if-unused is refused with 406 while bound, and succeeds once unbound', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('del-x', 'direct', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'del-x', 'k');
    await expectRefused(ch.deleteExchange('del-x', { ifUnused: true }), ReplyCode.PreconditionFailed, 'delete if-unused');
    assert.equal(await exists(conn, 'exchange', 'del-x'), true);
    const ch2 = await channel(conn);
    await ch2.unbindQueue(q, 'del-x', 'k');
    await ch2.deleteExchange('del-x', { ifUnused: true });
    assert.equal(await exists(conn, 'exchange', 'del-x'), false);
    await ch2.deleteExchange('del-x'); // deleting a missing exchange is ok (idempotent, as in RabbitMQ)
    await ch2.close();
  });

  it('exchange.delete removes the bindings: publishing to the deleted exchange is a 404', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('gone-x', 'fanout', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'gone-x', '');
    await ch.deleteExchange('gone-x');
    ch.publish('gone-x', '', body('x'));
    await expectChannelClosed(ch, ReplyCode.NotFound, 'publish to deleted exchange');
  });

  it('exchange-to-exchange bindings route, and unbind stops it', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('e2e-src', 'topic', { durable: false });
    await ch.assertExchange('e2e-dst', 'direct', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'e2e-dst', 'orders.eu');
    await ch.bindExchange('e2e-dst', 'e2e-src', 'orders.*');
    ch.publish('e2e-src', 'orders.eu', body('1'));
    ch.publish('e2e-src', 'orders.us', body('not-bound-at-dst'));
    ch.publish('e2e-src', 'invoices.eu', body('not-matching-src'));
    await settle(100);
    assert.deepEqual(await drain(ch, q), ['1']);
    await ch.unbindExchange('e2e-dst', 'e2e-src', 'orders.*');
    ch.publish('e2e-src', 'orders.eu', body('2'));
    await settle(100);
    assert.deepEqual(await drain(ch, q), []);
    await ch.close();
  });

  it('a message reaching a queue by two paths is delivered once', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('dup-a', 'fanout', { durable: false });
    await ch.assertExchange('dup-b', 'fanout', { durable: false });
    await ch.bindExchange('dup-b', 'dup-a', '');
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'dup-a', '');
    await ch.bindQueue(q, 'dup-b', '');
    ch.publish('dup-a', '', body('once'));
    await settle(100);
    assert.deepEqual(await drain(ch, q), ['once']);
    await ch.close();
  });
});

describe('queue.declare', () => {
  it('server-named queues are amq.gen-…, and declare-ok carries message and consumer counts', async () => {
    const ch = await channel(conn);
    const ok = await ch.assertQueue('', { exclusive: true });
    assert.match(ok.queue, /^amq\.gen-/);
    assert.equal(ok.messageCount, 0);
    assert.equal(ok.consumerCount, 0);
    const other = await ch.assertQueue('', { exclusive: true });
    assert.notEqual(other.queue, ok.queue);

    await ch.assertQueue('counts-q', { durable: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue('counts-q', body(`c${i}`));
    await settle(100);
    const again = await ch.assertQueue('counts-q', { durable: false });
    assert.deepEqual({ m: again.messageCount, c: again.consumerCount }, { m: 3, c: 0 });

    const consumerCh = await channel(conn);
    await consumerCh.prefetch(1);
    const collector = await Collector.start(consumerCh, 'counts-q');
    await collector.waitFor(1);
    await settle(100);
    const withConsumer = await ch.checkQueue('counts-q');
    assert.equal(withConsumer.consumerCount, 1);
    assert.equal(withConsumer.messageCount, 2, 'declare-ok counts ready messages, not unacked ones');
    await consumerCh.close();
    await ch.deleteQueue('counts-q');
    await ch.close();
  });

  it('passive declare of a missing queue closes the channel with 404', async () => {
    const ch = await channel(conn);
    await expectRefused(ch.checkQueue('no-such-queue'), ReplyCode.NotFound, 'passive queue.declare');
    await expectChannelClosed(ch, ReplyCode.NotFound);
  });

  it("queue names starting 'amq.' are refused with 403", async () => {
    const ch = await channel(conn);
    await expectRefused(ch.assertQueue('amq.mine'), ReplyCode.AccessRefused, "queue.declare 'amq.mine'");
  });

  it('re-declaring a queue with different durable/exclusive/auto-delete is refused with 406', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('redeclare-q', { durable: true });
    await expectRefused(ch.assertQueue('redeclare-q', { durable: false }), ReplyCode.PreconditionFailed, 'different durable');
    const ch2 = await channel(conn);
    await expectRefused(ch2.assertQueue('redeclare-q', { durable: true, autoDelete: true }), ReplyCode.PreconditionFailed, 'different auto-delete');
    const ch3 = await channel(conn);
    await ch3.deleteQueue('redeclare-q');
    await ch3.close();
  });

  it('a durable queue declares as durable and is found again with the same flags', async () => {
    const ch = await channel(conn);
    const ok = await ch.assertQueue('durable-q', { durable: true });
    assert.equal(ok.queue, 'durable-q');
    await ch.assertQueue('durable-q', { durable: true });
    await ch.deleteQueue('durable-q');
    await ch.close();
  });

  it('exclusive queues: other connections get 405, and the queue goes away with its connection', async () => {
    const owner = await connect(app.amqpUrl);
    const ownerCh = await channel(owner);
    await ownerCh.assertQueue('excl-q', { exclusive: true, durable: false });
    ownerCh.sendToQueue('excl-q', body('mine'));
    // the owner's other channels may use it
    const ownerCh2 = await channel(owner);
    await ownerCh2.checkQueue('excl-q');

    const other = await channel(conn);
    await expectRefused(other.checkQueue('excl-q'), ReplyCode.ResourceLocked, 'passive declare from another connection');
    const other2 = await channel(conn);
    await expectRefused(other2.consume('excl-q', () => undefined), ReplyCode.ResourceLocked, 'consume from another connection');
    const other3 = await channel(conn);
    await expectRefused(other3.get('excl-q'), ReplyCode.ResourceLocked, 'basic.get from another connection');
    const other4 = await channel(conn);
    await expectRefused(other4.assertQueue('excl-q', { exclusive: true, durable: false }), ReplyCode.ResourceLocked, 'declare from another connection');
    const other5 = await channel(conn);
    await expectRefused(other5.deleteQueue('excl-q'), ReplyCode.ResourceLocked, 'delete from another connection');

    assert.equal(await exists(owner, 'queue', 'excl-q'), true);
    await owner.close();
    assert.equal(await exists(conn, 'queue', 'excl-q'), false, 'exclusive queue deleted with its connection');
  });

  it('an auto-delete queue goes away when its last consumer cancels, not before', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('autodel-q', { autoDelete: true, durable: false });
    assert.equal(await exists(conn, 'queue', 'autodel-q'), true, 'no consumer yet: stays');
    const a = await Collector.start(ch, 'autodel-q', { noAck: true });
    const b = await Collector.start(ch, 'autodel-q', { noAck: true });
    await ch.cancel(a.tag);
    assert.equal(await exists(conn, 'queue', 'autodel-q'), true, 'one consumer left');
    await ch.cancel(b.tag);
    assert.equal(await exists(conn, 'queue', 'autodel-q'), false, 'last consumer cancelled: deleted');
    await ch.close();
  });

  it('an auto-delete queue also goes when its last consumer’s channel closes', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('autodel-q2', { autoDelete: true, durable: false });
    await Collector.start(ch, 'autodel-q2');
    await ch.close();
    assert.equal(await exists(conn, 'queue', 'autodel-q2'), false);
  });
});

describe('queue.bind / queue.unbind', () => {
  /** Declares one exclusive queue per binding, publishes, and returns what each queue got. */
  async function routeThrough(
    exchange: string,
    type: string,
    bindings: Record<string, { key?: string; args?: Record<string, unknown> }>,
    messages: { key?: string; headers?: Record<string, unknown>; body: string }[],
  ): Promise<Record<string, string[]>> {
    const ch = await channel(conn);
    await ch.assertExchange(exchange, type, { durable: false });
    const queues: Record<string, string> = {};
    for (const [label, binding] of Object.entries(bindings)) {
      queues[label] = (await ch.assertQueue('', { exclusive: true })).queue;
      await ch.bindQueue(queues[label]!, exchange, binding.key ?? '', binding.args);
    }
    for (const m of messages) ch.publish(exchange, m.key ?? '', body(m.body), { headers: m.headers });
    await settle(150);
    const got: Record<string, string[]> = {};
    for (const [label, q] of Object.entries(queues)) got[label] = await drain(ch, q);
    await ch.close();
    return got;
  }

  it('direct: exact routing-key match, several keys per queue', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('b-direct', 'direct', { durable: false });
    const q1 = (await ch.assertQueue('', { exclusive: true })).queue;
    const q2 = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q1, 'b-direct', 'red');
    await ch.bindQueue(q1, 'b-direct', 'green');
    await ch.bindQueue(q2, 'b-direct', 'red');
    for (const key of ['red', 'green', 'blue', 'Red', 'red.x']) ch.publish('b-direct', key, body(key));
    await settle(100);
    assert.deepEqual(await drain(ch, q1), ['red', 'green']);
    assert.deepEqual(await drain(ch, q2), ['red']);
    await ch.unbindQueue(q1, 'b-direct', 'red');
    ch.publish('b-direct', 'red', body('after-unbind'));
    await settle(100);
    assert.deepEqual(await drain(ch, q1), []);
    assert.deepEqual(await drain(ch, q2), ['after-unbind']);
    await ch.close();
  });

  it('fanout: every bound queue gets every message, whatever the key', async () => {
    const got = await routeThrough('b-fanout', 'fanout', { a: { key: 'ignored' }, b: {} }, [
      { key: 'x', body: '1' },
      { key: '', body: '2' },
    ]);
    assert.deepEqual(got, { a: ['1', '2'], b: ['1', '2'] });
  });

  it('topic: * is exactly one word, # is zero or more words', async () => {
    const keys = ['a', 'a.b', 'a.b.c', 'a.z', 'a.b.c.z', 'z', 'b.a', '', 'a..z'];
    const got = await routeThrough(
      'b-topic',
      'topic',
      {
        star: { key: 'a.*' },
        hashTail: { key: 'a.#' },
        hashHead: { key: '#.z' },
        hashMid: { key: 'a.#.z' },
        all: { key: '#' },
        exact: { key: 'a.b' },
        stars: { key: '*.*' },
      },
      keys.map((key) => ({ key, body: key === '' ? '<empty>' : key })),
    );
    assert.deepEqual(got.star, ['a.b', 'a.z']);
    assert.deepEqual(got.hashTail, ['a', 'a.b', 'a.b.c', 'a.z', 'a.b.c.z', 'a..z'], "'a.#' matches 'a' (# = zero words)");
    assert.deepEqual(got.hashHead, ['a.z', 'a.b.c.z', 'z', 'a..z'], "'#.z' matches 'z'");
    assert.deepEqual(got.hashMid, ['a.z', 'a.b.c.z', 'a..z'], "'a.#.z' matches 'a.z'");
    assert.deepEqual(got.all, ['a', 'a.b', 'a.b.c', 'a.z', 'a.b.c.z', 'z', 'b.a', '<empty>', 'a..z']);
    assert.deepEqual(got.exact, ['a.b']);
    assert.deepEqual(got.stars, ['a.b', 'a.z', 'b.a']);
  });

  it('headers: x-match all and any (x- keys ignored), default all', async () => {
    const got = await routeThrough(
      'b-headers',
      'headers',
      {
        all: { args: { 'x-match': 'all', color: 'red', size: 'big' } },
        any: { args: { 'x-match': 'any', color: 'red', size: 'big' } },
        dflt: { args: { color: 'red' } },
        num: { args: { 'x-match': 'all', n: 42 } },
      },
      [
        { headers: { color: 'red', size: 'big' }, body: 'both' },
        { headers: { color: 'red', size: 'small' }, body: 'color-only' },
        { headers: { size: 'big', extra: true }, body: 'size-only' },
        { headers: { color: 'blue' }, body: 'none' },
        { body: 'no-headers' },
        { headers: { n: 42 }, body: 'n42' },
      ],
    );
    assert.deepEqual(got.all, ['both']);
    assert.deepEqual(got.any, ['both', 'color-only', 'size-only']);
    assert.deepEqual(got.dflt, ['both', 'color-only']);
    assert.deepEqual(got.num, ['n42']);
  });

  it('binding to or from the default exchange is refused with 403', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: false, autoDelete: false, durable: false })).queue;
    await expectRefused(ch.bindQueue(q, '', 'k'), ReplyCode.AccessRefused, 'queue.bind to the default exchange');
    const ch2 = await channel(conn);
    await expectRefused(ch2.unbindQueue(q, '', q), ReplyCode.AccessRefused, 'queue.unbind from the default exchange');
    const ch3 = await channel(conn);
    await ch3.deleteQueue(q);
    await ch3.close();
  });

  it('binding a missing queue or to a missing exchange is a 404', async () => {
    const ch = await channel(conn);
    await expectRefused(ch.bindQueue('no-such-q', 'amq.direct', 'k'), ReplyCode.NotFound, 'bind missing queue');
    const ch2 = await channel(conn);
    const q = (await ch2.assertQueue('', { exclusive: true })).queue;
    await expectRefused(ch2.bindQueue(q, 'no-such-x', 'k'), ReplyCode.NotFound, 'bind to missing exchange');
  });
});

describe('queue.purge / queue.delete / default exchange', () => {
  it('the default exchange routes by queue name', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('by-name', { durable: false });
    ch.publish('', 'by-name', body('1'));
    ch.sendToQueue('by-name', body('2'));
    ch.publish('', 'nobody-by-that-name', body('dropped'));
    await settle(100);
    assert.deepEqual(await drain(ch, 'by-name'), ['1', '2']);
    await ch.deleteQueue('by-name');
    await ch.close();
  });

  it('queue.purge returns the number of messages purged, and leaves unacked ones', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('purge-q', { durable: false });
    for (let i = 0; i < 7; i++) ch.sendToQueue('purge-q', body(`p${i}`));
    const held = await getOne(ch, 'purge-q'); // unacked: not purged
    const ok = await ch.purgeQueue('purge-q');
    assert.equal(ok.messageCount, 6);
    assert.equal(await messageCount(conn, 'purge-q'), 0);
    ch.nack(held, false, true);
    await settle(100);
    assert.deepEqual(await drain(ch, 'purge-q'), ['p0']);
    assert.equal((await ch.purgeQueue('purge-q')).messageCount, 0);
    await ch.deleteQueue('purge-q');
    await ch.close();
  });

  it('delete if-empty is refused with 406 and the queue keeps its messages', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('ifempty-q', { durable: false });
    ch.sendToQueue('ifempty-q', body('a'));
    ch.sendToQueue('ifempty-q', body('b'));
    await settle(100);
    await expectRefused(ch.deleteQueue('ifempty-q', { ifEmpty: true }), ReplyCode.PreconditionFailed, 'delete if-empty');
    assert.equal(await messageCount(conn, 'ifempty-q'), 2);
    const ch2 = await channel(conn);
    assert.deepEqual(await drain(ch2, 'ifempty-q'), ['a', 'b']);
    const ok = await ch2.deleteQueue('ifempty-q', { ifEmpty: true });
    assert.equal(ok.messageCount, 0);
    assert.equal(await exists(conn, 'queue', 'ifempty-q'), false);
    await ch2.close();
  });

  it('delete if-unused is refused with 406 while it has a consumer; the queue and messages stay', async () => {
    const consumerConn = await connect(app.amqpUrl);
    const cch = await channel(consumerConn);
    await cch.assertQueue('ifunused-q', { durable: false });
    await cch.prefetch(1);
    const collector = await Collector.start(cch, 'ifunused-q');
    for (let i = 0; i < 3; i++) cch.sendToQueue('ifunused-q', body(`u${i}`));
    await collector.waitFor(1);

    const ch = await channel(conn);
    await expectRefused(ch.deleteQueue('ifunused-q', { ifUnused: true }), ReplyCode.PreconditionFailed, 'delete if-unused');
    assert.equal(await exists(conn, 'queue', 'ifunused-q'), true);
    assert.equal(await messageCount(conn, 'ifunused-q'), 2);
    await consumerConn.close(); // the unacked one is requeued
    const ch2 = await channel(conn);
    const ok = await ch2.deleteQueue('ifunused-q', { ifUnused: true });
    assert.equal(ok.messageCount, 3, 'delete-ok reports the messages deleted');
    assert.equal(await exists(conn, 'queue', 'ifunused-q'), false);
    await ch2.close();
  });

  it('queue.delete returns the message count; deleting a missing queue is ok (idempotent)', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('del-q', { durable: false });
    for (let i = 0; i < 5; i++) ch.sendToQueue('del-q', body(`d${i}`));
    await settle(100);
    const ok = await ch.deleteQueue('del-q');
    assert.equal(ok.messageCount, 5);
    assert.equal(await exists(conn, 'queue', 'del-q'), false);
    const again = await ch.deleteQueue('del-q');
    assert.equal(again.messageCount, 0);
    await ch.close();
  });
});
