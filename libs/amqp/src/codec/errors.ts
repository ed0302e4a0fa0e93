/**
 * Errors raised by the AMQP 0-9-1 codec. Each carries the reply code the connection layer should
 * send in connection.close before dropping the connection.
 *
 * Malformed method/header payloads raise `DecodeError` from `#core/encoding` (it is
 * transport-neutral and has no reply code); the connection layer should treat those as
 * 502 SYNTAX_ERROR (or 501 FRAME_ERROR).
 */

/** A framing violation: bad frame-end octet, oversize frame, unknown frame type (501 FRAME_ERROR). */
export class FrameError extends Error {
  override readonly name = 'FrameError';

  constructor(
    message: string,
    readonly replyCode: number = 501,
  ) {
    super(message);
  }
}

/**
 * A method frame with a class/method id pair this codec does not know.
 * `replyCode` is 540 NOT_IMPLEMENTED when the class itself is unknown and 503 COMMAND_INVALID when
 * the class is known but the method is not; the connection layer may choose differently.
 */
export class UnknownMethodError extends Error {
  override readonly name = 'UnknownMethodError';
  readonly replyCode: number;

  constructor(
    readonly classId: number,
    readonly methodId: number,
    readonly classKnown: boolean,
  ) {
    super(
      classKnown
        ? `unknown method ${methodId} in class ${classId}`
        : `unknown class ${classId} (method ${methodId})`,
    );
    this.replyCode = classKnown ? 503 : 540;
  }
}
