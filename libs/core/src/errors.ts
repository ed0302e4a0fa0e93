/**
 * Errors raised by the core for requests a client made. The codes are AMQP 0-9-1 reply codes
 * because they name the situations precisely; other front doors map them (e.g. 404 -> HTTP 404).
 */
export const enum ReplyCode {
  NotFound = 404,
  AccessRefused = 403,
  ResourceLocked = 405,
  PreconditionFailed = 406,
  CommandInvalid = 503,
  NotAllowed = 530,
  NotImplemented = 540,
  InternalError = 541,
  ResourceError = 506,
}

export class BrokerError extends Error {
  constructor(
    readonly code: ReplyCode,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

export const notFound = (text: string): BrokerError => new BrokerError(ReplyCode.NotFound, `NOT_FOUND - ${text}`);
export const accessRefused = (text: string): BrokerError =>
  new BrokerError(ReplyCode.AccessRefused, `ACCESS_REFUSED - ${text}`);
export const resourceLocked = (text: string): BrokerError =>
  new BrokerError(ReplyCode.ResourceLocked, `RESOURCE_LOCKED - ${text}`);
export const preconditionFailed = (text: string): BrokerError =>
  new BrokerError(ReplyCode.PreconditionFailed, `PRECONDITION_FAILED - ${text}`);
export const notAllowed = (text: string): BrokerError => new BrokerError(ReplyCode.NotAllowed, `NOT_ALLOWED - ${text}`);
export const notImplemented = (text: string): BrokerError =>
  new BrokerError(ReplyCode.NotImplemented, `NOT_IMPLEMENTED - ${text}`);
export const commandInvalid = (text: string): BrokerError =>
  new BrokerError(ReplyCode.CommandInvalid, `COMMAND_INVALID - ${text}`);
