import type { FieldTable } from '../encoding/field-table';
import type { Message } from '../message/message';
import { preconditionFailed } from '../errors';
import type { QueueType } from './queue-type';

export interface QueueOptions {
  durable: boolean;
  /** Connection that owns an exclusive queue, or null. */
  exclusiveOwner: string | null;
  autoDelete: boolean;
  arguments: FieldTable;
}

/**
 * How a queue orders ready messages. All three map onto one rank key (lower first, then arrival):
 * - `fifo`: rank 0 for everything (the fast path);
 * - `priority`: AMQP priorities 0..x-max-priority, higher first (rank = max - priority);
 * - `rank`: an explicit rank per message, lower first (the job API's priorities, 0..2^32-1).
 */
export type QueueOrder = 'fifo' | 'priority' | 'rank';

export interface QueueFeatures {
  order: QueueOrder;
  /** x-max-priority for `priority` queues; 0 otherwise. */
  maxPriority: number;
  /** x-dead-letter-exchange: where rejected messages go; null when none. */
  deadLetterExchange: string | null;
  /** x-dead-letter-routing-key: replaces the message's routing key when dead-lettered. */
  deadLetterRoutingKey: string | null;
  /** x-single-active-consumer: one consumer at a time gets the messages. */
  singleActiveConsumer: boolean;
  /** x-queue-type: the kind of queue (queue-types.ts). */
  type: QueueType;
  /** x-delivery-limit: failed deliveries a message may have before it is dead-lettered; null = no limit. */
  deliveryLimit: number | null;
  /** x-expires: the queue is deleted after this many ms unused; null = never. */
  expires: number | null;
  /** x-message-ttl: messages expire this many ms after they were enqueued; null = never. */
  messageTtl: number | null;
  /** x-max-length: ready messages at most; null = no limit. */
  maxLength: number | null;
  /** x-max-length-bytes: ready message body bytes at most; null = no limit. */
  maxLengthBytes: number | null;
  /** x-overflow: what happens at a length limit (RabbitMQ's default: drop-head). */
  overflow: Overflow;
  /** x-consumer-timeout: this queue's consumer timeout (ms), instead of the broker's; null = the broker's. */
  consumerTimeout: number | null;
}

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

function nonNegativeIntegerArgument(name: string, args: FieldTable, key: string): number | null {
  const raw = args[key];
  if (raw === undefined || raw === null) return null;
  const value = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw preconditionFailed(`invalid arg '${key}' for queue '${name}': expected a non-negative integer, got ${typeof raw === 'number' ? raw : typeof raw}`);
  }
  return value;
}

function overflowOf(name: string, args: FieldTable): Overflow {
  const raw = args['x-overflow'];
  if (raw === undefined || raw === null) return 'drop-head';
  if (raw === 'drop-head' || raw === 'reject-publish' || raw === 'reject-publish-dlx') return raw;
  throw preconditionFailed(`invalid arg 'x-overflow' for queue '${name}': expected 'drop-head', 'reject-publish' or 'reject-publish-dlx', got ${typeof raw === 'string' ? `'${raw}'` : typeof raw}`);
}

/** x-message-ttl: a non-negative integer of milliseconds. */
function messageTtlOf(name: string, args: FieldTable): number | null {
  const raw = args['x-message-ttl'];
  if (raw === undefined || raw === null) return null;
  const value = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw preconditionFailed(`invalid arg 'x-message-ttl' for queue '${name}': expected a non-negative integer of milliseconds, got ${typeof raw === 'number' ? raw : typeof raw}`);
  }
  return value;
}

/**
 * The per-message TTL of the `expiration` property (a string of milliseconds), or null. Throws
 * 406 for a value that is not a non-negative integer, as RabbitMQ refuses such a publish.
 */
export function expirationOf(expiration: string | undefined): number | null {
  if (expiration === undefined) return null;
  if (!/^[0-9]{1,15}$/.test(expiration)) {
    throw preconditionFailed(`invalid expiration '${expiration}': expected a non-negative integer of milliseconds`);
  }
  return Number(expiration);
}

/** The TTL a message gets in a queue: the shorter of the queue's and its own; null when none. */
export function messageTtlIn(features: QueueFeatures, expiration: string | undefined): number | null {
  const queueTtl = features.messageTtl;
  let own: number | null = null;
  try {
    own = expirationOf(expiration);
  } catch {
    // refused at publish over AMQP; the other doors never set it
  }
  if (own === null) return queueTtl;
  return queueTtl === null ? own : Math.min(own, queueTtl);
}

/** x-expires: a positive integer of milliseconds, as RabbitMQ requires. */
function expiresOf(name: string, args: FieldTable): number | null {
  const raw = args['x-expires'];
  if (raw === undefined || raw === null) return null;
  const value = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw preconditionFailed(`invalid arg 'x-expires' for queue '${name}': expected a positive integer of milliseconds, got ${typeof raw === 'number' ? raw : typeof raw}`);
  }
  // Node's timers cap at 2^31-1 ms; longer expiries wait in steps (see Queue.armExpiry)
  return value;
}

/** x-delivery-limit: a non-negative integer; a negative one means no limit, as in RabbitMQ 4. */
function deliveryLimitOf(name: string, args: FieldTable, type: QueueType): number | null {
  const raw = args['x-delivery-limit'];
  if (raw === undefined || raw === null) return type.defaultDeliveryLimit;
  const value = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw preconditionFailed(`invalid arg 'x-delivery-limit' for queue '${name}': expected an integer, got ${typeof raw}`);
  }
  return value < 0 ? null : value;
}

/** A string-valued x-argument, or null when absent; 406 naming the argument otherwise. */
function stringArgument(name: string, args: FieldTable, key: string): string | null {
  const raw = args[key];
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') throw preconditionFailed(`invalid arg '${key}' for queue '${name}': expected a string, got ${typeof raw}`);
  return raw;
}

const MAX_PRIORITY_LIMIT = 255;

/** Message header carrying the rank in `rank`-ordered queues (an AMQP publisher's; the broker's own is the rank annotation). */
export const RANK_HEADER = 'x-rank';
/** Rank of a message without the header in a `rank` queue (dispenserd's default priority). */
export const DEFAULT_RANK = 512;
/**
 * Header holding a not-before time (epoch milliseconds): the message waits until then. An AMQP
 * publisher's; the broker's own is the notBefore annotation.
 */
export const NOT_BEFORE_HEADER = 'x-not-before';
export const MAX_RANK = 0xffffffff;

/** Finds the queue type the arguments ask for (queue-types.ts), or throws the declarer's 406. */
export type QueueTypeLookup = (queue: string, args: FieldTable) => QueueType;

/**
 * Reads queue features from x-* declare arguments, checking each as RabbitMQ does (406 with its
 * texts). `x-queue-order: "rank"` selects explicit ranks; `x-max-priority` selects AMQP priorities.
 */
export function readQueueFeatures(name: string, args: FieldTable, typeOf: QueueTypeLookup): QueueFeatures {
  const deadLetterExchange = stringArgument(name, args, 'x-dead-letter-exchange');
  const deadLetterRoutingKey = stringArgument(name, args, 'x-dead-letter-routing-key');
  if (deadLetterRoutingKey !== null && deadLetterExchange === null) {
    throw preconditionFailed(`invalid arg 'x-dead-letter-routing-key' for queue '${name}': a dead-letter routing key needs x-dead-letter-exchange`);
  }
  const sac = args['x-single-active-consumer'];
  if (sac !== undefined && sac !== null && typeof sac !== 'boolean') {
    throw preconditionFailed(`invalid arg 'x-single-active-consumer' for queue '${name}': expected a boolean, got ${typeof sac}`);
  }
  const type = typeOf(name, args);
  const deadLetter = {
    deadLetterExchange,
    deadLetterRoutingKey,
    singleActiveConsumer: sac === true,
    type,
    deliveryLimit: deliveryLimitOf(name, args, type),
    expires: expiresOf(name, args),
    messageTtl: messageTtlOf(name, args),
    maxLength: nonNegativeIntegerArgument(name, args, 'x-max-length'),
    maxLengthBytes: nonNegativeIntegerArgument(name, args, 'x-max-length-bytes'),
    overflow: overflowOf(name, args),
    consumerTimeout: nonNegativeIntegerArgument(name, args, 'x-consumer-timeout'),
  };
  let maxPriority = 0;
  const raw = args['x-max-priority'];
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) {
      throw preconditionFailed(`invalid arg 'x-max-priority' for queue '${name}': expected a non-negative integer`);
    }
    if (raw > MAX_PRIORITY_LIMIT) {
      throw preconditionFailed(
        `invalid arg 'x-max-priority' for queue '${name}': ${raw} is greater than the maximum of ${MAX_PRIORITY_LIMIT}`,
      );
    }
    maxPriority = raw;
  }
  const order = args['x-queue-order'];
  if (order !== undefined && order !== null && order !== 'fifo' && order !== 'rank') {
    throw preconditionFailed(`invalid arg 'x-queue-order' for queue '${name}': expected "fifo" or "rank"`);
  }
  if (order === 'rank') {
    if (maxPriority > 0) {
      throw preconditionFailed(`queue '${name}': x-queue-order "rank" and x-max-priority cannot be combined`);
    }
    return { order: 'rank', maxPriority: 0, ...deadLetter };
  }
  return { order: maxPriority > 0 ? 'priority' : 'fifo', maxPriority, ...deadLetter };
}

/** Rank of a message in a `rank` queue: its rank annotation, else the x-rank header, else 512 minus its AMQP priority. */
export function explicitRank(message: Message): number {
  const rank = message.annotations?.rank;
  if (rank !== undefined) return rank;
  const { headers, priority } = message.properties;
  const value = headers?.[RANK_HEADER];
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_RANK) return value;
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(MAX_RANK)) return Number(value);
  const p = priority ?? 0;
  return DEFAULT_RANK - (p > 255 ? 255 : p);
}

/** A message's rank in a queue of these features: lower ranks are served first. */
export function rankIn(features: QueueFeatures, message: Message): number {
  switch (features.order) {
    case 'fifo':
      return 0;
    case 'priority': {
      const max = features.maxPriority;
      const priority = message.properties.priority ?? 0;
      return max - (priority > max ? max : priority);
    }
    case 'rank':
      return explicitRank(message);
  }
}

/** The latest time a Date holds (epoch ms): a later not-before, or Infinity, waits until then. */
const LATEST_TIME_MS = 8.64e15;

/**
 * The not-before time of a message (epoch ms), or 0: its notBefore annotation, else its
 * x-not-before header (an AMQP publisher's, or a row stored before annotations). An AMQP publisher
 * may write any number: NaN counts as none (it would break the delayed set's order), and times
 * past what a Date holds as that latest time (views of the due time could not show them).
 */
export function notBeforeOf(message: Message): number {
  const annotated = message.annotations?.notBefore;
  if (annotated !== undefined) return clampedTime(annotated);
  const headers = message.properties.headers;
  if (headers === undefined) return 0;
  const value = headers[NOT_BEFORE_HEADER];
  return clampedTime(typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : value instanceof Date ? value.getTime() : 0);
}

function clampedTime(time: number): number {
  if (time <= LATEST_TIME_MS) return time;
  return Number.isNaN(time) ? 0 : LATEST_TIME_MS;
}
