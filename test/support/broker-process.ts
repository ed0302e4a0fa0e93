import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'apps', 'broker', 'src', 'main.js');

export interface BrokerProcess {
  child: ChildProcess;
  /** Log lines (parsed JSON) seen so far. */
  logs: Record<string, unknown>[];
  stderr: string;
  exited: Promise<number | null>;
}

/** Starts the real broker executable with the given environment; resolves once it logged "broker started". */
export async function startBrokerProcess(env: Record<string, string>): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
