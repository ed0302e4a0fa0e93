/**
 * Dead-letter and alternate exchanges over AMQP: a declaration that makes the broker publish into
 * an exchange needs write on that exchange and read on the declared queue or exchange, checked
 * when the declaration creates it, as RabbitMQ's rabbit_channel does. Measured on RabbitMQ 3.10.8
 * with the same permissions: 403 ACCESS_REFUSED "access to exchange 'probe.other.x' in vhost '/'
 * refused for user 'probe'" (read first, then write; the default exchange as amq.default; an
 * existing queue redeclared is not checked again). Our texts name the access, as our other
 * refusals and newer RabbitMQ do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { refusal } from '../support/refusal';
import { startTestApp, TestApp } from '../support/app-harness';

const refused = (text: string): RegExp => new RegExp(`403 \\(ACCESS-REFUSED\\) with message "ACCESS_REFUSED - ${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`);

describe('dead-letter and alternate exchanges need write on the target (and read on the source)', () => {
  let app: TestApp;
  let guest: amqp.ChannelModel;
  let probe: amqp.ChannelModel;

  before(async () => {
    app = await startTestApp();
    app.broker.users.put('probe', { password: 'pw' }, []);
    // configure on noread.* too, so a declaration there fails on read and nothing else
    app.broker.users.setPermission({ user: 'probe', vhost: '/', configure: '^(probe\\.lim\\.|noread\\.)', write: '^probe\\.lim\\.', read: '^probe\\.lim\\.' });
    guest = await amqp.connect(app.amqpUrl);
    const channel = await guest.createChannel();
    for (const prefix of ['probe.other', 'probe.lim']) {
      await channel.assertExchange(`${prefix}.x`, 'direct', { durable: false });
      await channel.assertQueue(`${prefix}.q`, { durable: false });
      await channel.bindQueue(`${prefix}.q`, `${prefix}.x`, 'k');
    }
    probe = await amqp.connect(`amqp://probe:pw@127.0.0.1:${app.amqpPort}`);
  });

  after(async () => {
    await probe?.close().catch(() => undefined);
    await guest?.close().catch(() => undefined);
    await app?.close();
  });

  /** A fresh channel of the limited user (a refusal closes the channel, not the connection). */
  async function channel(): Promise<amqp.Channel> {
    const ch = await probe.createChannel();
    ch.on('error', () => undefined);
    return ch;
  }

  const otherDepth = (): number => app.broker.defaultVhost.getQueue('probe.other.q').messageCount;

  it('a queue dead-lettering into an exchange the user may not write is refused, and nothing reaches it', async () => {
    const ch = await channel();
    const answer = await refusal(ch.assertQueue('probe.lim.dlq', { durable: false, arguments: { 'x-dead-letter-exchange': 'probe.other.x', 'x-dead-letter-routing-key': 'k' } }));
    assert.match(answer, refused("write access to exchange 'probe.other.x' in vhost '/' refused for user 'probe'"));
    assert.equal(app.broker.defaultVhost.findQueue('probe.lim.dlq'), undefined, 'nothing was declared');

    // the way in the issue: the queue would take the user's messages and the broker would move them on
    const again = await channel();
    await refusal(again.assertQueue('probe.lim.dlq', { durable: false, arguments: { 'x-dead-letter-exchange': 'probe.other.x', 'x-dead-letter-routing-key': 'k', 'x-message-ttl': 1 } }));
    assert.equal(otherDepth(), 0);
  });

  it('dead-lettering into an exchange the user may write works, and moves the messages', async () => {
    const ch = await channel();
    await ch.assertQueue('probe.lim.dlq-ok', { durable: false, arguments: { 'x-dead-letter-exchange': 'probe.lim.x', 'x-dead-letter-routing-key': 'k' } });
    await ch.bindQueue('probe.lim.dlq-ok', 'probe.lim.x', 'in');
    ch.publish('probe.lim.x', 'in', Buffer.from('dead soon'));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 100 && got === false; i++) got = await ch.get('probe.lim.dlq-ok');
    assert.ok(got !== false);
    ch.nack(got, false, false);
    let moved: amqp.GetMessage | false = false;
    for (let i = 0; i < 100 && moved === false; i++) moved = await ch.get('probe.lim.q', { noAck: true });
    assert.ok(moved !== false && moved.content.toString() === 'dead soon');
  });

  it('dead-lettering into the default exchange needs write on amq.default', async () => {
    const answer = await refusal((await channel()).assertQueue('probe.lim.dl-default', { durable: false, arguments: { 'x-dead-letter-exchange': '' } }));
    assert.match(answer, refused("write access to exchange 'amq.default' in vhost '/' refused for user 'probe'"));
  });

  it('the declared queue must be readable: its messages are what moves', async () => {
    const answer = await refusal((await channel()).assertQueue('noread.q', { durable: false, arguments: { 'x-dead-letter-exchange': 'probe.lim.x' } }));
    assert.match(answer, refused("read access to queue 'noread.q' in vhost '/' refused for user 'probe'"));
    // without a dead-letter exchange, configure is all a declaration needs
    await (await channel()).assertQueue('noread.plain', { durable: false });
  });

  it('redeclaring an existing queue is not checked again (as RabbitMQ: it was allowed to whoever created it)', async () => {
    const args = { 'x-dead-letter-exchange': 'probe.other.x' };
    await (await guest.createChannel()).assertQueue('probe.lim.guest-made', { durable: false, arguments: args });
    const ok = await (await channel()).assertQueue('probe.lim.guest-made', { durable: false, arguments: args });
    assert.equal(ok.queue, 'probe.lim.guest-made');
  });

  it('an exchange with an alternate exchange the user may not write is refused, and nothing reaches it', async () => {
    const ch = await channel();
    const answer = await refusal(ch.assertExchange('probe.lim.ae', 'direct', { durable: false, alternateExchange: 'probe.other.x' }));
    assert.match(answer, refused("write access to exchange 'probe.other.x' in vhost '/' refused for user 'probe'"));
    assert.equal(app.broker.defaultVhost.findExchange('probe.lim.ae'), undefined);
    const publisher = await channel();
    publisher.publish('probe.lim.x', 'k-unrouted', Buffer.from('x'));
    await publisher.checkQueue('probe.lim.q');
    assert.equal(otherDepth(), 0);
  });

  it('an alternate exchange the user may write works; the declared exchange must be readable', async () => {
    const ch = await channel();
    await ch.assertExchange('probe.lim.ae-ok', 'direct', { durable: false, alternateExchange: 'probe.lim.x' });
    ch.publish('probe.lim.ae-ok', 'k', Buffer.from('unroutable here'));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 100 && got === false; i++) got = await ch.get('probe.lim.q', { noAck: true });
    assert.ok(got !== false && got.content.toString() === 'unroutable here', 'the alternate exchange routed it');

    const answer = await refusal((await channel()).assertExchange('noread.x', 'direct', { durable: false, alternateExchange: 'probe.lim.x' }));
    assert.match(answer, refused("read access to exchange 'noread.x' in vhost '/' refused for user 'probe'"));
  });

  it('a dead-letter exchange that is not a string is refused as invalid (406), as RabbitMQ', async () => {
    const answer = await refusal((await channel()).assertQueue('probe.lim.dl-number', { durable: false, arguments: { 'x-dead-letter-exchange': 5 } }));
    assert.match(answer, /406 \(PRECONDITION-FAILED\)/);
  });

  it('an administrator declares what it may: guest (.* on /) is unaffected', async () => {
    const ch = await guest.createChannel();
    await ch.assertQueue('guest.dlq', { durable: false, arguments: { 'x-dead-letter-exchange': 'probe.other.x' } });
    await ch.assertExchange('guest.ae', 'direct', { durable: false, alternateExchange: 'probe.other.x' });
    await ch.close();
  });
});
