// Broker nodes for a cluster bench: each a process of its own (dist/apps/broker/src/main.js) on
// free loopback ports, STORE=postgres on one database (or STORE=sqlite in a directory of its own,
// for smoke runs of a harness), with what they spend in CPU read from /proc.
//   const nodes = await startNodes({ count: 3, store: 'postgres', databaseUrl, doors: ['jobs'] });
//   nodes.list[i].jobsUrl / dispatchUrl; nodes.cpuSeconds(); await nodes.stop();
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } = require('node:fs');
const { createConnection, createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { sleep } = require('./stats');

const ROOT = join(__dirname, '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'broker', 'src', 'main.js');
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** A door that does not answer once its node is ready: with STORE=postgres, a door still off in this build. */
class DoorOffError extends Error {}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const accepts = (port) =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** utime + stime of a live process, in seconds (threads included: /proc/PID/stat sums them). */
function processCpuSeconds(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0; // gone: its CPU is no longer readable, and it no longer runs
  }
}

async function waitReady(node, deadline) {
  while (Date.now() < deadline) {
    if (node.child.exitCode !== null) throw new Error(`node ${node.name} exited with ${node.child.exitCode}:\n${node.logTail()}`);
    try {
      const response = await fetch(`${node.managementUrl}/readyz`);
      await response.text();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`node ${node.name} was not ready within the start timeout:\n${node.logTail()}`);
}

async function waitDoor(node, door, port) {
  // the management port answers only once the doors are bound; a door still refusing a moment
  // later is off (with STORE=postgres, until the database-backed queue type exists)
  for (let i = 0; i < 20; i++) {
    if (await accepts(port)) return;
    await sleep(100);
  }
  throw new DoorOffError(
    `the ${door} door of node ${node.name} (port ${port}) is off in this build with STORE=${node.store}; the node's log says:\n${node.logTail()}`,
  );
}

/**
 * Starts `count` nodes and waits until each is ready and the asked doors accept connections.
 * Every node gets its own ports; with STORE=postgres all share `databaseUrl` (and migrate it in
 * turn on first start). `env` adds or overrides settings of every node.
 */
async function startNodes({ count, store = 'postgres', databaseUrl, doors = ['jobs'], env = {}, startTimeoutMs = 60_000 }) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build first`);
  if (store === 'postgres' && !databaseUrl) throw new Error('STORE=postgres needs a database URL');
  const dir = mkdtempSync(join(tmpdir(), 'bench-nodes-'));
  const list = [];
  const killAll = () => {
    for (const node of list) if (node.child.exitCode === null) node.child.kill('SIGKILL');
  };
  process.once('exit', killAll); // a bench that dies leaves no node behind
  try {
    for (let i = 1; i <= count; i++) {
      const name = `bench-node-${i}`;
      const ports = { JOBS_PORT: await freePort(), DISPATCH_PORT: await freePort(), MANAGEMENT_PORT: await freePort() };
      const logFile = join(dir, `${name}.log`);
      const log = openSync(logFile, 'a');
      const settings = {
        ...process.env,
        ...ports,
        AMQP_PORT: '0',
        BIND_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        NODE_NAME: name,
        STORE: store,
        ...(store === 'postgres' ? { DATABASE_URL: databaseUrl } : { DATA_DIR: join(dir, `${name}-data`) }),
        DISPATCH_ALLOW_LOOPBACK: 'true', // the delivery bench's sink is on loopback
        ...env,
      };
      // BENCH_NODE_ARGS: node options for the nodes alone, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" to profile them
      const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const child = spawn(process.execPath, [...nodeArgs, MAIN], { cwd: ROOT, env: settings, stdio: ['ignore', log, log] });
      closeSync(log);
      list.push({
        name,
        store,
        child,
        pid: child.pid,
        jobsUrl: `http://127.0.0.1:${ports.JOBS_PORT}`,
        dispatchUrl: `http://127.0.0.1:${ports.DISPATCH_PORT}`,
        managementUrl: `http://127.0.0.1:${ports.MANAGEMENT_PORT}`,
        ports,
        logTail: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '(no log)'),
      });
    }
    const deadline = Date.now() + startTimeoutMs;
    for (const node of list) {
      await waitReady(node, deadline);
      if (doors.includes('jobs')) await waitDoor(node, 'job API', node.ports.JOBS_PORT);
      if (doors.includes('delivery')) await waitDoor(node, 'delivery', node.ports.DISPATCH_PORT);
    }
  } catch (error) {
    killAll();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    list,
    /** CPU seconds the node processes used so far (their sum). */
    cpuSeconds: () => list.reduce((sum, node) => sum + processCpuSeconds(node.pid), 0),
    /** SIGTERM (a clean stop: the node marks itself left), SIGKILL after 15 s. */
    async stop() {
      await Promise.all(
        list.map(async (node) => {
          if (node.child.exitCode !== null) return;
          const exited = new Promise((resolve) => node.child.once('exit', resolve));
          node.child.kill('SIGTERM');
          const timer = setTimeout(() => node.child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }),
      );
      process.off('exit', killAll);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { DoorOffError, startNodes };
