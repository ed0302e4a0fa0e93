import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'apps', 'broker', 'src', 'main.js');
/** What `npm start` and the container image run (tests run from dist/, the script lives in the checkout). */
const START_SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'start-broker.sh');

export interface BrokerProcess {
  child: ChildProcess;
  /** Log lines (parsed JSON) seen so far. */
  logs: Record<string, unknown>[];
  stderr: string;
  exited: Promise<number | null>;
}

const GC_ON_SIGNAL = join(__dirname, 'gc-on-signal.js');

/** Brokers started by this test process and not exited yet: killed when it exits, so a test that failed or timed out before its own cleanup leaves no broker running. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface BrokerProcessOptions {
  /** SIGUSR2 makes the process run a full garbage collection (see `collectGarbage`). */
  gcOnSignal?: boolean;
  /** Started through scripts/start-broker.sh, as `npm start` starts it, instead of node on main.js. */
  startScript?: boolean;
}

/** Starts the real broker executable with the given environment; resolves once it logged "broker started". */
export async function startBrokerProcess(env: Record<string, string>, options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  // the start script takes no node flags: it starts the broker exactly as npm start does
  if (options.startScript && options.gcOnSignal) throw new Error('gcOnSignal needs node flags the start script does not take');
  const nodeArgs = options.gcOnSignal ? ['--expose-gc', '-r', GC_ON_SIGNAL] : [];
  const [command, args] = options.startScript ? ['sh', [START_SCRIPT]] : [process.execPath, [...nodeArgs, MAIN]];
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const proc: BrokerProcess = {
    child,
    logs: [],
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stderr!.on('data', (chunk: Buffer) => (proc.stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          proc.logs.push(entry);
          if (entry.msg === 'broker started') resolve();
        } catch {
          // not a log line
        }
      }
    });
    void proc.exited.then((code) => reject(new Error(`broker exited with ${code}: ${proc.stderr}`)));
  });
  return proc;
}

/** Runs a full garbage collection in a process started with `gcOnSignal`, so what is measured next is live memory. */
export async function collectGarbage(proc: BrokerProcess): Promise<void> {
  proc.child.kill('SIGUSR2');
  // the signal is handled on the process's next turn; give the collection time to finish
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

/**
 * A broker process with only its AMQP door on `port` (the others on free ports), durable on every
 * commit, for kill -9 tests; `cleanups` gets what kills it (SIGKILL) if the test did not.
 */
export async function startAmqpBrokerProcess(
  dataDir: string,
  port: number,
  cleanups: (() => Promise<void> | void)[],
  extra: Record<string, string> = {},
  options: BrokerProcessOptions = {},
): Promise<BrokerProcess> {
  const proc = await startBrokerProcess(
    {
      DATA_DIR: dataDir,
      AMQP_PORT: String(port),
      JOBS_PORT: '0',
      DISPATCH_PORT: '0',
      MANAGEMENT_PORT: '0',
      BIND_HOST: '127.0.0.1',
      STORE_SYNC: 'full',
      ...extra,
    },
    options,
  );
  cleanups.push(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  });
  return proc;
}
