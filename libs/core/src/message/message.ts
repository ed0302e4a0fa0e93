import { ByteWriter } from '../encoding/byte-writer';
import { propertiesProblem } from '../encoding/encodable';
import { encodeProperties, MessageProperties } from '../encoding/properties';
import type { Annotations, AnnotationValue } from './annotations';

const propertiesWriter = new ByteWriter(256);

function shortStringProblem(what: string, text: string): string | null {
  if (text.length <= 85) return null; // 85 UTF-16 units are at most 255 bytes
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes <= 255 ? null : `${what} should be less than 255 bytes, actually was ${bytes}`;
}

/** Message.unwrittenInserts once an insert was written (or dropped unacked): no early settlement any more. */
const NEVER_UNWRITTEN = -1;

/**
 * One published message (RabbitMQ's mc): what its publisher sent (exchange, routing key,
 * properties, body) apart from what the broker annotates on it (annotations.ts). It is shared by
 * every queue it was routed to (see QueueEntry), so the body exists once in memory and, when
 * persisted to several queues, once on disk. A message is never changed: a dead-lettered copy, a
 * redelivery that counts its failures or a delayed hold is a new Message sharing the body (and,
 * when only annotations change, the properties).
 */

export class Message {
  /** Store id of the shared body row when persisted to more than one queue; 0 otherwise. */
  sharedBodyId = 0;
  /** Scratch counter the store uses while packing a batch. */
  batchRefs = 0;
  /**
   * Store inserts of this message queued and not yet handed to the writer, as long as none was
   * written and none dropped for a reason other than a consumer's ack; NEVER_UNWRITTEN after that.
   */
  private unwrittenInserts = 0;
  private consumedUnwritten: (() => void) | null = null;
  /** propertiesProblem found the properties encodable. */
  private propertiesEncodable = false;

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly properties: MessageProperties,
    /**
     * The property list exactly as a transport received it (AMQP wire format), kept so it can be
     * forwarded and stored without re-encoding. Null when the message was built from an object.
     */
    public encodedProperties: Buffer | null,
    public body: Buffer,
    /**
     * What the broker knows about the message (annotations.ts); null for what a publisher sent as
     * it is, so a plain AMQP message costs nothing and is forwarded with its encoded properties.
     */
    readonly annotations: Annotations | null = null,
  ) {}

  /**
   * This message with other annotations: the same properties and body. The copy's property list is
   * encoded again from the decoded properties, as the broker's copies always were (a received list
   * with invalid UTF-8 in a short string reaches consumers as received, its copies normalized).
   */
  annotated(annotations: Annotations | null): Message {
    return new Message(this.exchange, this.routingKey, this.properties, null, this.body, annotations);
  }

  /** The value of a door annotation, or undefined. */
  doorAnnotation(name: string): AnnotationValue | undefined {
    return this.annotations?.door?.[name];
  }

  /** The store queued an insert of this message. */
  insertQueued(): void {
    if (this.unwrittenInserts !== NEVER_UNWRITTEN) this.unwrittenInserts++;
  }

  /**
   * Exactly one store insert of this message is queued and none was written: the store may move it
   * on to a later batch (DeferredInserts), as no other row of the message can come to need its body.
   */
  hasOneUnwrittenInsert(): boolean {
    return this.unwrittenInserts === 1;
  }

  /** An insert went to the writer: whoever waits for this message waits for that commit. */
  insertWritten(): void {
    this.unwrittenInserts = NEVER_UNWRITTEN;
    this.consumedUnwritten = null;
  }

  /** A queued insert was cancelled before being written; `acked`: because a consumer acked it. */
  insertCancelled(acked: boolean): void {
    if (this.unwrittenInserts <= 0) return;
    if (!acked) {
      this.insertWritten();
      return;
    }
    if (--this.unwrittenInserts > 0) return;
    const callback = this.consumedUnwritten;
    this.insertWritten();
    callback?.();
  }

  /**
   * Calls `callback` (synchronously, from the ack) if consumers ack every stored copy of this
   * message before any is written: it then needs no commit. RabbitMQ confirms such a publish at
   * once, as its message store drops a write whose message is already gone. Never called when
   * that can no longer happen (nothing queued, or already written).
   */
  whenConsumedUnwritten(callback: () => void): void {
    if (this.unwrittenInserts > 0) this.consumedUnwritten = callback;
  }

  /**
   * Why the properties cannot be encoded, or null. Null at once for a message received encoded; a
   * success is remembered, so a door's check and the queue's do not walk the properties twice.
   */
  propertiesProblem(): string | null {
    if (this.encodedProperties !== null || this.propertiesEncodable) return null;
    const problem = propertiesProblem(this.properties);
    this.propertiesEncodable = problem === null;
    return problem;
  }

  /**
   * Why this message could not be written in AMQP frames (its properties, or an exchange name or
   * routing key over the 255 bytes of a short string in basic.deliver), or null. Null at once for
   * a message received over AMQP with nothing changed.
   */
  encodingProblem(): string | null {
    return this.propertiesProblem() ?? shortStringProblem('routing key', this.routingKey) ?? shortStringProblem('exchange', this.exchange);
  }

  /**
   * Makes sure `encodedProperties` holds the property list in AMQP wire format, encoding the
   * properties object once when the message was not received encoded (for a consumer that gets
   * it many times). Returns why they cannot be encoded (and leaves `encodedProperties` null), or null.
   */
  encodeProperties(): string | null {
    if (this.encodedProperties !== null) return null;
    propertiesWriter.reset();
    const problem = this.encodePropertiesInto(propertiesWriter);
    if (problem === null) this.encodedProperties = propertiesWriter.toBuffer();
    return problem;
  }

  /**
   * Appends the property list in AMQP wire format to `writer` (the received bytes, or the
   * properties encoded), for a caller that copies it on at once: the store packing a batch. Nothing
   * is kept on the message, as a queued message built from an object (every job, every delivery)
   * would otherwise hold a second buffer that every young-generation collection copies. Returns why
   * they cannot be encoded (the writer then holds nothing of them), or null.
   */
  encodePropertiesInto(writer: ByteWriter): string | null {
    if (this.encodedProperties !== null) {
      writer.bytes(this.encodedProperties);
      return null;
    }
    const problem = this.propertiesProblem();
    if (problem !== null) return problem;
    const start = writer.length;
    try {
      encodeProperties(writer, this.properties);
    } catch (error) {
      // propertiesProblem knows every rule of the encoder; this is the net under it
      writer.truncate(start);
      return `properties cannot be encoded: ${error instanceof Error ? error.message : String(error)}`;
    }
    return null;
  }
}
