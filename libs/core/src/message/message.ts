import type { MessageProperties } from '../encoding/properties';

/** Message.unwrittenInserts once an insert was written (or dropped unacked): no early settlement any more. */
const NEVER_UNWRITTEN = -1;

/**
 * One published message. It is shared by every queue it was routed to (see QueueEntry), so the
 * body exists once in memory and, when persisted to several queues, once on disk.
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
  ) {}

  /** The store queued an insert of this message. */
  insertQueued(): void {
    if (this.unwrittenInserts !== NEVER_UNWRITTEN) this.unwrittenInserts++;
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
}
