import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A private PostgreSQL server per test file (or bench): Debian's PostgreSQL 15 in a temp directory,
 * on a free loopback port, fsync on, started as the `postgres` user when we are root. How it is
 * started lives in one place, scripts/postgres/private-postgres.sh; this wraps it for tests.
 */

const run = promisify(execFile);

/** Where the server binaries are (POSTGRES_BIN overrides Debian's path). */
export const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'postgres', 'private-postgres.sh');

const binaryMissing: string | false = existsSync(join(POSTGRES_BIN, 'postgres'))
  ? false
  : `PostgreSQL server not found at ${POSTGRES_BIN} (Debian: apt-get install postgresql, or set POSTGRES_BIN)`;

/**
 * A reason to skip the PostgreSQL tests on this machine, or false. Under CI it is always false:
 * there a missing server must fail the run (startPostgres throws), not quietly skip half of it.
 */
export const postgresMissing: string | false = process.env.CI ? false : binaryMissing;

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:PORT/broker — the same across down/up/restart/kill. */
  readonly url: string;
  /** The server's directory: data/, log, the Unix socket. */
  readonly dir: string;
  /** Creates another database on this server; resolves to its URL. */
  createDatabase(name: string): Promise<string>;
  /** The server's process ids, postmaster first (for CPU accounting). */
  pids(): Promise<number[]>;
  /** Fast shutdown, data kept: clients see their connections closed and new ones refused. */
  down(): Promise<void>;
  /** Starts the server again on the same port and data (after down or kill). */
  up(): Promise<void>;
  /** down() then up(): the "PostgreSQL restarted under load" case. */
  restart(): Promise<void>;
  /** SIGKILL of the postmaster and every backend: a crash. up() starts it with crash recovery. */
  kill(): Promise<void>;
  /** SIGSTOP of every server process: connections stay open and nothing answers (a frozen server, a network black hole). */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

async function script(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [SCRIPT, ...args], { encoding: 'utf8' });
    return stdout.trim();
  } catch (error) {
    const failure = error as Error & { stderr?: string };
    throw new Error(`private-postgres.sh ${args[0]} failed: ${failure.stderr?.trim() || failure.message}`);
  }
}

/**
 * Starts a private server; it is stopped and its directory removed by stop(), or at the latest
 * when this process exits by any means (a detached reaper watches our pid, so even a SIGKILLed
 * test run leaves no server behind).
 */
export async function startPostgres(): Promise<PrivatePostgres> {
  if (binaryMissing) throw new Error(process.env.CI ? `${binaryMissing}; CI is set, so the PostgreSQL tests must run` : binaryMissing);
  const dir = mkdtempSync(join(tmpdir(), 'broker-postgres-'));
  spawn('bash', [SCRIPT, 'reap-after', String(process.pid), dir], { detached: true, stdio: 'ignore' }).unref();
  let url: string;
  try {
    url = await script('start', dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const step = (command: string) => async (): Promise<void> => {
    await script(command, dir);
  };
  const down = step('stop');
  const up = step('start');
  return {
    url,
    dir,
    createDatabase: (name) => script('database', dir, name),
    pids: async () => (await script('pids', dir)).split('\n').filter(Boolean).map(Number),
    down,
    up,
    restart: async () => {
      await down();
      await up();
    },
    kill: step('kill'),
    pause: step('pause'),
    resume: step('resume'),
    stop: async () => {
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
