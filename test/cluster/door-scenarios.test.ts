/**
 * The job and delivery doors' own end-to-end tests, run again with every app a cluster node
 * (STORE=postgres) on a private PostgreSQL: test/support/app-harness.ts makes each app a node on
 * a database of its own when TEST_POSTGRES_URL is set. The same scenarios, the same assertions;
 * the only tests allowed to fail are those that use the AMQP door, which stays off with
 * STORE=postgres (they say AMQP or amq. in their names, but one; test/cluster/jobs.test.ts runs
 * that one's full lane declared through the management API instead).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PrivatePostgres, postgresMissing, startPostgres } from '../support/postgres-server';

const run = promisify(execFile);

/** The door test files whose scenarios hold on a cluster node (the others look at SQLite's files or paging). */
const SCENARIOS = [
  'jobs/extensions',
  'jobs/blocking',
  'jobs/compat',
  'jobs/auth-read',
  'delivery/intake',
  'delivery/outcomes',
  'delivery/lookup',
  'delivery/refused-intake',
  'delivery/intake-validation',
];

/** A test that needs the AMQP door (off in cluster mode): by its name, or one that declares its queue over AMQP without saying so. */
const NEEDS_AMQP = /AMQP|amq\.|^a full lane declared with x-overflow reject-publish/;

describe('the doors\' end-to-end scenarios on cluster nodes', { skip: postgresMissing }, () => {
  let server: PrivatePostgres;

  before(async () => {
    server = await startPostgres();
  });

  after(async () => {
    await server?.stop();
  });

  for (const scenario of SCENARIOS) {
    it(`test/${scenario}`, async () => {
      const file = join(__dirname, '..', `${scenario}.test.js`);
      let output: string;
      try {
        ({ stdout: output } = await run(process.execPath, ['--test', '--test-reporter=tap', file], {
          // a run of its own, not a subtest of this one (the runner marks its children with NODE_TEST_CONTEXT)
          env: { ...withoutTestContext(process.env), TEST_POSTGRES_URL: server.url },
          maxBuffer: 64 * 1024 * 1024,
          timeout: 180_000,
        }));
      } catch (error) {
        output = (error as { stdout?: string }).stdout ?? '';
      }
      const failed = [...output.matchAll(/^not ok \d+ - (.*)$/gm)].map((match) => match[1]!);
      const passed = [...output.matchAll(/^ok \d+ - (.*)$/gm)].map((match) => match[1]!);
      assert.ok(passed.length > 0, `no test passed:\n${output.slice(-4000)}`);
      assert.deepEqual(
        failed.filter((name) => !NEEDS_AMQP.test(name)),
        [],
        output
          .split('\n')
          .filter((line) => /^not ok|error:|Error|expected|actual/.test(line))
          .slice(0, 60)
          .join('\n'),
      );
    });
  }
});

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.NODE_TEST_CONTEXT;
  return copy;
}
