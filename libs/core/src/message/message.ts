import type { MessageProperties } from '../encoding/properties';

/**
 * One published message. It is shared by every queue it was routed to (see QueueEntry), so the
 * body exists once in memory and, when persisted to several queues, once on disk.
 */
export class Message {
  /** Store id of the shared body row when persisted to more than one queue; 0 otherwise. */
  sharedBodyId = 0;
  /** Scratch counter the store uses while packing a batch. */
  batchRefs = 0;

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

  get persistent(): boolean {
    return this.properties.deliveryMode === 2;
  }

  get bodySize(): number {
    return this.body.length;
  }
}
