import type { FastifyRequest } from 'fastify';
import { readRawBody } from '#http-kit';
import { RequestFields } from '../domain/request-fields';

/** The request body as bytes, up to `limit` (a JSON 413 beyond, answered by the server; see readRawBody). */
export function bodyOf(request: FastifyRequest, limit: number): Promise<Buffer | undefined> {
  return readRawBody(request.raw, limit);
}

/** Parsed JSON fields of the body; null when the body is not a JSON object. */
export async function fieldsOf(request: FastifyRequest, limit: number): Promise<RequestFields | null> {
  return RequestFields.parse(await bodyOf(request, limit));
}
