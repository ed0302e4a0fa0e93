import { BrokerError } from '#core';
import { isHardError, ReplyCode } from './codec';

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

  withMethod(classId: number, methodId: number): AmqpError {
    if (this.classId !== 0 || this.methodId !== 0) return this;
    return new AmqpError(this.replyCode, this.replyText, classId, methodId);
  }
}

/** Maps a core error (its codes are AMQP reply codes) to an AmqpError. */
export function fromBrokerError(error: BrokerError): AmqpError {
  return new AmqpError(error.code, error.message);
}

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
export const notFound = (detail: string): AmqpError => new AmqpError(ReplyCode.NotFound, text('NOT_FOUND', detail));
export const internalError = (detail: string): AmqpError =>
  new AmqpError(ReplyCode.InternalError, text('INTERNAL_ERROR', detail));
