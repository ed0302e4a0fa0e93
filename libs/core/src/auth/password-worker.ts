import bcrypt from 'bcryptjs';
import { parentPort } from 'node:worker_threads';
import type { PasswordJob, PasswordJobResult } from './password-jobs';

// One bcrypt at a time, synchronously: this thread does nothing else, and the pool hands it the next job when it answers.
parentPort!.on('message', (job: PasswordJob) => {
  let result: PasswordJobResult;
  try {
    const value = job.kind === 'compare' ? bcrypt.compareSync(job.password, job.hash) : bcrypt.hashSync(job.password, job.rounds);
    result = { id: job.id, ok: true, value };
  } catch (error) {
    result = { id: job.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(result);
});
