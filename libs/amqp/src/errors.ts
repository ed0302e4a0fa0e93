import { BrokerError, BrokerErrorKind, DecodeError } from '#core';
import { FrameError, UnknownMethodError } from './codec/errors';
import { isHardError, ReplyCode } from './codec/methods.generated';

/**
 * A protocol exception raised while handling a frame. Soft errors close the channel, hard errors
 * the whole connection (the spec's classes, as RabbitMQ applies them).
 */
export class AmqpError extends Error {
  constructor(
    readonly replyCode: number,
    readonly replyText: string,
    /** The method that caused it (0/0 when none). */
    readonly classId = 0,
    readonly methodId = 0,
  ) {
    super(replyText);
    this.name = 'AmqpError';
  }

  get closesConnection(): boolean {
    return isHardError(this.replyCode);
  }

  /** The same error blamed on a method (a generated MethodId), unless it already names one. */
  withMethod(methodId: number): AmqpError {
    if (this.classId !== 0 || this.methodId !== 0) return this;
    return new AmqpError(this.replyCode, this.replyText, methodId >>> 16, methodId & 0xffff);
  }
}

/** The spec's reply code and text prefix for each kind of core error (RabbitMQ's choices). */
const BROKER_ERROR_CODES: Record<BrokerErrorKind, [number, string]> = {
  'not-found': [ReplyCode.NotFound, 'NOT_FOUND'],
  'access-refused': [ReplyCode.AccessRefused, 'ACCESS_REFUSED'],
  'resource-locked': [ReplyCode.ResourceLocked, 'RESOURCE_LOCKED'],
  'exclusive-use': [ReplyCode.AccessRefused, 'ACCESS_REFUSED'],
  'precondition-failed': [ReplyCode.PreconditionFailed, 'PRECONDITION_FAILED'],
  'invalid-request': [ReplyCode.CommandInvalid, 'COMMAND_INVALID'],
  'not-implemented': [ReplyCode.NotImplemented, 'NOT_IMPLEMENTED'],
  'resource-limit': [ReplyCode.ResourceError, 'RESOURCE_ERROR'],
  'store-unavailable': [ReplyCode.InternalError, 'INTERNAL_ERROR'],
};

/**
 * Brings any error raised while handling input into AMQP form: the one place where core, codec
 * and decode errors get their reply codes. `methodId` (a generated MethodId) names the method
 * being handled, when there is one. Errors of no known kind become 541 INTERNAL_ERROR; the
 * caller logs those.
 */
export function toAmqpError(error: unknown, methodId = 0): AmqpError {
  const converted = convert(error);
  return methodId === 0 ? converted : converted.withMethod(methodId);
}

function convert(error: unknown): AmqpError {
  if (error instanceof AmqpError) return error;
  if (error instanceof BrokerError) {
    const [code, name] = BROKER_ERROR_CODES[error.kind];
    return new AmqpError(code, `${name} - ${error.message}`);
  }
  if (error instanceof FrameError) return frameError(error.message);
  if (error instanceof UnknownMethodError) {
    const methodId = (error.classId << 16) | error.methodId;
    return error.classKnown
      ? commandInvalid(error.message).withMethod(methodId)
      : notImplemented(error.message).withMethod(methodId);
  }
  if (error instanceof DecodeError) return syntaxError(error.message);
  return internalError(error instanceof Error ? error.message : String(error));
}

/** Whether `toAmqpError` would treat this as an unexpected failure (worth a log line). */
export const isUnexpected = (error: unknown): boolean =>
  !(error instanceof AmqpError || error instanceof BrokerError || error instanceof FrameError || error instanceof UnknownMethodError || error instanceof DecodeError);

const text = (name: string, detail: string): string => `${name} - ${detail}`;

export const frameError = (detail: string): AmqpError => new AmqpError(ReplyCode.FrameError, text('FRAME_ERROR', detail));
export const syntaxError = (detail: string): AmqpError => new AmqpError(ReplyCode.SyntaxError, text('SYNTAX_ERROR', detail));
export const commandInvalid = (detail: string): AmqpError =>
  new AmqpError(ReplyCode.CommandInvalid, text('COMMAND_INVALID', detail));
export const channelError = (detail: string): AmqpError => new AmqpError(ReplyCode.ChannelError, text('CHANNEL_ERROR', detail));
export const unexpectedFrame = (detail: string): AmqpError =>
  new AmqpError(ReplyCode.UnexpectedFrame, text('UNEXPECTED_FRAME', detail));
export const notAllowed = (detail: string): AmqpError => new AmqpError(ReplyCode.NotAllowed, text('NOT_ALLOWED', detail));
export const notImplemented = (detail: string): AmqpError =>
  new AmqpError(ReplyCode.NotImplemented, text('NOT_IMPLEMENTED', detail));
export const preconditionFailed = (detail: string): AmqpError =>
  new AmqpError(ReplyCode.PreconditionFailed, text('PRECONDITION_FAILED', detail));
export const accessRefused = (detail: string): AmqpError =>
  new AmqpError(ReplyCode.AccessRefused, text('ACCESS_REFUSED', detail));
export const internalError = (detail: string): AmqpError =>
  new AmqpError(ReplyCode.InternalError, text('INTERNAL_ERROR', detail));
export const connectionForced = (detail: string): AmqpError =>
  new AmqpError(ReplyCode.ConnectionForced, text('CONNECTION_FORCED', detail));

/**
 * A reply text as a short string: at most 255 bytes of UTF-8, cut at a character boundary
 * (reply texts quote client names, which may be 255 bytes of multi-byte characters themselves).
 */
export function replyTextOf(text: string): string {
  if (text.length <= 85 || Buffer.byteLength(text) <= 255) return text;
  let cut = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > 255) break;
    cut += char;
    bytes += size;
  }
  return cut;
}
