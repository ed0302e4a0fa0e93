import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PasswordJob, PasswordJobResult } from './password-jobs';

/** Why a password job was not run: the pool's queue is full (a login storm) or the pool is closed. */
export class PasswordPoolBusy extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordPoolBusy';
  }
}

interface Pending {
  job: PasswordJob;
  resolve: (value: boolean | string) => void;
  reject: (error: Error) => void;
}

interface PasswordThread {
  worker: Worker;
  running: Pending | null;
}

/** Workers for `size` 0: half the CPUs, at least one and at most four (bcrypt is all CPU). */
export function defaultPasswordWorkers(): number {
  return Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
}

/**
 * bcrypt off the event loop: a few worker threads, started on first use, each running one compare
 * or hash at a time from a bounded queue. A compare costs ~100 ms of CPU; on the main thread a few
 * wrong-password loops stalled every door. Idle workers do not keep the process alive.
 */
export class PasswordWorkerPool {
  private readonly threads: PasswordThread[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly size: number,
    /** Jobs waiting for a worker at most; more are refused with PasswordPoolBusy. */
    private readonly maxQueued = 1000,
  ) {}

  compare(password: string, hash: string): Promise<boolean> {
    return this.run({ id: ++this.nextId, kind: 'compare', password, hash }) as Promise<boolean>;
  }

  hash(password: string, rounds: number): Promise<string> {
    return this.run({ id: ++this.nextId, kind: 'hash', password, rounds }) as Promise<string>;
  }

  /** Ends the workers; jobs not yet answered are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new PasswordPoolBusy('password checks are stopped'));
    const threads = this.threads.splice(0);
    for (const thread of threads) thread.running?.reject(new PasswordPoolBusy('password checks are stopped'));
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private run(job: PasswordJob): Promise<boolean | string> {
    if (this.closed) return Promise.reject(new PasswordPoolBusy('password checks are stopped'));
    if (this.queue.length >= this.maxQueued) return Promise.reject(new PasswordPoolBusy('too many password checks waiting'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let thread = this.threads.find((t) => t.running === null);
      if (thread === undefined && this.threads.length < this.size) thread = this.startThread();
      if (thread === undefined) return;
      const pending = this.queue.shift()!;
      thread.running = pending;
      thread.worker.ref();
      thread.worker.postMessage(pending.job);
    }
  }

  private startThread(): PasswordThread {
    const worker = new Worker(join(__dirname, 'password-worker.js'));
    const thread: PasswordThread = { worker, running: null };
    worker.on('message', (result: PasswordJobResult) => {
      const pending = thread.running;
      thread.running = null;
      worker.unref();
      if (pending !== null && pending.job.id === result.id) {
        if (result.ok) pending.resolve(result.value);
        else pending.reject(new Error(result.error));
      }
      this.dispatch();
    });
    const lost = (error: Error): void => {
      const index = this.threads.indexOf(thread);
      if (index < 0) return;
      this.threads.splice(index, 1);
      thread.running?.reject(error);
      thread.running = null;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`password worker exited with code ${code}`)));
    worker.unref();
    this.threads.push(thread);
    return thread;
  }
}
