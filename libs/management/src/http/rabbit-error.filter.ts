import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { BrokerError, BrokerErrorKind } from '#core';
import { NotAuthorised } from '../authz/not-authorised';

/** HTTP status of each kind of core error (the management API's mapping, in one place). */
const BROKER_ERROR_STATUS: Record<BrokerErrorKind, number> = {
  'not-found': 404,
  'access-refused': 403,
  'resource-locked': 405,
  'exclusive-use': 403,
  'precondition-failed': 400,
  'invalid-request': 400,
  'not-implemented': 501,
  'resource-limit': 503,
  'store-unavailable': 503,
};

const ERROR_NAMES: Record<number, string> = {
  400: 'bad_request',
  401: 'not_authorized',
  403: 'access_refused',
  404: 'Object Not Found',
  405: 'resource_locked',
  409: 'conflict',
  415: 'unsupported_media_type',
  501: 'not_implemented',
  503: 'service_unavailable',
};

/** Errors in RabbitMQ's shape: `{"error": …, "reason": …}`. */
@Catch()
export class RabbitErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('management');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status = 500;
    let reason = 'internal error';
    if (error instanceof BrokerError) {
      status = BROKER_ERROR_STATUS[error.kind];
      reason = error.message;
    } else if (error instanceof HttpException) {
      status = error.getStatus();
      const response = error.getResponse();
      const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      reason = Array.isArray(message) ? message.join('; ') : String(message ?? error.message);
    } else {
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    // RabbitMQ spells a failed login not_authorized and a refusal of a logged-in user not_authorised
    const name = error instanceof NotAuthorised ? 'not_authorised' : (ERROR_NAMES[status] ?? 'error');
    void reply.code(status).header('content-type', 'application/json').send(JSON.stringify({ error: name, reason }));
  }
}
