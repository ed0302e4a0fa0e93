/**
 * Vhost limits as RabbitMQ has them (/api/vhost-limits, max-connections, max-queues): set, read
 * and cleared over real HTTP, enforced on real amqplib clients and on the management API's own
 * queue declare, kept across a restart and carried by definitions export/import.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { refusal } from '../support/refusal';
import { restartableApp, startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';
import { loadAmqpClient } from '../support/second-client';

/** The refusal text of a connection attempt (amqplib reports a close during the handshake without its text). */
async function connectionRefusal(url: string): Promise<string> {
  const { AMQPClient } = loadAmqpClient();
  return refusal(new AMQPClient(url).connect());
}

const vhostPath = (vhost: string): string => encodeURIComponent(vhost);

describe('vhost limits', () => {
  let app: TestApp;
  let admin: ManagementClient;

  before(async () => {
    app = await startTestApp();
    admin = new ManagementClient(app.managementUrl);
  });

  after(async () => {
    await app?.close();
  });

  /** A fresh vhost with full permissions for guest. */
  async function freshVhost(name: string): Promise<void> {
    assert.equal((await admin.put(`/api/vhosts/${vhostPath(name)}`, {})).status, 201);
  }

  it('sets, lists and clears limits in RabbitMQ’s shapes', async () => {
    await freshVhost('lim-api');
    assert.deepEqual(await admin.get('/api/vhost-limits/lim-api'), [], 'no limits yet');
    assert.equal((await admin.put('/api/vhost-limits/lim-api/max-connections', { value: 10 })).status, 204);
    assert.equal((await admin.put('/api/vhost-limits/lim-api/max-queues', { value: 0 })).status, 204, '0 is a limit, as RabbitMQ allows');
    assert.deepEqual(await admin.get('/api/vhost-limits/lim-api'), [{ vhost: 'lim-api', value: { 'max-connections': 10, 'max-queues': 0 } }]);
    const all = await admin.get<{ vhost: string }[]>('/api/vhost-limits');
    assert.deepEqual(
      all.filter((l) => l.vhost === 'lim-api'),
      [{ vhost: 'lim-api', value: { 'max-connections': 10, 'max-queues': 0 } }],
    );
    assert.equal((await admin.put('/api/vhost-limits/lim-api/max-connections', { value: -1 })).status, 204, '-1: no limit, kept as RabbitMQ keeps it');
    assert.deepEqual(await admin.get('/api/vhost-limits/lim-api'), [{ vhost: 'lim-api', value: { 'max-connections': -1, 'max-queues': 0 } }]);
    assert.equal((await admin.delete('/api/vhost-limits/lim-api/max-queues')).status, 204);
    assert.equal((await admin.delete('/api/vhost-limits/lim-api/max-queues')).status, 204, 'clearing a limit that is not set is fine, as in RabbitMQ');
    assert.deepEqual(await admin.get('/api/vhost-limits/lim-api'), [{ vhost: 'lim-api', value: { 'max-connections': -1 } }]);
    assert.equal((await admin.delete('/api/vhost-limits/lim-api/max-connections')).status, 204);
    assert.deepEqual(await admin.get('/api/vhost-limits/lim-api'), []);
    assert.ok(!(await admin.get<{ vhost: string }[]>('/api/vhost-limits')).some((l) => l.vhost === 'lim-api'), 'a vhost without limits is not listed');
  });

  it('refuses bad input with a clear 4xx, never a 500', async () => {
    await freshVhost('lim-bad');
    const cases: [string, string, unknown, number, RegExp][] = [
      ['PUT', '/api/vhost-limits/lim-bad/max-conns', { value: 1 }, 400, /unknown vhost limit 'max-conns'/],
      ['PUT', '/api/vhost-limits/lim-bad/max-queues', { value: 1.5 }, 400, /max-queues should be an integer/],
      ['PUT', '/api/vhost-limits/lim-bad/max-queues', { value: '10' }, 400, /max-queues should be an integer/],
      ['PUT', '/api/vhost-limits/lim-bad/max-queues', { value: null }, 400, /max-queues should be an integer/],
      ['PUT', '/api/vhost-limits/lim-bad/max-queues', { limit: 10 }, 400, /"value"/],
      ['PUT', '/api/vhost-limits/lim-bad/max-queues', [10], 400, /"value"/],
      ['PUT', '/api/vhost-limits/no-such-vhost/max-queues', { value: 1 }, 404, /no-such-vhost/],
      ['GET', '/api/vhost-limits/no-such-vhost', undefined, 404, /no-such-vhost/],
      ['DELETE', '/api/vhost-limits/no-such-vhost/max-queues', undefined, 404, /no-such-vhost/],
      ['DELETE', '/api/vhost-limits/lim-bad/max-conns', undefined, 404, /no vhost limit 'max-conns'/],
    ];
    for (const [method, path, body, status, reason] of cases) {
      const answer = await admin.request(method, path, body);
      assert.equal(answer.status, status, `${method} ${path} ${JSON.stringify(body)}: ${answer.text}`);
      assert.match((answer.json as { reason: string }).reason, reason, `${method} ${path}`);
    }
    const notJson = await admin.request('PUT', '/api/vhost-limits/lim-bad/max-queues', undefined, { 'content-type': 'application/json' });
    assert.equal(notJson.status, 400, `an empty body: ${notJson.text}`);
    assert.deepEqual(await admin.get('/api/vhost-limits/lim-bad'), [], 'nothing refused was kept');
  });

  it('lets administrators set and clear; others read the limits of the vhosts they see', async () => {
    await freshVhost('lim-authz');
    await admin.put('/api/vhost-limits/lim-authz/max-queues', { value: 5 });
    for (const [name, tags] of [
      ['lim-mgmt', 'management'],
      ['lim-mon', 'monitoring'],
      ['lim-outsider', 'management'],
    ]) {
      assert.equal((await admin.put(`/api/users/${name}`, { password: 'pw', tags })).status, 201);
    }
    assert.equal((await admin.put('/api/permissions/lim-authz/lim-mgmt', { configure: '.*', write: '.*', read: '.*' })).status, 201);
    const mgmt = admin.as('lim-mgmt', 'pw');
    const monitor = admin.as('lim-mon', 'pw');
    const outsider = admin.as('lim-outsider', 'pw');
    assert.deepEqual(await mgmt.get('/api/vhost-limits/lim-authz'), [{ vhost: 'lim-authz', value: { 'max-queues': 5 } }]);
    assert.deepEqual(await monitor.get('/api/vhost-limits/lim-authz'), [{ vhost: 'lim-authz', value: { 'max-queues': 5 } }], 'monitoring users see every vhost');
    const refusedRead = await outsider.request('GET', '/api/vhost-limits/lim-authz');
    assert.deepEqual([refusedRead.status, refusedRead.json], [401, { error: 'not_authorised', reason: 'User not authorised to access virtual host' }]);
    assert.ok(!(await outsider.get<{ vhost: string }[]>('/api/vhost-limits')).some((l) => l.vhost === 'lim-authz'), 'the list shows only the vhosts the user sees');
    for (const [who, client] of [
      ['management', mgmt],
      ['monitoring', monitor],
    ] as const) {
      const put = await client.put('/api/vhost-limits/lim-authz/max-queues', { value: 50 });
      assert.deepEqual([put.status, put.json], [401, { error: 'not_authorised', reason: 'Not administrator user' }], `${who} may not set`);
      const cleared = await client.delete('/api/vhost-limits/lim-authz/max-queues');
      assert.equal(cleared.status, 401, `${who} may not clear`);
    }
    assert.deepEqual(await admin.get('/api/vhost-limits/lim-authz'), [{ vhost: 'lim-authz', value: { 'max-queues': 5 } }], 'the refused calls changed nothing');
  });

  it('max-connections refuses an AMQP connection as RabbitMQ does (530 NOT_ALLOWED); a closed one frees its place', async () => {
    await freshVhost('lim-conn');
    const url = `${app.amqpUrl}/lim-conn`;
    await admin.put('/api/vhost-limits/lim-conn/max-connections', { value: 2 });
    const first = await amqp.connect(url);
    const second = await amqp.connect(url);
    try {
      const refused = await connectionRefusal(url);
      assert.match(refused, /530/);
      assert.match(refused, /NOT_ALLOWED - access to vhost 'lim-conn' refused for user 'guest': connection limit \(2\) is reached/);
      // another vhost is not limited by this one's limit
      const elsewhere = await amqp.connect(app.amqpUrl);
      await elsewhere.close();
      await first.close();
      const replacement = await amqp.connect(url);
      const channel = await replacement.createChannel();
      await channel.checkExchange('amq.direct');
      await replacement.close();
      // 0: no connection at all; -1: no limit
      await admin.put('/api/vhost-limits/lim-conn/max-connections', { value: 0 });
      assert.match(await connectionRefusal(url), /connection limit \(0\) is reached/);
      await admin.put('/api/vhost-limits/lim-conn/max-connections', { value: -1 });
      const many = await Promise.all([amqp.connect(url), amqp.connect(url), amqp.connect(url)]);
      await Promise.all(many.map((c) => c.close()));
    } finally {
      await second.close().catch(() => undefined);
    }
  });

  it('max-queues refuses a new queue as RabbitMQ does (406), over AMQP and over the management API', async () => {
    await freshVhost('lim-q');
    await admin.put('/api/vhost-limits/lim-q/max-queues', { value: 2 });
    const connection = await amqp.connect(`${app.amqpUrl}/lim-q`);
    try {
      let channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.assertQueue('q1', { durable: false });
      await channel.assertQueue('q2', { durable: true });
      await channel.assertQueue('q1', { durable: false });
      const refused = await refusal(channel.assertQueue('q3', { durable: false }));
      assert.match(refused, /406 \(PRECONDITION-FAILED\) with message "PRECONDITION_FAILED - cannot declare queue 'q3': queue limit in vhost 'lim-q' \(2\) is reached"/);
      const overHttp = await admin.put('/api/queues/lim-q/q4', { durable: true });
      assert.equal(overHttp.status, 400, overHttp.text);
      assert.match((overHttp.json as { reason: string }).reason, /cannot declare queue 'q4': queue limit in vhost 'lim-q' \(2\) is reached/);
      // a server-named queue counts too
      channel = await connection.createChannel();
      channel.on('error', () => undefined);
      assert.match(await refusal(channel.assertQueue('', { exclusive: true })), /queue limit in vhost 'lim-q' \(2\) is reached/);
      // deleting one frees a place; raising the limit or clearing it lets more in
      channel = await connection.createChannel();
      await channel.deleteQueue('q1');
      await channel.assertQueue('q3', { durable: false });
      await admin.delete('/api/vhost-limits/lim-q/max-queues');
      await channel.assertQueue('q4', { durable: false });
      await admin.put('/api/vhost-limits/lim-q/max-queues', { value: 0 });
      channel.on('error', () => undefined);
      assert.match(await refusal(channel.assertQueue('q5', { durable: false })), /queue limit in vhost 'lim-q' \(0\) is reached/);
    } finally {
      await connection.close().catch(() => undefined);
    }
    assert.deepEqual(
      (await admin.get<{ name: string }[]>('/api/queues/lim-q')).map((q) => q.name).sort(),
      ['q2', 'q3', 'q4'],
    );
  });

  it('deleting a vhost deletes its limits (a vhost of the same name starts without)', async () => {
    await freshVhost('lim-gone');
    await admin.put('/api/vhost-limits/lim-gone/max-queues', { value: 3 });
    assert.equal((await admin.delete('/api/vhosts/lim-gone')).status, 204);
    await freshVhost('lim-gone');
    assert.deepEqual(await admin.get('/api/vhost-limits/lim-gone'), []);
  });
});

describe('vhost limits are definitions', () => {
  it('survive a restart and travel in definitions export and import (RabbitMQ’s vhost-limits parameter)', async () => {
    const first = restartableApp();
    const second = restartableApp();
    try {
      let app = await first.start();
      let admin = new ManagementClient(app.managementUrl);
      await admin.put('/api/vhosts/lim-def', {});
      await admin.put('/api/vhost-limits/lim-def/max-queues', { value: 1 });
      await admin.put('/api/vhost-limits/lim-def/max-connections', { value: 7 });
      await app.stop();
      app = await first.start();
      admin = new ManagementClient(app.managementUrl);
      assert.deepEqual(await admin.get('/api/vhost-limits/lim-def'), [{ vhost: 'lim-def', value: { 'max-queues': 1, 'max-connections': 7 } }], 'kept across a restart');

      const exported = await admin.get<{ parameters: unknown[] }>('/api/definitions');
      assert.deepEqual(exported.parameters, [{ vhost: 'lim-def', component: 'vhost-limits', name: 'limits', value: { 'max-queues': 1, 'max-connections': 7 } }]);
      const ofVhost = await admin.get<{ parameters: unknown[] }>('/api/definitions/lim-def');
      assert.deepEqual(ofVhost.parameters, exported.parameters);

      const target = await second.start();
      const targetAdmin = new ManagementClient(target.managementUrl);
      // RabbitMQ imports parameters before queues: two queues against max-queues 1 stop at the second
      const withQueues = { ...exported, queues: [
        { name: 'a', vhost: 'lim-def', durable: true, auto_delete: false, arguments: {} },
        { name: 'b', vhost: 'lim-def', durable: true, auto_delete: false, arguments: {} },
      ] };
      const imported = await targetAdmin.post('/api/definitions', withQueues);
      assert.equal(imported.status, 400, imported.text);
      assert.match((imported.json as { reason: string }).reason, /queue 'b': cannot declare queue 'b': queue limit in vhost 'lim-def' \(1\) is reached/);
      assert.deepEqual(await targetAdmin.get('/api/vhost-limits/lim-def'), [{ vhost: 'lim-def', value: { 'max-queues': 1, 'max-connections': 7 } }]);

      // an import replaces a vhost's limits as a whole, as RabbitMQ's set_vhost_limits
      const replaced = await targetAdmin.post('/api/definitions', { parameters: [{ vhost: 'lim-def', component: 'vhost-limits', name: 'limits', value: { 'max-connections': 3 } }] });
      assert.equal(replaced.status, 204, replaced.text);
      assert.deepEqual(await targetAdmin.get('/api/vhost-limits/lim-def'), [{ vhost: 'lim-def', value: { 'max-connections': 3 } }]);
      const bad = await targetAdmin.post('/api/definitions', { parameters: [{ vhost: 'lim-def', component: 'vhost-limits', name: 'limits', value: { 'max-connections': 4, 'max-channels': 2 } }] });
      assert.equal(bad.status, 400);
      assert.match((bad.json as { reason: string }).reason, /limits of vhost 'lim-def': unknown vhost limit 'max-channels'/);
      assert.deepEqual(await targetAdmin.get('/api/vhost-limits/lim-def'), [{ vhost: 'lim-def', value: { 'max-connections': 3 } }], 'a refused import of limits keeps none of them');
    } finally {
      await first.close();
      await second.close();
    }
  });
});
