import { createHash, randomFillSync } from 'node:crypto';
import { AnnotationValue, DoorAnnotations, Message, MessageProperties, QueueEntry } from '#core';
import { DEFAULT_PRIORITY } from '../jobs-options';
import { rfc3339Local, rfc3339LocalNow } from './rfc3339';

/**
 * The annotations the job door keeps on a job's message (its rank and not-before time are the
 * core's). Named as the headers AMQP consumers see them as; an AMQP publisher's headers of these
 * names mean the same (a message published to a lane with x-job-num lists with that number).
 */
export const JOB_ANNOTATIONS = {
  num: 'x-job-num',
  hash: 'x-job-hash',
  timestamp: 'x-job-timestamp',
  idempotencyKey: 'x-idempotency-key',
} as const;

/** What a job's message says about the job. */
export interface JobAnnotations {
  num: number;
  hash: string;
  /** When it was scheduled, as dispenserd writes it (RFC 3339, local time). */
  timestamp: string;
  idempotencyKey?: string;
}

function doorAnnotationsOf(job: JobAnnotations): DoorAnnotations {
  const annotations: Record<string, AnnotationValue> = {
    [JOB_ANNOTATIONS.num]: job.num,
    [JOB_ANNOTATIONS.hash]: job.hash,
    [JOB_ANNOTATIONS.timestamp]: job.timestamp,
  };
  if (job.idempotencyKey !== undefined) annotations[JOB_ANNOTATIONS.idempotencyKey] = job.idempotencyKey;
  return annotations;
}

/**
 * One field of a job's message: the door's annotation, or else the header of that name (an AMQP
 * publisher's, or a job stored before annotations kept its fields as headers).
 */
function fieldOf(message: Message, name: string): unknown {
  return message.doorAnnotation(name) ?? message.properties.headers?.[name];
}

const numberOf = (value: unknown): number | undefined =>
  typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : undefined;

/** A job as dispenserd lists it. */
export interface JobView {
  job_num: number;
  hash: string;
  timestamp: string;
  lane: string;
  priority: number;
  message: string;
}

/** What a schedule asks for that its message carries. */
export interface NewJob {
  message: string;
  priority: number;
  notBefore?: number;
  idempotencyKey?: string;
}

const HASH_BYTES = 20;
/** Random bytes drawn 204 hashes at a time: one system call per pool, not a digest per job. */
const hashPool = Buffer.alloc(HASH_BYTES * 204);
let hashPoolOffset = hashPool.length;

/**
 * 40 lowercase hex characters of fresh randomness per job: what dispenserd's SHA-1 of a random
 * number and the time looks like from outside, unique and unpredictable, at a fraction of the cost.
 */
export function jobHash(): string {
  if (hashPoolOffset === hashPool.length) {
    randomFillSync(hashPool);
    hashPoolOffset = 0;
  }
  const hash = hashPool.toString('hex', hashPoolOffset, hashPoolOffset + HASH_BYTES);
  hashPoolOffset += HASH_BYTES;
  return hash;
}

/**
 * AMQP priority (0..255, higher first) matching a rank: ranks 257..512 map to 255..0 exactly, as
 * the reverse of the lane rule rank = 512 − priority.
 */
export function amqpPriorityFor(rank: number): number {
  if (rank >= DEFAULT_PRIORITY) return 0;
  const p = DEFAULT_PRIORITY - rank;
  return p > 255 ? 255 : p;
}

/**
 * Builds the core message of a scheduled job for the queue of its lane: persistent, ranked by its
 * priority, annotated with what the job is and its number.
 */
export function jobMessage(job: NewJob, queueName: string, jobNum: number): { message: Message; hash: string } {
  const hash = jobHash();
  const now = Date.now();
  const properties: MessageProperties = {
    contentType: 'text/plain',
    deliveryMode: 2,
    priority: amqpPriorityFor(job.priority),
    messageId: hash,
    timestamp: Math.floor(now / 1000),
  };
  const door = doorAnnotationsOf({ num: jobNum, hash, timestamp: rfc3339LocalNow(now), idempotencyKey: job.idempotencyKey });
  const annotations = job.notBefore !== undefined ? { rank: job.priority, notBefore: job.notBefore, door } : { rank: job.priority, door };
  return { message: new Message('', queueName, properties, null, Buffer.from(job.message, 'utf8'), annotations), hash };
}

/**
 * How a queued message looks as a job. Messages published over AMQP have no job headers: they
 * list with job_num 0, a hash derived from their position, and their AMQP timestamp if any.
 */
export function jobView(entry: QueueEntry, lane: string): JobView {
  const message = entry.message;
  const hash = fieldOf(message, JOB_ANNOTATIONS.hash);
  const timestamp = fieldOf(message, JOB_ANNOTATIONS.timestamp);
  return {
    job_num: jobNumOf(message),
    hash: typeof hash === 'string' ? hash : createHash('sha1').update(`entry:${entry.seq}`).digest('hex'),
    timestamp:
      typeof timestamp === 'string'
        ? timestamp
        : rfc3339Local(message.properties.timestamp ? new Date(message.properties.timestamp * 1000) : new Date()),
    lane,
    priority: entry.rank,
    message: message.body.toString('utf8'),
  };
}

/** A job's number; 0 for a message published over AMQP without one. */
export function jobNumOf(message: Message): number {
  return numberOf(fieldOf(message, JOB_ANNOTATIONS.num)) ?? 0;
}

export function idempotencyKeyOf(message: Message): string | undefined {
  const key = fieldOf(message, JOB_ANNOTATIONS.idempotencyKey);
  return typeof key === 'string' ? key : undefined;
}
