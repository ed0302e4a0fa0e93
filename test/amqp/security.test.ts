/**
 * Security over AMQP with real clients: permissions with RabbitMQ's refusal texts, loopback-only
 * users, connection, consumer and queue limits, and AMQPS (with and without client certificates).
 */
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { refusal } from '../support/refusal';
import { startTestApp, TestApp } from '../support/app-harness';
import { loadAmqpClient } from '../support/second-client';
import { haveOpenssl, makeTestCertificates, TestCertificates } from '../support/test-certificates';

/** A non-loopback IPv4 address of this machine, to connect from "the network". */
function externalAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}

/**
 * The refusal text of a connection attempt, through @cloudamqp/amqp-client: amqplib reports a
 * connection.close during the handshake without its reply text.
 */
async function connectionRefusal(url: string): Promise<string> {
  const { AMQPClient } = loadAmqpClient();
  return refusal(new AMQPClient(url).connect());
}

describe('permissions', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
    const users = app.broker.users;
    users.put('limited', { password: 'pw' }, []);
    users.setPermission({ user: 'limited', vhost: '/', configure: '^own-', write: '^own-', read: '^own-' });
    app.broker.addVhost('team');
  });
  after(async () => {
    await app?.close();
  });
  const url = (vhost = ''): string => `amqp://limited:pw@127.0.0.1:${app.amqpPort}/${vhost}`;

  it('configure, write and read are checked against the patterns, with RabbitMQ texts; allowed work goes on', async () => {
    const guest = await amqp.connect(app.amqpUrl);
    const guestChannel = await guest.createChannel();
    await guestChannel.assertQueue('guest-q');
    const connection = await amqp.connect(url());
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.assertQueue('own-q', { durable: false });
      await channel.assertExchange('own-x', 'fanout', { durable: false });
      await channel.bindQueue('own-q', 'own-x', '');
      channel.publish('own-x', '', Buffer.from('mine'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const got = await channel.get('own-q', { noAck: true });
      assert.ok(got !== false && got.content.toString() === 'mine', 'the allowed round trip works');

      const declare = await refusal(channel.assertQueue('other-q'));
      assert.match(declare, /403 \(ACCESS-REFUSED\) with message "ACCESS_REFUSED - configure access to queue 'other-q' in vhost '\/' refused for user 'limited'"/);
      assert.equal(app.broker.defaultVhost.findQueue('other-q'), undefined, 'nothing was declared');

      const consumeChannel = await connection.createChannel();
      consumeChannel.on('error', () => undefined);
      const consume = await refusal(consumeChannel.consume('guest-q', () => undefined));
      assert.match(consume, /ACCESS_REFUSED - read access to queue 'guest-q' in vhost '\/' refused for user 'limited'/);

      // publishing to the default exchange needs write on amq.default; the refusal closes the channel
      const publishChannel = await connection.createChannel();
      const closed = new Promise<string>((resolve) => publishChannel.on('error', (error: Error) => resolve(error.message)));
      publishChannel.sendToQueue('own-q', Buffer.from('x'));
      assert.match(await closed, /ACCESS_REFUSED - write access to exchange 'amq.default' in vhost '\/' refused for user 'limited'/);
      assert.equal(app.broker.defaultVhost.getQueue('own-q').messageCount, 0, 'the refused message went nowhere');

      // the connection itself is unharmed
      const again = await connection.createChannel();
      assert.equal((await again.checkQueue('own-q')).queue, 'own-q');
    } finally {
      await connection.close();
      await guest.close();
    }
  });

  it('a vhost without permissions is refused at connection.open (530, RabbitMQ text); granting it lets the user in', async () => {
    const message = await connectionRefusal(url('team'));
    assert.equal(message, "connection closed: NOT_ALLOWED - access to vhost 'team' refused for user 'limited' (530)");
    app.broker.users.setPermission({ user: 'limited', vhost: 'team', configure: '.*', write: '.*', read: '.*' });
    const connection = await amqp.connect(url('team'));
    await connection.close();
  });

  it('a permission change applies to open connections at once', async () => {
    const connection = await amqp.connect(url());
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.assertQueue('own-later', { durable: false });
      app.broker.users.setPermission({ user: 'limited', vhost: '/', configure: '^nothing$', write: '^own-', read: '^own-' });
      const message = await refusal(channel.assertQueue('own-later-2', { durable: false }));
      assert.match(message, /configure access to queue 'own-later-2'/);
    } finally {
      app.broker.users.setPermission({ user: 'limited', vhost: '/', configure: '^own-', write: '^own-', read: '^own-' });
      await connection.close().catch(() => undefined);
    }
  });
});

describe('loopback users', () => {
  const external = externalAddress();
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ BIND_HOST: '0.0.0.0' });
    app.broker.users.put('remote', { password: 'pw' }, []);
    app.broker.users.setPermission({ user: 'remote', vhost: '/', configure: '.*', write: '.*', read: '.*' });
  });
  after(async () => {
    await app?.close();
  });

  it('guest logs in from 127.0.0.1 but is refused from a network address; another user is not', { skip: external === undefined ? 'no non-loopback IPv4 address' : false }, async () => {
    const local = await amqp.connect(app.amqpUrl);
    await local.close();
    const message = await connectionRefusal(`amqp://guest:guest@${external}:${app.amqpPort}`);
    assert.match(message, /ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN.*\(403\)/);
    const remote = await amqp.connect(`amqp://remote:pw@${external}:${app.amqpPort}`);
    await remote.close();
  });
});

describe('limits', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ AMQP_MAX_CONNECTIONS: '3', AMQP_MAX_CONNECTIONS_PER_USER: '2', AMQP_MAX_CONSUMERS_PER_CHANNEL: '2', MAX_QUEUES_PER_VHOST: '3' });
    app.broker.users.put('other', { password: 'pw' }, []);
    app.broker.users.setPermission({ user: 'other', vhost: '/', configure: '.*', write: '.*', read: '.*' });
  });
  after(async () => {
    await app?.close();
  });

  it('connections per user and in all are limited (530, RabbitMQ texts); a closed one frees its place', async () => {
    const first = await amqp.connect(app.amqpUrl);
    const second = await amqp.connect(app.amqpUrl);
    const perUser = await connectionRefusal(app.amqpUrl);
    assert.match(perUser, /NOT_ALLOWED - Connection refused for user 'guest': user connection limit \(2\) is reached/);
    const otherUrl = `amqp://other:pw@127.0.0.1:${app.amqpPort}`;
    const third = await amqp.connect(otherUrl);
    const overall = await connectionRefusal(otherUrl);
    assert.match(overall, /NOT_ALLOWED - access to vhost '\/' refused for user 'other': connection limit \(3\) is reached/);
    await first.close();
    const replacement = await amqp.connect(app.amqpUrl);
    // the open ones still work
    const channel = await second.createChannel();
    await channel.checkExchange('amq.direct');
    await Promise.all([second.close(), third.close(), replacement.close()]);
  });

  it('consumers per channel and queues per vhost are limited', async () => {
    // a vhost of its own: the delivery door keeps its queues in '/'
    app.broker.addVhost('limits');
    app.broker.users.setPermission({ user: 'guest', vhost: 'limits', configure: '.*', write: '.*', read: '.*' });
    const connection = await amqp.connect(`${app.amqpUrl}/limits`);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.assertQueue('limit-1', { durable: false });
      await channel.assertQueue('limit-2', { durable: false });
      await channel.assertQueue('limit-3', { durable: false });
      const queues = await refusal(channel.assertQueue('limit-4', { durable: false }));
      assert.match(queues, /406 \(PRECONDITION-FAILED\) with message "PRECONDITION_FAILED - cannot declare queue 'limit-4': queue limit in vhost 'limits' \(3\) is reached"/);
      const consumers = await connection.createChannel();
      await consumers.consume('limit-1', () => undefined);
      await consumers.consume('limit-2', () => undefined);
      const closed = new Promise<string>((resolve) => connection.once('error', (error: Error) => resolve(error.message)));
      void consumers.consume('limit-3', () => undefined).catch(() => undefined);
      assert.match(await closed, /NOT_ALLOWED - reached maximum \(2\) of consumers per channel/);
    } finally {
      await connection.close().catch(() => undefined);
    }
  });
});

describe('AMQPS', { skip: haveOpenssl() ? false : 'no openssl to make certificates' }, () => {
  let certificates: TestCertificates;
  let app: TestApp;
  before(async () => {
    certificates = makeTestCertificates();
    app = await startTestApp({
      TLS_CERT_FILE: certificates.certFile,
      TLS_KEY_FILE: certificates.keyFile,
      TLS_CA_FILE: certificates.caFile,
      TLS_VERIFY_PEER: 'true',
      TLS_FAIL_IF_NO_PEER_CERT: 'true',
      AMQPS_PORT: '0',
    });
  });
  after(async () => {
    await app?.close();
    certificates?.cleanup();
  });
  const amqpsUrl = (): string => `amqps://guest:guest@127.0.0.1:${app.running.ports.amqps}`;

  it('a client with a certificate of the CA gets a verified TLS connection and the full protocol', async () => {
    const connection = await amqp.connect(amqpsUrl(), { ca: [certificates.ca], cert: certificates.clientCert, key: certificates.clientKey, servername: 'localhost' });
    try {
      const channel = await connection.createConfirmChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      channel.sendToQueue(queue, Buffer.from('over tls'));
      await channel.waitForConfirms();
      const got = await channel.get(queue, { noAck: true });
      assert.ok(got !== false && got.content.toString() === 'over tls');
    } finally {
      await connection.close();
    }
    // the plain port goes on beside it
    const plain = await amqp.connect(app.amqpUrl);
    await plain.close();
  });

  it('a client without a certificate, or with one of another CA, is refused; a client not trusting our CA refuses us', async () => {
    await assert.rejects(amqp.connect(amqpsUrl(), { ca: [certificates.ca], servername: 'localhost' }));
    await assert.rejects(amqp.connect(amqpsUrl(), { ca: [certificates.ca], cert: certificates.strangerCert, key: certificates.strangerKey, servername: 'localhost' }));
    const untrusted = await refusal(amqp.connect(amqpsUrl(), { cert: certificates.clientCert, key: certificates.clientKey, servername: 'localhost' }));
    assert.match(untrusted, /self-signed|unable to verify|certificate/i);
    // after the refusals the listener still serves
    const connection = await amqp.connect(amqpsUrl(), { ca: [certificates.ca], cert: certificates.clientCert, key: certificates.clientKey, servername: 'localhost' });
    await connection.close();
  });
});
