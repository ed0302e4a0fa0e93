import type { FastifyRequest } from 'fastify';
import { JobRequestError } from '../domain/job-errors';
import { RequestFields } from '../domain/request-fields';

/**
 * The request body as bytes, read from the raw request stream whatever the method and
 * Content-Type (dispenserd reads a GET's body too), up to `limit` bytes (413 beyond).
 */
export async function bodyOf(request: FastifyRequest, limit: number): Promise<Buffer | undefined> {
  if (Buffer.isBuffer(request.body)) return request.body;
  const raw = request.raw;
  if (!raw.readable || raw.readableEnded) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = Number(raw.headers['content-length']) > limit;
  for await (const chunk of raw) {
    // an oversized body is read to its end and dropped, so the client sees the 413 (and the
    // connection stays usable) instead of a reset while it is still sending
    if (tooBig) continue;
    size += (chunk as Buffer).length;
    if (size > limit) {
      tooBig = true;
      chunks.length = 0;
      continue;
    }
    chunks.push(chunk as Buffer);
  }
  if (tooBig) throw new JobRequestError(413, 1, `request body is larger than the limit of ${limit} bytes`);
  return chunks.length === 0 ? undefined : Buffer.concat(chunks);
}

/** Parsed JSON fields of the body; null when the body is not a JSON object. */
export async function fieldsOf(request: FastifyRequest, limit: number): Promise<RequestFields | null> {
  return RequestFields.parse(await bodyOf(request, limit));
}
