import type { FastifyRequest } from 'fastify';
import { JobRequestError } from '../domain/job-errors';
import { RequestFields } from '../domain/request-fields';

/**
 * The request body as bytes. Fastify parses bodies of POST/PUT/PATCH/DELETE/OPTIONS (our parser
 * keeps them raw); dispenserd also reads a GET's body, so for those we read the stream ourselves.
 */
export async function bodyOf(request: FastifyRequest, limit: number): Promise<Buffer | undefined> {
  if (Buffer.isBuffer(request.body)) return request.body;
  const raw = request.raw;
  if (!raw.readable || raw.readableEnded) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new JobRequestError(413, 1, `request body is larger than the limit of ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 0 ? undefined : Buffer.concat(chunks);
}

/** Parsed JSON fields of the body; null when the body is not a JSON object. */
export async function fieldsOf(request: FastifyRequest, limit: number): Promise<RequestFields | null> {
  return RequestFields.parse(await bodyOf(request, limit));
}
