/**
 * What went wrong, in the core's own terms. Each front door maps a kind to its protocol once
 * (AMQP reply codes in libs/amqp, HTTP statuses in the HTTP doors); the core knows no protocol.
 */
export type BrokerErrorKind =
  /** The named vhost, exchange, queue or binding does not exist. */
  | 'not-found'
  /** The operation is not permitted on this object (reserved names, internal exchanges). */
  | 'access-refused'
  /** The queue is exclusive to another owner (connection). */
  | 'resource-locked'
  /** The queue is held by an exclusive consumer, or an exclusive consumer cannot join. */
  | 'exclusive-use'
  /** The object exists with other properties, or a condition (if-empty, if-unused) failed. */
  | 'precondition-failed'
  /** The request itself is malformed (an unknown exchange type). */
  | 'invalid-request'
  /** A feature the broker does not offer. */
  | 'not-implemented'
  /** A limit of the broker was reached (memory, disk, counts). */
  | 'resource-limit'
  /** The durable store failed: nothing more can be promised durable. */
  | 'store-unavailable';

export class BrokerError extends Error {
  constructor(
    readonly kind: BrokerErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

export const notFound = (text: string): BrokerError => new BrokerError('not-found', text);
export const accessRefused = (text: string): BrokerError => new BrokerError('access-refused', text);
export const resourceLocked = (text: string): BrokerError => new BrokerError('resource-locked', text);
export const exclusiveUse = (text: string): BrokerError => new BrokerError('exclusive-use', text);
export const preconditionFailed = (text: string): BrokerError => new BrokerError('precondition-failed', text);
export const invalidRequest = (text: string): BrokerError => new BrokerError('invalid-request', text);
export const storeUnavailable = (text: string): BrokerError => new BrokerError('store-unavailable', text);
