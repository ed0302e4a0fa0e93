import { describe, it } from 'node:test';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';

// RuleTester reports through whatever describe/it it is given: node's runner here
RuleTester.describe = describe as unknown as typeof RuleTester.describe;
RuleTester.it = it as unknown as typeof RuleTester.it;
RuleTester.itOnly = it.only as unknown as typeof RuleTester.itOnly;

const ROOT = process.cwd();
const at = (path: string): string => join(ROOT, path);

/** The rule is an ES module beside eslint.config.mjs; tests are CommonJS, so it is imported dynamically. */
async function loadRule(): Promise<Parameters<RuleTester['run']>[1]> {
  const url = pathToFileURL(join(ROOT, 'scripts', 'eslint', 'lib-boundaries.mjs')).href;
  const plugin = (await import(url)) as { default: { rules: Record<string, Parameters<RuleTester['run']>[1]> } };
  return plugin.default.rules['lib-boundaries']!;
}

describe('the lib-boundaries lint rule', async () => {
  const rule = await loadRule();
  const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' } });
  const core = at('libs/core/src/queue/x.ts');
  const amqp = at('libs/amqp/src/channel/x.ts');
  const management = at('libs/management/src/x.ts');
  const app = at('apps/broker/src/x.ts');
  const test = at('test/amqp/x.test.ts');

  tester.run('lib-boundaries', rule, {
    valid: [
      { code: "import { Broker } from '#core';", filename: amqp },
      { code: "import { JobService } from '#jobs';", filename: management },
      { code: "import { Queue } from './queue';", filename: core },
      { code: "import { AmqpService } from '#amqp';", filename: app },
      { code: "import { RabbitErrorFilter } from '#management/http/rabbit-error.filter';", filename: test },
      { code: "import net from 'node:net';", filename: amqp },
      { code: "import { request } from 'undici';", filename: at('libs/delivery/src/sender/x.ts') },
      { code: "import { join } from 'node:path'; import { Worker } from 'node:worker_threads';", filename: core },
      { code: "type T = import('./queue').Queue;", filename: core },
      { code: "import { Pool } from 'pg';", filename: at('libs/cluster/src/database/x.ts') },
      { code: "import { Broker } from '#core'; import { Logger } from '#observability';", filename: at('libs/cluster/src/x.ts') },
      { code: "import { Cluster } from '#cluster';", filename: app },
    ],
    invalid: [
      { code: "import { AmqpService } from '#amqp';", filename: core, errors: [{ messageId: 'forbidden' }] },
      { code: "import { JobService } from '#jobs';", filename: amqp, errors: [{ messageId: 'forbidden' }] },
      { code: "import { Queue } from '#core/queue/queue';", filename: amqp, errors: [{ messageId: 'deep' }] },
      { code: "import { Queue } from '#core';", filename: core, errors: [{ messageId: 'self' }] },
      { code: "import { Frame } from '../../../amqp/src/codec/frame';", filename: core, errors: [{ messageId: 'escapes' }] },
      { code: "import { Broker } from '../../../libs/core/src/broker';", filename: app, errors: [{ messageId: 'intoLib' }] },
      { code: "import { X } from '#nothing';", filename: amqp, errors: [{ messageId: 'unknown' }] },
      // the gaps this rule once had: type queries, require, export-from, and every spelling of a transport
      { code: "type S = import('#amqp').AmqpService;", filename: core, errors: [{ messageId: 'forbidden' }] },
      { code: "let s: typeof import('#jobs');", filename: at('libs/delivery/src/x.ts'), errors: [{ messageId: 'forbidden' }] },
      { code: "const m = require('#amqp');", filename: core, errors: [{ messageId: 'forbidden' }] },
      { code: "import m = require('#delivery');", filename: at('libs/jobs/src/x.ts'), errors: [{ messageId: 'forbidden' }] },
      { code: "export { AmqpService } from '#amqp';", filename: core, errors: [{ messageId: 'forbidden' }] },
      { code: "export * from '#amqp';", filename: core, errors: [{ messageId: 'forbidden' }] },
      { code: "const d = await import('#amqp');", filename: core, errors: [{ messageId: 'forbidden' }] },
      { code: "import net from 'net';", filename: core, errors: [{ messageId: 'transport' }] },
      { code: "import net from 'node:net';", filename: core, errors: [{ messageId: 'transport' }] },
      { code: "import http2 from 'node:http2';", filename: core, errors: [{ messageId: 'transport' }] },
      { code: "import { Pool } from 'undici/lib/dispatcher/pool';", filename: core, errors: [{ messageId: 'transport' }] },
      { code: "import fastify from 'fastify';", filename: core, errors: [{ messageId: 'transport' }] },
      { code: "import { FastifyAdapter } from '@nestjs/platform-fastify';", filename: core, errors: [{ messageId: 'transport' }] },
      { code: "type Socket = import('node:tls').TLSSocket;", filename: core, errors: [{ messageId: 'transport' }] },
      { code: "const dgram = require('dgram');", filename: core, errors: [{ messageId: 'transport' }] },
      // a database driver is no more the core's than a transport
      { code: "import { Pool } from 'pg';", filename: core, errors: [{ messageId: 'driver' }] },
      { code: "import pg from 'pg';", filename: core, errors: [{ messageId: 'driver' }] },
      { code: "const { Client } = require('pg');", filename: core, errors: [{ messageId: 'driver' }] },
      { code: "type P = import('pg').Pool;", filename: core, errors: [{ messageId: 'driver' }] },
      { code: "import postgres from 'postgres';", filename: core, errors: [{ messageId: 'driver' }] },
      // the cluster lib is composed by the app: the doors and the management layer do not import it
      { code: "import { Cluster } from '#cluster';", filename: management, errors: [{ messageId: 'forbidden' }] },
      { code: "import { Cluster } from '#cluster';", filename: amqp, errors: [{ messageId: 'forbidden' }] },
      { code: "import { Cluster } from '#cluster';", filename: core, errors: [{ messageId: 'forbidden' }] },
      { code: "import { JobService } from '#jobs';", filename: at('libs/cluster/src/x.ts'), errors: [{ messageId: 'forbidden' }] },
    ],
  });
});
