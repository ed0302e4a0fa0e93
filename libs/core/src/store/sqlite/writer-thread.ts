import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WriterReply, WriterRequest } from './batch-format';
import type { SyncMode } from './schema';

/** How long a closing writer may take to checkpoint before it is terminated. */
const CLOSE_TIMEOUT_MS = 10_000;

/** The worker thread that owns the store's write connection: start, send batches, stop. */
export class WriterThread {
  private constructor(private readonly worker: Worker) {}

  /**
   * Starts the writer on `file`; resolves once it has opened the database. Afterwards its
   * replies go to `onReply`, and an error or an exit the store did not ask for to `onFailure`.
   */
  static start(file: string, sync: SyncMode, onReply: (reply: WriterReply) => void, onFailure: (error: Error) => void): Promise<WriterThread> {
    const worker = new Worker(join(__dirname, 'writer-worker.js'), { workerData: { file, sync } });
    const thread = new WriterThread(worker);
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (reply: WriterReply) => {
        if (reply.kind === 'ready') {
          worker.off('error', reject);
          worker.on('error', onFailure);
          resolve(thread);
        } else onReply(reply);
      });
      worker.on('exit', (code) => {
        if (!thread.stopping) onFailure(new Error(`store writer exited with code ${code}`));
      });
    });
  }

  private stopping = false;

  post(request: WriterRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(request, transfer);
  }

  /** Asks the writer to checkpoint and close, then ends the thread. */
  stop(): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate().then(() => resolve()), CLOSE_TIMEOUT_MS);
      worker.on('message', (reply: WriterReply) => {
        if (reply.kind === 'closed') {
          clearTimeout(timer);
          void worker.terminate().then(() => resolve());
        }
      });
      worker.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ kind: 'close' } satisfies WriterRequest);
    });
  }
}
