import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { Broker } from '#core';
import { loadBrokerConfig } from '#config';
import type { CompositionOverrides } from '../../apps/broker/src/app.module';
import { RunningBroker, startBroker } from '../../apps/broker/src/broker-app';
import { tempDir } from './temp-dir';

export interface TestApp {
  running: RunningBroker;
  broker: Broker;
  dataDir: string;
  amqpPort: number;
  amqpUrl: string;
  managementUrl: string;
  /** The delivery API (DISPATCH_PORT). */
  dispatchUrl: string;
  /** Stops the app (graceful); keeps the data directory. */
  stop(): Promise<void>;
  /** Stops the app and removes its data directory. */
  close(): Promise<void>;
}

/**
 * Starts the whole application in this process on ephemeral ports (127.0.0.1) with a temporary
 * data directory (or the given one). Extra settings are environment-style keys.
 */
export async function startTestApp(
  settings: Record<string, string> = {},
  dataDir?: string,
  overrides: CompositionOverrides = {},
): Promise<TestApp> {
  const dir = dataDir ? { path: dataDir, cleanup: () => undefined } : tempDir();
  const cluster = await clusterSettings(dir.path);
  const config = loadBrokerConfig({
    DATA_DIR: dir.path,
    AMQP_PORT: '0',
    JOBS_PORT: '0',
    DISPATCH_PORT: '0',
    MANAGEMENT_PORT: '0',
    BIND_HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    STORE_SYNC: 'normal',
    ...cluster,
    ...settings,
  });
  const running = await startBroker(config, overrides);
  const amqpPort = running.ports.amqp;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await running.close();
  };
  return {
    running,
    broker: running.app.get(Broker),
    dataDir: dir.path,
    amqpPort,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    managementUrl: `http://127.0.0.1:${running.ports.management}`,
    dispatchUrl: `http://127.0.0.1:${running.ports.dispatch}`,
    stop,
    close: async () => {
      await stop();
      dir.cleanup();
    },
  };
}

/**
 * With TEST_POSTGRES_URL set (test/cluster/shared-e2e.test.ts runs door tests that way), an app is
 * a cluster node (STORE=postgres) on a database of its own on that server, one per data
 * directory (a restart with the same directory finds the same database).
 */
async function clusterSettings(dataDir: string): Promise<Record<string, string>> {
  const server = process.env.TEST_POSTGRES_URL;
  if (server === undefined || server === '') return {};
  const name = `app_${createHash('sha1').update(dataDir).digest('hex').slice(0, 16)}`;
  const client = new Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    // 42P04: the database of this directory exists (a restart)
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { STORE: 'postgres', DATABASE_URL: url.toString(), CLUSTER_NODE_TIMEOUT_MS: '6000', CLUSTER_POLL_INTERVAL_MS: '100', DATABASE_POOL_SIZE: '4' };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or the timeout passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A TCP port that was free a moment ago (for child processes that must be told their port). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** One broker's data directory across the restarts of a test: `start` (re)starts the app on it. */
export interface RestartableApp {
  /** Starts the app on the directory (stop the previous one first). */
  start(): Promise<TestApp>;
  /** Stops whatever was started and removes the directory. */
  close(): Promise<void>;
}

/** `cleanups`, when given, gets the app's `close` (a test file's list run in its `after`). */
export function restartableApp(settings: Record<string, string> = {}, cleanups?: (() => Promise<void> | void)[]): RestartableApp {
  const dir = tempDir();
  let current: TestApp | null = null;
  const app: RestartableApp = {
    async start() {
      current = await startTestApp(settings, dir.path);
      return current;
    },
    async close() {
      await current?.stop();
      dir.cleanup();
    },
  };
  cleanups?.push(() => app.close());
  return app;
}
