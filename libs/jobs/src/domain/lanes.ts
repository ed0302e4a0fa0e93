import type { Broker, EntryKey, FoundEntry, Queue, VirtualHost } from '#core';
import { DEFAULT_LANE } from '../jobs-options';
import { JOB_ANNOTATIONS } from './job-message';

/** The keys a lane finds its jobs by: the job number, and the idempotency key of a schedule. */
export const LANE_KEYS = [JOB_ANNOTATIONS.num, JOB_ANNOTATIONS.idempotencyKey] as const;
export type LaneKey = (typeof LANE_KEYS)[number];

/**
 * The job of a lane's queue whose `annotation` is `key` (see Queue.find). A lane in this process
 * is indexed at its first lookup, from what it holds then (a job out under a lease joins when it
 * comes back; the door finds leased jobs by their leases): a lane whose jobs are never looked up
 * keeps no map entry per job, a tenth of a schedule's CPU while a backlog grows.
 */
export function findInLane(queue: Queue, annotation: LaneKey, key: EntryKey): Promise<FoundEntry | undefined> {
  // a failure to index is the lookup's to report (find waits for the index), not an unhandled rejection
  queue.indexBy(annotation).catch(() => {});
  return queue.find(annotation, key);
}

/**
 * Lanes are durable, rank-ordered queues of the core: lane `x` is queue `${prefix}x` in the
 * configured virtual host. So a job scheduled over HTTP can be consumed over AMQP and back.
 */
export class Lanes {
  /** Lanes declared so far; a queue deleted meanwhile (over AMQP) is declared again. */
  private readonly declared = new Map<string, Queue>();

  constructor(
    private readonly broker: Broker,
    private readonly vhostName: string,
    private readonly prefix: string,
  ) {}

  get vhost(): VirtualHost {
    return this.broker.addVhost(this.vhostName);
  }

  queueName(lane: string): string {
    return this.prefix + lane;
  }

  /**
   * The lane's queue, declared (durable, rank-ordered) on first use as dispenserd creates lanes.
   * A durable rank-ordered queue declared beforehand (over AMQP or the management API) is used as
   * it is, so its other arguments (x-message-ttl, x-dead-letter-exchange, x-max-length,
   * x-delivery-limit…) apply to the lane. Otherwise it is the same checked declare AMQP uses: a
   * queue of that name declared otherwise (exclusive, or not rank-ordered) is refused with the
   * core's error.
   */
  queue(lane: string): Queue {
    const known = this.declared.get(lane);
    if (known !== undefined && !known.deleted) return known;
    const existing = this.vhost.findQueue(this.queueName(lane));
    if (existing !== undefined && existing.durable && existing.options.exclusiveOwner === null && existing.features.order === 'rank') {
      this.declared.set(lane, keyed(existing));
      return existing;
    }
    const queue = this.vhost.declareQueue({ name: this.queueName(lane), durable: true, arguments: { 'x-queue-order': 'rank' } });
    this.declared.set(lane, keyed(queue));
    return queue;
  }

  /** The queues of the lanes that exist, keyed, in no particular order (cheaper than `list` for lookups). */
  queues(): Queue[] {
    const queues = this.vhost.listQueues(this.prefix);
    for (const queue of queues) keyed(queue);
    return queues;
  }

  /** Lanes that exist (queues with the prefix), sorted as Go sorts map keys; `main` is always there. */
  list(): { lane: string; queue: Queue | undefined }[] {
    const out = new Map<string, Queue | undefined>([[DEFAULT_LANE, undefined]]);
    // a lane's queue may have been declared another way (over AMQP): it is keyed from its first listing
    for (const queue of this.vhost.listQueues(this.prefix)) out.set(queue.name.slice(this.prefix.length), keyed(queue));
    return [...out.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([lane, queue]) => ({ lane, queue }));
  }

  laneOf(queue: Queue): string | undefined {
    return queue.name.startsWith(this.prefix) ? queue.name.slice(this.prefix.length) : undefined;
  }
}

/** Queues indexed by the lane's keys already. */
const keyedQueues = new WeakSet<Queue>();

/**
 * The queue, its keys declared when it is shared across nodes (once per queue): there the keys
 * are columns each row is written with, so they are declared before the lane's first job (and
 * cost nothing per job); a queue in this process is indexed at its first lookup (findInLane).
 * Lookups wait for the index themselves; a failure to declare it is theirs to report.
 */
function keyed(queue: Queue): Queue {
  if (queue.claim === undefined || keyedQueues.has(queue)) return queue;
  keyedQueues.add(queue);
  for (const key of LANE_KEYS) queue.indexBy(key).catch(() => {});
  return queue;
}
