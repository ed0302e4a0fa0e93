import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RequestMethod } from '@nestjs/common';
import { ManagementModule } from '#management';
import { startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';

// Who may do what through the management API, route by route and tag by tag, as RabbitMQ's
// management plugin decides it. The table was recorded on a real RabbitMQ 3.10 by
// scripts/authz-table/record.js; here the same script creates the same fixtures on our broker,
// makes the same calls, and every answer must be RabbitMQ's (but for the few listed on purpose).

const ROOT = join(__dirname, '..', '..', '..');
const TABLE = join(ROOT, 'test', 'management', 'fixtures', 'authz-rabbitmq-3.10.json');

/** One answer as the recorder keeps it. */
interface Answer {
  id: string;
  role: string;
  method: string;
  path: string;
  status: number;
  error?: string;
  reason?: string;
  seen?: string[];
  probe?: unknown;
  password_hashes?: boolean;
}

interface RecorderApi {
  request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }>;
  must(method: string, path: string, body?: unknown, allowed?: number[]): Promise<{ status: number; json: unknown }>;
}

/** scripts/authz-table/record.js (plain Node, so RabbitMQ can be recorded without a build). */
interface Recorder {
  USERS: Record<'administrator' | 'management' | 'policymaker' | 'monitoring' | 'none', { name: string; tags: string }>;
  passwordOf(name: string): string;
  Api: new (base: string, user: string, password: string) => RecorderApi;
  createFixtures(admin: RecorderApi, adminName: string): Promise<void>;
  removeFixtures(admin: RecorderApi): Promise<void>;
  runTable(options: { managementUrl: string; amqpUrl: string; admin: { user: string; password: string } }): Promise<Answer[]>;
}

const load = createRequire(__filename);
const recorder = load(join(ROOT, 'scripts', 'authz-table', 'record.js')) as Recorder;
const table = JSON.parse(readFileSync(TABLE, 'utf8')) as { rabbitmq_version: string; rows: Answer[] };

/** What we answer instead of RabbitMQ, where we mean to. */
interface Difference {
  why: string;
  applies: (rabbit: Answer) => boolean;
  ours: Pick<Answer, 'status' | 'error' | 'reason'>;
}

const DIFFERENCES: Difference[] = [
  {
    why:
      'a policy that dead-letters into (or falls back on) an exchange makes the broker publish there: setting one needs write on that exchange, ' +
      'as declaring such a queue or exchange does (issue 24); RabbitMQ 3.10 lets a policymaker point at any exchange of its vhost',
    applies: (r) => r.role === 'policymaker' && /^PUT \/api\/policies\/\{vhost\}\/\{new\} \((dead-letter|alternate)-exchange other\.x\) @az-mine$/.test(r.id),
    ours: { status: 401, error: 'not_authorised', reason: "write access to exchange 'other.x' in vhost 'az-mine' refused for user 'az-policymaker'" },
  },
  {
    why: 'our policies carry queue settings only: alternate-exchange is not a policy key here (400 naming the keys we know), not a question of who may set it',
    applies: (r) => /^PUT \/api\/policies\/.*\(alternate-exchange/.test(r.id) && r.status === 201,
    ours: { status: 400, error: 'bad_request' },
  },
];

/**
 * RabbitMQ 3.10 says "access to exchange 'x' …"; we say which access, as newer RabbitMQ and our
 * AMQP door do ("write access to exchange 'x' …"). Otherwise the texts are RabbitMQ's.
 */
const normalized = (reason: string | undefined): string | undefined => reason?.replace(/\b(configure|write|read) access to /g, 'access to ');

/** How our answer differs from the expected one ('' when it does not). 404s are compared by status (RabbitMQ's bodies vary by route). */
function mismatch(expected: Pick<Answer, 'status' | 'error' | 'reason' | 'seen' | 'probe' | 'password_hashes'>, ours: Answer): string {
  const out: string[] = [];
  if (ours.status !== expected.status) out.push(`status ${ours.status}, expected ${expected.status}`);
  else if (expected.status !== 404) {
    if (expected.error !== undefined && ours.error !== expected.error) out.push(`error ${ours.error}, expected ${expected.error}`);
    if (expected.reason !== undefined && normalized(ours.reason) !== normalized(expected.reason)) out.push(`reason "${ours.reason}", expected "${expected.reason}"`);
  }
  if (expected.seen !== undefined && JSON.stringify(ours.seen) !== JSON.stringify(expected.seen)) out.push(`shows ${JSON.stringify(ours.seen)}, expected ${JSON.stringify(expected.seen)}`);
  if (expected.probe !== undefined && JSON.stringify(ours.probe) !== JSON.stringify(expected.probe)) out.push(`left ${JSON.stringify(ours.probe)}, expected ${JSON.stringify(expected.probe)}`);
  if (Boolean(ours.password_hashes) !== Boolean(expected.password_hashes)) out.push(ours.password_hashes ? 'shows password hashes' : 'shows no password hashes');
  return out.join('; ');
}

describe('management authorization as RabbitMQ decides it', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp();
  });

  after(async () => {
    await app?.close();
  });

  it(`answers every route × tag of the table recorded on RabbitMQ ${table.rabbitmq_version}`, { timeout: 600_000 }, async () => {
    const ours = await recorder.runTable({ managementUrl: app.managementUrl, amqpUrl: `amqp://127.0.0.1:${app.amqpPort}`, admin: { user: 'guest', password: 'guest' } });
    const byKey = new Map(ours.map((row) => [`${row.role} ${row.id}`, row]));
    assert.equal(ours.length, table.rows.length, 'the recorder makes the calls the table holds');
    const wrong: string[] = [];
    let differing = 0;
    for (const rabbit of table.rows) {
      const key = `${rabbit.role} ${rabbit.id}`;
      const row = byKey.get(key);
      if (row === undefined) {
        wrong.push(`${key}: not called`);
        continue;
      }
      const difference = DIFFERENCES.find((d) => d.applies(rabbit));
      if (difference !== undefined) differing++;
      const problem = mismatch(difference === undefined ? rabbit : { ...rabbit, ...difference.ours, seen: undefined, probe: undefined }, row);
      if (problem !== '') wrong.push(`${key}: ${problem}`);
    }
    assert.deepEqual(wrong, []);
    assert.ok(differing <= 8, `the differences on purpose stay few (${differing} rows)`);
  });

  it('the table calls every route of the management API (the doors’ aside)', () => {
    // vhost-limits came after the recording (RabbitMQ 3.10 was not at hand to record it): decided as
    // RabbitMQ's rabbit_mgmt_wm_limits/_limit do (reads: vhost visible; writes: administrator), tested in vhost-limits.test.ts
    const routes = managementRoutes().filter((r) => r.path.startsWith('/api/') && !/^\/api\/(jobs|deliveries|delivery-|vhost-limits)/.test(r.path));
    const uncovered = routes.filter((route) => !table.rows.some((row) => row.method === route.method && route.pattern.test(row.path.split('?')[0]!)));
    assert.deepEqual(
      uncovered.map((r) => `${r.method} ${r.path}`),
      [],
    );
    assert.ok(routes.length > 50);
  });

  describe('the doors’ routes (RabbitMQ has none: decided as the queue routes they resemble)', () => {
    const { USERS, passwordOf } = recorder;
    let admin: ManagementClient;
    let as: (role: keyof Recorder['USERS']) => ManagementClient;
    let mineJob: number;
    let otherJob: number;

    before(async () => {
      admin = new ManagementClient(app.managementUrl);
      as = (role) => admin.as(USERS[role].name, passwordOf(USERS[role].name));
      await recorder.createFixtures(new recorder.Api(app.managementUrl, 'guest', 'guest'), 'guest');
      // the job lanes and the deliveries are in '/' (JOBS_VHOST, DISPATCH_VHOST)
      await admin.put(`/api/permissions/%2F/${USERS.management.name}`, { configure: '^$', write: '^(jobs\\.mine|amq\\.dispatch)$', read: '^jobs\\.mine$' });
      await admin.put(`/api/permissions/%2F/${USERS.policymaker.name}`, { configure: '^$', write: '^$', read: '^jobs\\.other$' });
      const jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
      const schedule = async (lane: string): Promise<number> => {
        const response = await fetch(`${jobs}/schedule`, { method: 'POST', body: JSON.stringify({ message: `a ${lane} job`, lane }) });
        assert.equal(response.status, 200);
        const { jobs: queued } = await admin.get<{ jobs: { job_num: number }[] }>(`/api/jobs/lanes/${lane}`);
        return queued[0]!.job_num;
      };
      mineJob = await schedule('mine');
      otherJob = await schedule('other');
    });

    it('lists the lanes to users with access to the jobs vhost (administrators: any)', async () => {
      assert.equal((await as('management').request('GET', '/api/jobs/lanes')).status, 200);
      assert.equal((await as('administrator').request('GET', '/api/jobs/lanes')).status, 200);
      const outsider = await as('monitoring').request('GET', '/api/jobs/lanes');
      assert.deepEqual([outsider.status, outsider.json], [401, { error: 'not_authorised', reason: 'User not authorised to access virtual host' }]);
      const untagged = await as('none').request('GET', '/api/jobs/lanes');
      assert.deepEqual([untagged.status, untagged.json], [401, { error: 'not_authorised', reason: 'Not management user' }]);
    });

    it("shows a lane's jobs (their bodies) only to users who may read the lane's queue", async () => {
      const mine = await as('management').request('GET', '/api/jobs/lanes/mine');
      assert.equal(mine.status, 200);
      assert.deepEqual(((mine.json as { jobs: { message: string }[] }).jobs).map((j) => j.message), ['a mine job']);
      const other = await as('management').request('GET', '/api/jobs/lanes/other');
      assert.deepEqual([other.status, other.json], [401, { error: 'not_authorised', reason: "ACCESS_REFUSED - read access to queue 'jobs.other' in vhost '/' refused for user 'az-management'" }]);
      // an administrator without permissions in the vhost reads nothing either, as over AMQP
      const adminWithout = await as('administrator').request('GET', '/api/jobs/lanes/mine');
      assert.deepEqual([adminWithout.status, adminWithout.json], [401, { error: 'not_authorised', reason: 'Access refused.' }]);
      assert.equal((await as('monitoring').request('GET', '/api/jobs/lanes/mine')).status, 401);
    });

    it('deletes a job only for users who may read (receive from) its lane', async () => {
      const refused = await as('management').delete(`/api/jobs/${otherJob}`);
      assert.deepEqual([refused.status, refused.json], [401, { error: 'not_authorised', reason: "read access to queue 'jobs.other' in vhost '/' refused for user 'az-management'" }]);
      assert.equal((await as('administrator').delete(`/api/jobs/${mineJob}`)).status, 401, 'no permissions in the vhost: refused, administrator or not');
      assert.equal((await as('monitoring').delete(`/api/jobs/${mineJob}`)).status, 401);
      const lanes = await admin.get<{ jobs: unknown[] }>('/api/jobs/lanes/other');
      assert.equal(lanes.jobs.length, 1, 'the refused delete left the job');
      assert.equal((await as('management').delete(`/api/jobs/${mineJob}`)).status, 204);
      assert.equal((await as('policymaker').delete(`/api/jobs/${otherJob}`)).status, 204);
      assert.equal((await as('management').delete(`/api/jobs/${mineJob}`)).status, 404, 'gone');
    });

    it('lists deliveries to users with access to the delivery vhost', async () => {
      assert.equal((await as('management').request('GET', '/api/deliveries')).status, 200);
      assert.equal((await as('administrator').request('GET', '/api/deliveries')).status, 200);
      const outsider = await as('monitoring').request('GET', '/api/deliveries');
      assert.deepEqual([outsider.status, outsider.json], [401, { error: 'not_authorised', reason: 'User not authorised to access virtual host' }]);
      assert.equal((await as('monitoring').request('GET', '/api/deliveries/00000000-0000-4000-8000-000000000000')).status, 401);
      assert.equal((await as('monitoring').request('GET', '/api/delivery-circuits')).status, 401);
      assert.equal((await as('management').request('GET', '/api/deliveries/00000000-0000-4000-8000-000000000000')).status, 404);
      assert.equal((await as('management').request('GET', '/api/delivery-circuits')).status, 200);
    });

    it('cancels only for users who may write into the delivery exchange', async () => {
      const refused = await as('policymaker').delete('/api/deliveries/00000000-0000-4000-8000-000000000000');
      assert.deepEqual([refused.status, refused.json], [401, { error: 'not_authorised', reason: "write access to exchange 'amq.dispatch' in vhost '/' refused for user 'az-policymaker'" }]);
      assert.equal((await as('monitoring').delete('/api/deliveries/00000000-0000-4000-8000-000000000000')).status, 401);
      assert.equal((await as('management').delete('/api/deliveries/00000000-0000-4000-8000-000000000000')).status, 404, 'allowed, then not found');
      assert.equal((await as('management').post('/api/deliveries-replay', { uuids: ['00000000-0000-4000-8000-000000000000'] })).status, 200);
      assert.equal((await as('policymaker').post('/api/deliveries-replay', { uuids: ['00000000-0000-4000-8000-000000000000'] })).status, 401);
    });

    it('replays only for users who may write into the delivery exchange', async () => {
      // an unknown delivery: the permission is checked first, then it is not found
      assert.equal((await as('management').post('/api/deliveries/00000000-0000-4000-8000-000000000000/replay', {})).status, 404);
      const refused = await as('policymaker').post('/api/deliveries/00000000-0000-4000-8000-000000000000/replay', {});
      assert.deepEqual([refused.status, refused.json], [401, { error: 'not_authorised', reason: "write access to exchange 'amq.dispatch' in vhost '/' refused for user 'az-policymaker'" }]);
      const all = await as('management').post('/api/deliveries-replay', { host: 'example.com' });
      assert.deepEqual([all.status, all.json], [200, { replayed: 0 }]);
      assert.equal((await as('policymaker').post('/api/deliveries-replay', {})).status, 401);
      assert.equal((await as('administrator').post('/api/deliveries-replay', {})).status, 401, 'no permissions in the vhost');
      assert.equal((await as('monitoring').post('/api/deliveries-replay', {})).status, 401);
      assert.equal((await admin.post('/api/deliveries-replay', {})).status, 200);
    });
  });
});

/** Every route of the management controllers, with a pattern that matches its concrete paths. */
function managementRoutes(): { method: string; path: string; pattern: RegExp }[] {
  const controllers = (Reflect.getMetadata('controllers', ManagementModule) ?? []) as (new (...args: never[]) => object)[];
  const out: { method: string; path: string; pattern: RegExp }[] = [];
  for (const controller of controllers) {
    const prefix = String(Reflect.getMetadata('path', controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[key];
      if (typeof handler !== 'function' || key === 'constructor') continue;
      const path = Reflect.getMetadata('path', handler) as string | undefined;
      const method = Reflect.getMetadata('method', handler) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      const full = `/${[prefix, path].filter((p) => p !== '' && p !== '/').join('/')}`;
      const pattern = new RegExp(`^${full.replace(/:[^/]+/g, '[^/]+')}$`);
      out.push({ method: RequestMethod[method], path: full, pattern });
    }
  }
  return out;
}
