import type { FastifyRequest } from 'fastify';
import { BodyTooLargeError, readRawBody } from '#http-kit';
import { JobRequestError } from '../domain/job-errors';
import { RequestFields } from '../domain/request-fields';

/** The request body as bytes, up to `limit` (a JSON 413 beyond; see readRawBody). */
export async function bodyOf(request: FastifyRequest, limit: number): Promise<Buffer | undefined> {
  try {
    return await readRawBody(request.raw, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new JobRequestError(413, 1, error.message);
    throw error;
  }
}

/** Parsed JSON fields of the body; null when the body is not a JSON object. */
export async function fieldsOf(request: FastifyRequest, limit: number): Promise<RequestFields | null> {
  return RequestFields.parse(await bodyOf(request, limit));
}
