import type { FastifyError } from 'fastify';
import { BrokerError } from '#core';
import { BodyTooLargeError, BROKER_ERROR_HTTP_STATUS, ClientGoneError, HttpAuthError } from '#http-kit';
import { JobRequestError } from '../domain/job-errors';
import { errorBody } from './job-responses';

export interface JobErrorAnswer {
  status: number;
  body: ReturnType<typeof errorBody> & Readonly<Record<string, unknown>>;
  headers?: Record<string, string>;
  /** Not the client's doing: worth an error log. */
  unexpected?: boolean;
}

/**
 * How a failed job request is answered, on either HTTP path: dispenserd's JSON error document and
 * a 4xx, or 503 while the broker cannot accept work; null when there is nobody left to answer.
 */
export function jobErrorAnswer(error: unknown, maxBodyBytes: number): JobErrorAnswer | null {
  if (error instanceof ClientGoneError) return null;
  if (error instanceof BodyTooLargeError) {
    // announced in Content-Length: answer now and close rather than read it all
    return { status: 413, body: errorBody(1, error.message), headers: error.declared ? { connection: 'close' } : undefined };
  }
  if (error instanceof HttpAuthError) return { status: 401, body: errorBody(1, error.message), headers: { 'www-authenticate': 'Basic realm="jobs"' } };
  if (error instanceof JobRequestError) return { status: error.status, body: { ...errorBody(error.code, error.message), ...error.details } };
  if (error instanceof BrokerError) return { status: BROKER_ERROR_HTTP_STATUS[error.kind], body: errorBody(error.kind === 'not-found' ? 3 : 1, error.message) };
  const statusCode = (error as Partial<FastifyError> | null)?.statusCode;
  if (statusCode === 413) return { status: 413, body: errorBody(1, `request body is larger than the limit of ${maxBodyBytes} bytes`) };
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) return { status: statusCode, body: errorBody(1, (error as Error).message) };
  return { status: 500, body: errorBody(1, 'internal error'), unexpected: true };
}
