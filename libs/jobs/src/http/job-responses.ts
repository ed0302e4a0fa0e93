import { COMPAT_NAME, COMPAT_VERSION } from '../jobs-options';
import { rfc3339Local } from '../domain/rfc3339';
import { cpus } from 'node:os';

export const okBody = { status: 'ok', code: 0 } as const;
export const emptyQueueBody = { status: 'ok', code: 2, message: 'empty queue' } as const;

const okText = JSON.stringify(okBody, null, 2);
const emptyQueueText = JSON.stringify(emptyQueueBody, null, 2);

/** dispenserd pretty-prints every answer with two-space indentation (the two commonest ones are kept rendered). */
export const render = (body: unknown): string =>
  body === okBody ? okText : body === emptyQueueBody ? emptyQueueText : JSON.stringify(body, null, 2);

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

