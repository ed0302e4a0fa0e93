#!/usr/bin/env node
// Records who may do what through the management API: every route our management API serves,
// called as a user of each management tag (and one without), in a vhost where the user may do
// everything, one where it may touch only `^mine\.` names, and one where it has no permissions.
// Run against a real RabbitMQ it yields the table test/management/fixtures/authz-rabbitmq-*.json;
// test/management/authorization.test.ts runs the same rows (this module) against our broker and
// compares.
//
//   node scripts/authz-table/record.js --management http://127.0.0.1:15673 --amqp amqp://127.0.0.1:5673 \
//        [--admin guest:guest] [--out test/management/fixtures/authz-rabbitmq-3.10.json]
//
// The admin credentials (full permissions are given to it in the fixture vhosts) set up and restore
// the fixtures; every row starts from the same state: a row that changed something (2xx on a
// mutating route) is followed by a restore of what it may have touched.
'use strict';

const { writeFileSync } = require('node:fs');

/** The users under test, by the role the table names them with. */
const USERS = {
  administrator: { name: 'az-administrator', tags: 'administrator' },
  management: { name: 'az-management', tags: 'management' },
  policymaker: { name: 'az-policymaker', tags: 'policymaker' },
  monitoring: { name: 'az-monitoring', tags: 'monitoring' },
  none: { name: 'az-notag', tags: '' },
};
const ROLES = Object.keys(USERS);
const passwordOf = (name) => `${name}-pw`;

/** Vhosts: full permissions, permissions on `^mine\.` names only, no permissions at all. */
const FULL = 'az-full';
const MINE = 'az-mine';
const NONE = 'az-none';
const VHOSTS = [FULL, MINE, NONE];
const PERMISSIONS = { [FULL]: '.*', [MINE]: '^mine\\.' };
/** A user and a vhost that administrators may delete and the rows restore. */
const VICTIM = 'az-victim';
const VICTIM_VHOST = 'az-victim-vhost';
/** Where every test user's AMQP connection consumes (so consumers and channels exist). */
const CONSUMED = 'mine.consumed';
/** Names rows may create, removed again by the restores. */
const CREATED_QUEUES = ['mine.new-q', 'other.new-q', 'mine.dlx-q', 'mine.dlx-ok-q', 'other.dlx-q', 'mine.def-q'];
const CREATED_EXCHANGES = ['mine.new-x', 'other.new-x', 'mine.ae-x', 'mine.ae-ok-x'];
const CREATED_POLICIES = ['az-new-pol', 'az-dlx-pol', 'az-dlx-ok-pol', 'az-ae-pol'];

const enc = encodeURIComponent;

/** A tiny management API client (Node's fetch, basic auth). */
class Api {
  constructor(base, user, password) {
    this.base = base.replace(/\/$/, '');
    this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  async request(method, path, body) {
    const headers = { authorization: this.auth };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    let json;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  }

  /** A setup call that must succeed (or answer one of `allowed`). */
  async must(method, path, body, allowed = []) {
    const response = await this.request(method, path, body);
    if (!(response.status >= 200 && response.status < 300) && !allowed.includes(response.status)) {
      throw new Error(`setup ${method} ${path}: ${response.status} ${response.text}`);
    }
    return response;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// ---- fixtures ------------------------------------------------------------------------------------

/** Users, vhosts and permissions (idempotent). */
async function createAccess(admin, adminName) {
  for (const vhost of [...VHOSTS, VICTIM_VHOST]) {
    await admin.must('PUT', `/api/vhosts/${enc(vhost)}`, {});
    await admin.must('PUT', `/api/permissions/${enc(vhost)}/${enc(adminName)}`, { configure: '.*', write: '.*', read: '.*' });
  }
  for (const { name, tags } of [...Object.values(USERS), { name: VICTIM, tags: '' }]) {
    // rows change tags at most: a user that is still as created is left alone (hashing a password costs)
    const current = await admin.request('GET', `/api/users/${enc(name)}`);
    const currentTags = current.json === undefined ? undefined : [].concat(current.json.tags ?? []).join(',');
    if (current.status !== 200 || currentTags !== tags) await admin.must('PUT', `/api/users/${enc(name)}`, { password: passwordOf(name), tags });
  }
  for (const [vhost, pattern] of Object.entries(PERMISSIONS)) {
    for (const { name } of Object.values(USERS)) await admin.must('PUT', `/api/permissions/${enc(vhost)}/${enc(name)}`, { configure: pattern, write: pattern, read: pattern });
  }
  // a row may have granted a user permissions where it has none
  for (const { name } of Object.values(USERS)) await admin.must('DELETE', `/api/permissions/${enc(NONE)}/${enc(name)}`, undefined, [404]);
  await admin.must('PUT', `/api/permissions/${enc(FULL)}/${enc(VICTIM)}`, { configure: '.*', write: '.*', read: '.*' });
  for (const vhost of VHOSTS) await admin.must('DELETE', `/api/permissions/${enc(vhost)}/${enc(VICTIM)}`, undefined, [404]);
  for (const vhost of VHOSTS) await admin.must('PUT', `/api/permissions/${enc(vhost)}/${enc(VICTIM)}`, { configure: '.*', write: '.*', read: '.*' });
}

/** One vhost's exchanges, queues (one message each), bindings and policy, as if no row had run. */
async function restoreVhost(admin, vhost) {
  const v = enc(vhost);
  for (const name of CREATED_QUEUES) await admin.must('DELETE', `/api/queues/${v}/${enc(name)}`, undefined, [404]);
  for (const name of CREATED_EXCHANGES) await admin.must('DELETE', `/api/exchanges/${v}/${enc(name)}`, undefined, [404]);
  for (const name of CREATED_POLICIES) await admin.must('DELETE', `/api/policies/${v}/${enc(name)}`, undefined, [404]);
  await admin.must('PUT', `/api/policies/${v}/az-pol`, { pattern: '^nothing-matches$', definition: { 'max-length': 1000 }, 'apply-to': 'queues', priority: 0 });
  for (const prefix of ['mine', 'other']) {
    await admin.must('PUT', `/api/exchanges/${v}/${prefix}.x`, { type: 'direct', durable: true, auto_delete: false, internal: false, arguments: {} });
    await admin.must('PUT', `/api/queues/${v}/${prefix}.q`, { durable: true, auto_delete: false, arguments: {} });
    await admin.must('POST', `/api/bindings/${v}/e/${prefix}.x/q/${prefix}.q`, { routing_key: 'k', arguments: {} });
  }
  // bindings rows may have added (k2, exchange to exchange): remove them
  for (const [source, kind, destination] of [
    ['mine.x', 'q', 'mine.q'],
    ['other.x', 'q', 'other.q'],
    ['other.x', 'q', 'mine.q'],
    ['mine.x', 'q', 'other.q'],
    ['mine.x', 'e', 'other.x'],
    ['other.x', 'e', 'mine.x'],
  ]) {
    const list = await admin.must('GET', `/api/bindings/${v}/e/${enc(source)}/${kind}/${enc(destination)}`, undefined, [404]);
    for (const b of Array.isArray(list.json) ? list.json : []) {
      if (b.routing_key === 'k' && kind === 'q' && source.split('.')[0] === destination.split('.')[0]) continue;
      await admin.must('DELETE', `/api/bindings/${v}/e/${enc(source)}/${kind}/${enc(destination)}/${enc(b.properties_key)}`, undefined, [404]);
    }
  }
  for (const prefix of ['mine', 'other']) {
    await admin.must('DELETE', `/api/queues/${v}/${prefix}.q/contents`);
    await admin.must('POST', `/api/exchanges/${v}/${prefix}.x/publish`, { routing_key: 'k', payload: `${prefix} message`, payload_encoding: 'string', properties: {} });
  }
  if (vhost === FULL) await admin.must('PUT', `/api/queues/${v}/${CONSUMED}`, { durable: false, auto_delete: false, arguments: {} });
}

/** Users, vhosts, permissions and every vhost's resources. */
async function createFixtures(admin, adminName) {
  await createAccess(admin, adminName);
  for (const vhost of VHOSTS) await restoreVhost(admin, vhost);
}

/** Removes everything the fixtures made. */
async function removeFixtures(admin) {
  for (const vhost of [...VHOSTS, VICTIM_VHOST, 'az-new-vhost']) await admin.must('DELETE', `/api/vhosts/${enc(vhost)}`, undefined, [404]);
  for (const name of [...Object.values(USERS).map((u) => u.name), VICTIM, 'az-new-user']) await admin.must('DELETE', `/api/users/${enc(name)}`, undefined, [404]);
}

// ---- AMQP sessions ---------------------------------------------------------------------------------

/**
 * One AMQP connection per test user into az-full, each with a channel consuming mine.consumed, so
 * connection, channel and consumer routes have something of each user's to show or hide.
 */
class Sessions {
  constructor(amqpUrl, admin) {
    this.amqpUrl = amqpUrl;
    this.admin = admin;
    this.open = new Map();
    /** role -> { connection, channel } names as the management API calls them */
    this.names = {};
  }

  async start(roles = ROLES) {
    const amqp = require('amqplib');
    const url = new URL(this.amqpUrl);
    for (const role of roles) {
      const { name } = USERS[role];
      url.username = enc(name);
      url.password = enc(passwordOf(name));
      url.pathname = `/${enc(FULL)}`;
      const connection = await amqp.connect(url.href, { clientProperties: { connection_name: `authz-${role}` } });
      connection.on('error', () => undefined);
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.consume(CONSUMED, () => undefined);
      this.open.set(role, connection);
    }
    await this.resolve();
  }

  /** Waits until the management API lists every user's connection, channel and consumer. */
  async resolve() {
    const wanted = [...this.open.keys()];
    await until('connections, channels and consumers in the management API', async () => {
      const connections = (await this.admin.request('GET', '/api/connections')).json ?? [];
      const channels = (await this.admin.request('GET', '/api/channels')).json ?? [];
      const consumers = (await this.admin.request('GET', `/api/consumers/${enc(FULL)}`)).json ?? [];
      const names = {};
      for (const role of wanted) {
        const user = USERS[role].name;
        const connection = connections.find((c) => c.user === user);
        const channel = channels.find((c) => c.user === user);
        const consumer = consumers.find((c) => c.channel_details?.user === user);
        if (connection === undefined || channel === undefined || consumer === undefined) return false;
        names[role] = { connection: connection.name, channel: channel.name };
      }
      this.names = { ...this.names, ...names };
      return true;
    });
  }

  /** Reopens connections the management API closed. */
  async restore() {
    const closed = [];
    for (const role of ROLES) {
      const connections = (await this.admin.request('GET', '/api/connections')).json ?? [];
      if (!connections.some((c) => c.user === USERS[role].name)) closed.push(role);
    }
    for (const role of closed) {
      await this.open.get(role)?.close().catch(() => undefined);
      this.open.delete(role);
    }
    if (closed.length > 0) await this.start(closed);
  }

  async close() {
    for (const connection of this.open.values()) await connection.close().catch(() => undefined);
    this.open.clear();
  }
}

// ---- rows ----------------------------------------------------------------------------------------

/** What a list shows of the fixtures: sorted ids of the items that belong to them. */
const SEEN = {
  vhosts: (i) => (String(i.name).startsWith('az-') ? i.name : null),
  users: (i) => (String(i.name).startsWith('az-') ? i.name : null),
  permissions: (i) => (String(i.vhost).startsWith('az-') && String(i.user).startsWith('az-') ? `${i.vhost}/${i.user}` : null),
  resources: (i) => (String(i.vhost).startsWith('az-') && /^(mine|other)\./.test(String(i.name)) ? `${i.vhost}/${i.name}` : null),
  bindings: (i) => (String(i.vhost).startsWith('az-') && i.source !== '' ? `${i.vhost}/${i.source}->${i.destination}` : null),
  policies: (i) => (String(i.vhost).startsWith('az-') ? `${i.vhost}/${i.name}` : null),
  sessions: (i) => (String(i.user).startsWith('az-') ? i.user : null),
  consumers: (i) => (String(i.channel_details?.user).startsWith('az-') ? i.channel_details.user : null),
  messages: (i) => `${i.routing_key}:${i.payload}`,
};

/**
 * Every row: a request as one role. `path` and `body` may be functions of the context (the role's
 * user name, the sessions' names); `touches` says what to restore after it succeeded; `seen` how
 * to summarise a list it returns; `probe` a request the admin makes after it (its status is
 * recorded, e.g. whether a refused delete left the queue).
 */
function rowsFor(role) {
  const self = USERS[role].name;
  const other = role === 'management' ? 'administrator' : 'management';
  const rows = [];
  const add = (id, method, path, options = {}) => rows.push({ id: `${method} ${id}`, role, method, path, ...options });

  // ---- whole broker
  add('/api/overview', 'GET', '/api/overview');
  add('/api/whoami', 'GET', '/api/whoami');
  add('/api/whoami (wrong password)', 'GET', '/api/whoami', { password: 'wrong' });
  add('/api/nodes', 'GET', '/api/nodes');
  add('/api/nodes/{node}', 'GET', (ctx) => `/api/nodes/${enc(ctx.node)}`);
  add('/api/health/checks/alarms', 'GET', '/api/health/checks/alarms');
  add('/api/health/checks/local-alarms', 'GET', '/api/health/checks/local-alarms');
  add('/api/vhosts', 'GET', '/api/vhosts', { seen: SEEN.vhosts });
  add('/api/users', 'GET', '/api/users', { seen: SEEN.users });
  add('/api/users/without-permissions', 'GET', '/api/users/without-permissions', { seen: SEEN.users });
  add('/api/users/{self}', 'GET', `/api/users/${enc(self)}`);
  add('/api/users/{victim}', 'GET', `/api/users/${VICTIM}`);
  add('/api/users/{self}/permissions', 'GET', `/api/users/${enc(self)}/permissions`, { seen: SEEN.permissions });
  add('/api/users/{victim}/permissions', 'GET', `/api/users/${VICTIM}/permissions`, { seen: SEEN.permissions });
  add('/api/users/{new} (create)', 'PUT', '/api/users/az-new-user', { body: { password: 'new-pw', tags: '' }, touches: 'access', probe: ['GET', '/api/users/az-new-user'] });
  add('/api/users/{self} (tags administrator)', 'PUT', `/api/users/${enc(self)}`, {
    body: { password: passwordOf(self), tags: 'administrator' },
    touches: 'access',
    probe: ['GET', `/api/users/${enc(self)}`, (json) => (Array.isArray(json?.tags) ? json.tags.join(',') : json?.tags)],
  });
  add('/api/users/{victim}', 'DELETE', `/api/users/${VICTIM}`, { touches: 'access', probe: ['GET', `/api/users/${VICTIM}`] });
  add('/api/permissions', 'GET', '/api/permissions', { seen: SEEN.permissions });
  add('/api/definitions', 'GET', '/api/definitions');
  add('/api/definitions (import a queue)', 'POST', '/api/definitions', {
    body: { queues: [{ name: 'mine.def-q', vhost: FULL, durable: true, auto_delete: false, arguments: {} }] },
    touches: FULL,
    probe: ['GET', `/api/queues/${FULL}/mine.def-q`],
  });
  add('/api/definitions (import a user)', 'POST', '/api/definitions', {
    body: { users: [{ name: 'az-new-user', password_hash: '', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: 'administrator' }] },
    touches: 'access',
    probe: ['GET', '/api/users/az-new-user'],
  });
  add('/api/exchanges', 'GET', '/api/exchanges', { seen: SEEN.resources });
  add('/api/queues', 'GET', '/api/queues', { seen: SEEN.resources });
  add('/api/bindings', 'GET', '/api/bindings', { seen: SEEN.bindings });
  add('/api/policies', 'GET', '/api/policies', { seen: SEEN.policies });
  add('/api/connections', 'GET', '/api/connections', { seen: SEEN.sessions });
  add('/api/channels', 'GET', '/api/channels', { seen: SEEN.sessions });
  add('/api/consumers', 'GET', '/api/consumers', { seen: SEEN.consumers });
  add('/api/vhosts/{new}', 'PUT', '/api/vhosts/az-new-vhost', {
    body: {},
    touches: 'access',
    // does the creator get permissions in it (RabbitMQ grants them)?
    probe: ['GET', `/api/permissions/az-new-vhost/${enc(self)}`, (json) => (json === undefined ? undefined : `${json.configure} ${json.write} ${json.read}`)],
  });
  add('/api/vhosts/{victim}', 'DELETE', `/api/vhosts/${VICTIM_VHOST}`, { touches: 'access', probe: ['GET', `/api/vhosts/${VICTIM_VHOST}`] });

  // ---- sessions: own and another user's
  for (const [whose, owner] of [
    ['own', role],
    ['other', other],
  ]) {
    const conn = (ctx) => enc(ctx.sessions[owner].connection);
    add(`/api/connections/{${whose}}`, 'GET', (ctx) => `/api/connections/${conn(ctx)}`);
    add(`/api/connections/{${whose}}/channels`, 'GET', (ctx) => `/api/connections/${conn(ctx)}/channels`, { seen: SEEN.sessions });
    add(`/api/channels/{${whose}}`, 'GET', (ctx) => `/api/channels/${enc(ctx.sessions[owner].channel)}`);
    add(`/api/connections/{${whose}}`, 'DELETE', (ctx) => `/api/connections/${conn(ctx)}`, { touches: 'sessions' });
  }

  // ---- a vhost, a queue, an exchange that do not exist: the vhost check lets them through to 404
  add('/api/queues/{missing vhost}', 'GET', '/api/queues/az-missing');
  add('/api/queues/{missing vhost}/mine.new-q', 'PUT', '/api/queues/az-missing/mine.new-q', { body: { durable: true, auto_delete: false, arguments: {} } });
  add('/api/exchanges/{missing vhost}/mine.x/publish', 'POST', '/api/exchanges/az-missing/mine.x/publish', {
    body: { routing_key: 'k', payload: 'published', payload_encoding: 'string', properties: {} },
  });
  for (const missing of ['mine.missing', 'other.missing']) {
    add(`/api/queues/${MINE}/${missing}`, 'GET', `/api/queues/${MINE}/${missing}`);
    add(`/api/queues/${MINE}/${missing}`, 'DELETE', `/api/queues/${MINE}/${missing}`);
    add(`/api/queues/${MINE}/${missing}/contents`, 'DELETE', `/api/queues/${MINE}/${missing}/contents`);
    add(`/api/queues/${MINE}/${missing}/get`, 'POST', `/api/queues/${MINE}/${missing}/get`, { body: { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' } });
    add(`/api/exchanges/${MINE}/${missing}`, 'DELETE', `/api/exchanges/${MINE}/${missing}`);
    add(`/api/exchanges/${MINE}/${missing}/publish`, 'POST', `/api/exchanges/${MINE}/${missing}/publish`, {
      body: { routing_key: 'k', payload: 'published', payload_encoding: 'string', properties: {} },
    });
    add(`/api/bindings/${MINE}/e/${missing}/q/mine.q`, 'POST', `/api/bindings/${MINE}/e/${missing}/q/mine.q`, { body: { routing_key: 'k4', arguments: {} }, touches: MINE });
  }

  // ---- per vhost
  for (const vhost of VHOSTS) {
    const v = enc(vhost);
    const at = (id) => `${id} @${vhost}`;
    add(at('/api/vhosts/{vhost}'), 'GET', `/api/vhosts/${v}`);
    add(at('/api/vhosts/{vhost}/permissions'), 'GET', `/api/vhosts/${v}/permissions`, { seen: SEEN.permissions });
    add(at('/api/vhosts/{vhost}/connections'), 'GET', `/api/vhosts/${v}/connections`, { seen: SEEN.sessions });
    add(at('/api/vhosts/{vhost}/channels'), 'GET', `/api/vhosts/${v}/channels`, { seen: SEEN.sessions });
    add(at('/api/permissions/{vhost}/{self}'), 'GET', `/api/permissions/${v}/${enc(self)}`);
    add(at('/api/permissions/{vhost}/{victim}'), 'PUT', `/api/permissions/${v}/${VICTIM}`, { body: { configure: '^$', write: '^$', read: '^$' }, touches: 'access' });
    add(at('/api/permissions/{vhost}/{self} (grant .*)'), 'PUT', `/api/permissions/${v}/${enc(self)}`, { body: { configure: '.*', write: '.*', read: '.*' }, touches: 'access' });
    add(at('/api/permissions/{vhost}/{victim}'), 'DELETE', `/api/permissions/${v}/${VICTIM}`, { touches: 'access' });
    add(at('/api/definitions/{vhost}'), 'GET', `/api/definitions/${v}`);
    add(at('/api/definitions/{vhost} (import a queue)'), 'POST', `/api/definitions/${v}`, {
      body: { queues: [{ name: 'mine.def-q', vhost, durable: true, auto_delete: false, arguments: {} }] },
      touches: vhost,
      probe: ['GET', `/api/queues/${v}/mine.def-q`],
    });
    add(at('/api/exchanges/{vhost}'), 'GET', `/api/exchanges/${v}`, { seen: SEEN.resources });
    add(at('/api/queues/{vhost}'), 'GET', `/api/queues/${v}`, { seen: SEEN.resources });
    add(at('/api/bindings/{vhost}'), 'GET', `/api/bindings/${v}`, { seen: SEEN.bindings });
    add(at('/api/policies/{vhost}'), 'GET', `/api/policies/${v}`, { seen: SEEN.policies });
    add(at('/api/consumers/{vhost}'), 'GET', `/api/consumers/${v}`, { seen: SEEN.consumers });
    add(at('/api/policies/{vhost}/az-pol'), 'GET', `/api/policies/${v}/az-pol`);
    add(at('/api/policies/{vhost}/{new}'), 'PUT', `/api/policies/${v}/az-new-pol`, {
      body: { pattern: '^nothing-matches$', definition: { 'max-length': 10 }, 'apply-to': 'queues', priority: 0 },
      touches: vhost,
    });
    add(at('/api/policies/{vhost}/az-pol'), 'DELETE', `/api/policies/${v}/az-pol`, { touches: vhost, probe: ['GET', `/api/policies/${v}/az-pol`] });
    // a policy pointing dead letters or unroutable messages at an exchange
    for (const [id, name, definition] of [
      ['dead-letter-exchange other.x', 'az-dlx-pol', { 'dead-letter-exchange': 'other.x' }],
      ['dead-letter-exchange mine.x', 'az-dlx-ok-pol', { 'dead-letter-exchange': 'mine.x' }],
      ['alternate-exchange other.x', 'az-ae-pol', { 'alternate-exchange': 'other.x' }],
    ]) {
      add(at(`/api/policies/{vhost}/{new} (${id})`), 'PUT', `/api/policies/${v}/${name}`, {
        body: { pattern: '^mine\\.', definition, 'apply-to': 'all', priority: 0 },
        touches: vhost,
      });
    }

    for (const prefix of ['mine', 'other']) {
      const x = `${prefix}.x`;
      const q = `${prefix}.q`;
      const on = (id) => at(`${id} ${prefix}`);
      add(on('/api/exchanges/{vhost}/{x}'), 'GET', `/api/exchanges/${v}/${x}`);
      add(on('/api/exchanges/{vhost}/{x}/bindings/source'), 'GET', `/api/exchanges/${v}/${x}/bindings/source`, { seen: SEEN.bindings });
      add(on('/api/exchanges/{vhost}/{x}/bindings/destination'), 'GET', `/api/exchanges/${v}/${x}/bindings/destination`, { seen: SEEN.bindings });
      add(on('/api/exchanges/{vhost}/{new}'), 'PUT', `/api/exchanges/${v}/${prefix}.new-x`, {
        body: { type: 'direct', durable: true, auto_delete: false, internal: false, arguments: {} },
        touches: vhost,
        probe: ['GET', `/api/exchanges/${v}/${prefix}.new-x`],
      });
      add(on('/api/exchanges/{vhost}/{x}'), 'DELETE', `/api/exchanges/${v}/${x}`, { touches: vhost, probe: ['GET', `/api/exchanges/${v}/${x}`] });
      add(on('/api/exchanges/{vhost}/{x}/publish'), 'POST', `/api/exchanges/${v}/${x}/publish`, {
        body: { routing_key: 'k', payload: 'published', payload_encoding: 'string', properties: {} },
        touches: vhost,
      });
      add(on('/api/queues/{vhost}/{q}'), 'GET', `/api/queues/${v}/${q}`);
      add(on('/api/queues/{vhost}/{q}/bindings'), 'GET', `/api/queues/${v}/${q}/bindings`, { seen: SEEN.bindings });
      add(on('/api/queues/{vhost}/{new}'), 'PUT', `/api/queues/${v}/${prefix}.new-q`, {
        body: { durable: true, auto_delete: false, arguments: {} },
        touches: vhost,
        probe: ['GET', `/api/queues/${v}/${prefix}.new-q`],
      });
      add(on('/api/queues/{vhost}/{q}/get'), 'POST', `/api/queues/${v}/${q}/get`, {
        body: { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' },
        touches: vhost,
        seen: SEEN.messages,
      });
      add(on('/api/queues/{vhost}/{q}/contents'), 'DELETE', `/api/queues/${v}/${q}/contents`, {
        touches: vhost,
        probe: ['POST', `/api/queues/${v}/${q}/get`, (json) => (Array.isArray(json) ? json.length : undefined), { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' }],
      });
      add(on('/api/queues/{vhost}/{q}'), 'DELETE', `/api/queues/${v}/${q}`, { touches: vhost, probe: ['GET', `/api/queues/${v}/${q}`] });
      add(on('/api/bindings/{vhost}/e/{x}/q/{q}'), 'GET', `/api/bindings/${v}/e/${x}/q/${q}`, { seen: SEEN.bindings });
      add(on('/api/bindings/{vhost}/e/{x}/q/{q}/k'), 'GET', `/api/bindings/${v}/e/${x}/q/${q}/k`);
      add(on('/api/bindings/{vhost}/e/{x}/q/{q} (k2)'), 'POST', `/api/bindings/${v}/e/${x}/q/${q}`, { body: { routing_key: 'k2', arguments: {} }, touches: vhost });
      add(on('/api/bindings/{vhost}/e/{x}/q/{q}/k'), 'DELETE', `/api/bindings/${v}/e/${x}/q/${q}/k`, { touches: vhost, probe: ['GET', `/api/bindings/${v}/e/${x}/q/${q}/k`] });
    }

    // bindings whose source and destination differ in what the user may do with them
    for (const [source, kind, destination] of [
      ['other.x', 'q', 'mine.q'],
      ['mine.x', 'q', 'other.q'],
      ['mine.x', 'e', 'other.x'],
      ['other.x', 'e', 'mine.x'],
    ]) {
      add(at(`/api/bindings/{vhost}/e/${source}/${kind}/${destination}`), 'POST', `/api/bindings/${v}/e/${source}/${kind}/${destination}`, {
        body: { routing_key: 'k3', arguments: {} },
        touches: vhost,
      });
    }

    // publishing: the default exchange, and the user_id property (it must be the user's own)
    add(at('/api/exchanges/{vhost}/amq.default/publish mine.q'), 'POST', `/api/exchanges/${v}/amq.default/publish`, {
      body: { routing_key: 'mine.q', payload: 'published', payload_encoding: 'string', properties: {} },
      touches: vhost,
    });
    add(at('/api/exchanges/{vhost}/mine.x/publish (own user_id)'), 'POST', `/api/exchanges/${v}/mine.x/publish`, {
      body: { routing_key: 'k', payload: 'published', payload_encoding: 'string', properties: { user_id: self } },
      touches: vhost,
    });
    add(at('/api/exchanges/{vhost}/mine.x/publish (forged user_id)'), 'POST', `/api/exchanges/${v}/mine.x/publish`, {
      body: { routing_key: 'k', payload: 'published', payload_encoding: 'string', properties: { user_id: USERS[other].name } },
      touches: vhost,
    });

    // dead-letter and alternate exchanges: write on the target, read on the declared resource
    for (const [id, name, target] of [
      ['mine.dlx-q -> other.x', 'mine.dlx-q', 'other.x'],
      ['mine.dlx-ok-q -> mine.x', 'mine.dlx-ok-q', 'mine.x'],
      ['other.dlx-q -> mine.x', 'other.dlx-q', 'mine.x'],
    ]) {
      add(at(`/api/queues/{vhost}/{new} (x-dead-letter-exchange ${id})`), 'PUT', `/api/queues/${v}/${name}`, {
        body: { durable: true, auto_delete: false, arguments: { 'x-dead-letter-exchange': target } },
        touches: vhost,
        probe: ['GET', `/api/queues/${v}/${name}`],
      });
    }
    for (const [id, name, target] of [
      ['mine.ae-x -> other.x', 'mine.ae-x', 'other.x'],
      ['mine.ae-ok-x -> mine.x', 'mine.ae-ok-x', 'mine.x'],
    ]) {
      add(at(`/api/exchanges/{vhost}/{new} (alternate-exchange ${id})`), 'PUT', `/api/exchanges/${v}/${name}`, {
        body: { type: 'direct', durable: true, auto_delete: false, internal: false, arguments: { 'alternate-exchange': target } },
        touches: vhost,
        probe: ['GET', `/api/exchanges/${v}/${name}`],
      });
    }
  }
  return rows;
}

/** Every row of the table, role by role. */
const allRows = () => ROLES.flatMap(rowsFor);

// ---- running -------------------------------------------------------------------------------------

/** The part of an answer the table keeps: status, RabbitMQ's error name and reason, what a list showed. */
function summarise(row, response) {
  const out = { status: response.status };
  const json = response.json;
  if (json !== null && typeof json === 'object' && !Array.isArray(json) && typeof json.error === 'string') {
    out.error = json.error;
    out.reason = typeof json.reason === 'string' ? json.reason : JSON.stringify(json.reason);
  }
  if (row.seen !== undefined && Array.isArray(json)) out.seen = [...new Set(json.map(row.seen).filter((s) => s !== null))].sort();
  if (response.status === 200 && /"password_hash"\s*:\s*"[^"]/.test(response.text)) out.password_hashes = true;
  return out;
}

/**
 * Creates the fixtures and runs the rows (all, or those `only` keeps) on a management API; returns
 * the recorded rows. `admin` is `{ user, password }` of an administrator.
 */
async function runTable({ managementUrl, amqpUrl, admin, only = () => true, log = () => undefined }) {
  const setup = new Api(managementUrl, admin.user, admin.password);
  await removeFixtures(setup);
  await createFixtures(setup, admin.user);
  const sessions = new Sessions(amqpUrl, setup);
  await sessions.start();
  const nodes = (await setup.must('GET', '/api/nodes')).json;
  const ctx = { node: nodes[0].name, sessions: sessions.names };
  const recorded = [];
  try {
    for (const row of allRows().filter(only)) {
      const { name } = USERS[row.role];
      const api = new Api(managementUrl, name, row.password ?? passwordOf(name));
      ctx.sessions = sessions.names;
      const path = typeof row.path === 'function' ? row.path(ctx) : row.path;
      const response = await api.request(row.method, path, row.body);
      const result = { id: row.id, role: row.role, method: row.method, path, ...summarise(row, response) };
      if (row.probe !== undefined) {
        const [method, probePath, pick, body] = row.probe;
        const probe = await setup.request(method, probePath, body);
        result.probe = pick === undefined || probe.status !== 200 ? probe.status : pick(probe.json);
      }
      recorded.push(result);
      log(result);
      if (row.touches !== undefined && response.status >= 200 && response.status < 300) {
        if (row.touches === 'access') {
          await removeFixtureExtras(setup);
          await createAccess(setup, admin.user);
        } else if (row.touches === 'sessions') {
          await sessions.restore();
        } else {
          await restoreVhost(setup, row.touches);
        }
      }
    }
  } finally {
    await sessions.close();
  }
  await removeFixtures(setup);
  return recorded;
}

/** What access rows may have created. */
async function removeFixtureExtras(admin) {
  await admin.must('DELETE', '/api/users/az-new-user', undefined, [404]);
  await admin.must('DELETE', '/api/vhosts/az-new-vhost', undefined, [404]);
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const managementUrl = option('management', 'http://127.0.0.1:15673');
  const amqpUrl = option('amqp', 'amqp://127.0.0.1:5673');
  const [user, password] = option('admin', 'guest:guest').split(':');
  const out = option('out', undefined);
  const setup = new Api(managementUrl, user, password);
  const overview = (await setup.must('GET', '/api/overview')).json;
  const started = Date.now();
  const rows = await runTable({ managementUrl, amqpUrl, admin: { user, password }, log: (r) => process.stderr.write(`${r.status} ${r.role} ${r.id}\n`) });
  const table = {
    comment: 'Recorded by scripts/authz-table/record.js: status (and RabbitMQ error body) of every management route as a user of each tag',
    product_name: overview.product_name,
    product_version: overview.product_version,
    rabbitmq_version: overview.rabbitmq_version,
    management_version: overview.management_version,
    users: USERS,
    permissions: { [FULL]: PERMISSIONS[FULL], [MINE]: PERMISSIONS[MINE], [NONE]: null },
    rows,
  };
  // one row a line: a re-recording shows as a readable diff
  const { rows: recorded, ...head } = table;
  const json = `${JSON.stringify(head, null, 1).slice(0, -2)},\n "rows": [\n${recorded.map((r) => `  ${JSON.stringify(r)}`).join(',\n')}\n ]\n}\n`;
  if (out === undefined) process.stdout.write(json);
  else writeFileSync(out, json);
  process.stderr.write(`${rows.length} rows in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

module.exports = { USERS, ROLES, VHOSTS, FULL, MINE, NONE, passwordOf, Api, createFixtures, removeFixtures, restoreVhost, allRows, runTable, summarise };

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
  });
}
