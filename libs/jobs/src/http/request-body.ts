import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { JobRequestError } from '../domain/job-errors';
import { RequestFields } from '../domain/request-fields';

/**
 * The request body as bytes, read from the raw request stream whatever the method and
 * Content-Type (dispenserd reads a GET's body too), up to `limit` bytes (413 beyond). An
 * oversized body is read to its end and dropped, so the client sees the 413 (and the connection
 * stays usable) instead of a reset while it is still sending.
 */
export function bodyOf(request: FastifyRequest, limit: number): Promise<Buffer | undefined> {
  const raw: IncomingMessage = request.raw;
  if (!raw.readable || raw.readableEnded) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let size = 0;
    let tooBig = Number(raw.headers['content-length']) > limit;
    raw.on('data', (chunk: Buffer) => {
      if (tooBig) return;
      size += chunk.length;
      if (size > limit) {
        tooBig = true;
        first = undefined;
        more = undefined;
      } else if (first === undefined) first = chunk;
      else (more ??= [first]).push(chunk);
    });
    raw.once('end', () => {
      if (tooBig) reject(new JobRequestError(413, 1, `request body is larger than the limit of ${limit} bytes`));
      else resolve(more !== undefined ? Buffer.concat(more, size) : first);
    });
    raw.once('error', reject);
  });
}

/** Parsed JSON fields of the body; null when the body is not a JSON object. */
export async function fieldsOf(request: FastifyRequest, limit: number): Promise<RequestFields | null> {
  return RequestFields.parse(await bodyOf(request, limit));
}
