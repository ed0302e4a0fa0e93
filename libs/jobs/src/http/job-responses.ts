import { COMPAT_NAME, COMPAT_VERSION } from '../jobs-options';
import { rfc3339Local } from '../domain/rfc3339';
import { cpus } from 'node:os';

/** dispenserd pretty-prints every answer with two-space indentation. */
export const render = (body: unknown): string => JSON.stringify(body, null, 2);

export const okBody = { status: 'ok', code: 0 } as const;
export const emptyQueueBody = { status: 'ok', code: 2, message: 'empty queue' } as const;

export const errorBody = (code: number, message: string): { status: 'error'; code: number; message: string } => ({
  status: 'error',
  code,
  message,
});

/** The status document (`/` and every unknown path), field order as dispenserd's. */
export function statusBody(queued: Record<string, number>, idle: Record<string, number>): unknown {
  return {
    name: COMPAT_NAME,
    version: COMPAT_VERSION,
    timestamp: rfc3339Local(),
    status: 'ok',
    payload: {
      system: { pid: process.pid, cpu_count: cpus().length },
      queued_jobs: queued,
      idle_workers: idle,
    },
  };
}

