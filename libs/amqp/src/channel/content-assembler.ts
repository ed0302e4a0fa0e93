import { decodeProperties, Message, peekProperties } from '#core';
import { BASIC_CLASS_ID, ContentHeader, decodeContentHeader } from '../codec/content';
import { MethodId } from '../codec/methods.generated';
import { preconditionFailed, unexpectedFrame } from '../errors';

/** A basic.publish whose content frames are still arriving. */
interface PendingPublish {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  header: ContentHeader | null;
  /** The header's encoded properties, copied: the frame they came in is reused by the next read. */
  encodedProperties: Buffer | null;
  body: Buffer | null;
  received: number;
}

/** Receives each publish whose content is complete. */
export type PublishAssembled = (exchange: string, message: Message, mandatory: boolean) => void;

/**
 * Content assembly for one channel (spec 4.2.6): basic.publish, then a content header, then body
 * frames adding up to the header's size. Anything out of that order is UNEXPECTED_FRAME; bodies
 * larger than the configured maximum are refused at the header, before any body is kept.
 */
export class ContentAssembler {
  private pending: PendingPublish | null = null;
  /** The slice of the pending body handed to the frame parser for the next body frame. */
  private target: Buffer | null = null;

  constructor(
    private readonly channel: number,
    private readonly maxMessageBytes: number,
    private readonly assembled: PublishAssembled,
  ) {}

  /** A publish is waiting for its content: method frames are out of order now. */
  get busy(): boolean {
    return this.pending !== null;
  }

  begin(exchange: string, routingKey: string, mandatory: boolean): void {
    this.pending = { exchange, routingKey, mandatory, header: null, encodedProperties: null, body: null, received: 0 };
  }

  /** The content header; completes the publish when its body is empty. */
  onHeader(payload: Buffer): void {
    const pending = this.pending;
    if (pending === null || pending.header !== null) {
      throw unexpectedFrame(`content header frame on channel ${this.channel} without a basic.publish before it`);
    }
    const header = decodeContentHeader(payload);
    if (header.classId !== BASIC_CLASS_ID) {
      throw unexpectedFrame(`content header for class ${header.classId}, expected class ${BASIC_CLASS_ID}`);
    }
    peekProperties(header.propertiesRaw); // validates the property list before we keep it
    if (header.bodySize > this.maxMessageBytes) {
      this.pending = null;
      throw preconditionFailed(`message size ${header.bodySize} is larger than configured max size ${this.maxMessageBytes}`).withMethod(
        MethodId.BasicPublish,
      );
    }
    pending.header = header;
    pending.encodedProperties = Buffer.from(header.propertiesRaw);
    if (header.bodySize === 0) this.complete(pending, Buffer.alloc(0));
  }

  /**
   * Where the next body frame, of `size` bytes, may be parsed straight into: its place in the body
   * being assembled. Null when it would not fit (onBody then reports the error).
   */
  bodyTarget(size: number): Buffer | null {
    const pending = this.pending;
    this.target = null;
    if (pending === null || pending.header === null || size === 0) return null;
    const total = pending.header.bodySize;
    if (pending.received + size > total) return null;
    if (pending.received === 0 && size === total) this.target = Buffer.allocUnsafe(size);
    else {
      pending.body ??= Buffer.allocUnsafe(total);
      this.target = pending.body.subarray(pending.received, pending.received + size);
    }
    return this.target;
  }

  /** A body frame (`owned`: not a view of a socket chunk); completes the publish once the body is complete. */
  onBody(payload: Buffer, owned = false): void {
    const pending = this.pending;
    if (pending === null || pending.header === null) {
      throw unexpectedFrame(`content body frame on channel ${this.channel} without a content header before it`);
    }
    if (payload === this.target) {
      // parsed in place: nothing to copy
      this.target = null;
      pending.received += payload.length;
      if (pending.body === null) this.complete(pending, payload);
      else if (pending.received === pending.header.bodySize) this.complete(pending, pending.body);
      return;
    }
    const size = pending.header.bodySize;
    const received = pending.received + payload.length;
    if (received > size) {
      throw unexpectedFrame(`content body frames on channel ${this.channel} carry ${received} bytes, header said ${size}`);
    }
    // a single-frame body: kept as it is when the parser assembled it, else copied out of the socket chunk
    if (pending.received === 0 && received === size) {
      this.complete(pending, owned ? payload : Buffer.from(payload));
      return;
    }
    pending.body ??= Buffer.allocUnsafe(size);
    payload.copy(pending.body, pending.received);
    pending.received = received;
    if (received === size) this.complete(pending, pending.body);
  }

  /** Drops a partly received publish (channel closing). */
  reset(): void {
    this.pending = null;
    this.target = null;
  }

  private complete(pending: PendingPublish, body: Buffer): void {
    this.pending = null;
    const encoded = pending.encodedProperties!;
    const message = new Message(pending.exchange, pending.routingKey, decodeProperties(encoded), encoded, body);
    this.assembled(pending.exchange, message, pending.mandatory);
  }
}
