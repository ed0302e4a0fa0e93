import { createHash, randomFillSync } from 'node:crypto';
import { FieldTable, Message, MessageProperties, NOT_BEFORE_HEADER, QueueEntry, RANK_HEADER } from '#core';
import { DEFAULT_PRIORITY } from '../jobs-options';
import { rfc3339Local, rfc3339LocalNow } from './rfc3339';

/** Headers a job carries when it travels through the core (and to AMQP consumers). */
export const JOB_HEADERS = {
  num: 'x-job-num',
  hash: 'x-job-hash',
  timestamp: 'x-job-timestamp',
  idempotencyKey: 'x-idempotency-key',
} as const;

/** A job as dispenserd lists it. */
export interface JobView {
  job_num: number;
  hash: string;
  timestamp: string;
  lane: string;
  priority: number;
  message: string;
}

export interface NewJob {
  lane: string;
  queueName: string;
  message: string;
  priority: number;
  jobNum: number;
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

/** Builds the core message of a scheduled job: persistent, ranked by its priority. */
export function jobMessage(job: NewJob): { message: Message; hash: string } {
  const hash = jobHash();
  const now = Date.now();
  const headers: FieldTable = {
    [RANK_HEADER]: job.priority,
    [JOB_HEADERS.num]: job.jobNum,
    [JOB_HEADERS.hash]: hash,
    [JOB_HEADERS.timestamp]: rfc3339LocalNow(now),
  };
  if (job.notBefore !== undefined) headers[NOT_BEFORE_HEADER] = job.notBefore;
  if (job.idempotencyKey !== undefined) headers[JOB_HEADERS.idempotencyKey] = job.idempotencyKey;
  const properties: MessageProperties = {
    contentType: 'text/plain',
    deliveryMode: 2,
    priority: amqpPriorityFor(job.priority),
    messageId: hash,
    timestamp: Math.floor(now / 1000),
    headers,
  };
  return { message: new Message('', job.queueName, properties, null, Buffer.from(job.message, 'utf8')), hash };
}

/**
 * How a queued message looks as a job. Messages published over AMQP have no job headers: they
 * list with job_num 0, a hash derived from their position, and their AMQP timestamp if any.
 */
export function jobView(entry: QueueEntry, lane: string): JobView {
  const message = entry.message;
  const headers = message.properties.headers;
  const num = headers?.[JOB_HEADERS.num];
  const hash = headers?.[JOB_HEADERS.hash];
  const timestamp = headers?.[JOB_HEADERS.timestamp];
  return {
    job_num: typeof num === 'number' ? num : typeof num === 'bigint' ? Number(num) : 0,
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

export function jobNumOfEntry(entry: QueueEntry): number {
  const num = entry.message.properties.headers?.[JOB_HEADERS.num];
  return typeof num === 'number' ? num : typeof num === 'bigint' ? Number(num) : 0;
}

export function idempotencyKeyOfEntry(entry: QueueEntry): string | undefined {
  const key = entry.message.properties.headers?.[JOB_HEADERS.idempotencyKey];
  return typeof key === 'string' ? key : undefined;
}
