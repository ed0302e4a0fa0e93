import { Inject, Injectable } from '@nestjs/common';
import { Access, Broker, changedAnnotations, copyWith, EntryState, Message, PersistentCounter, Queue, QueueEntry, Refusal } from '#core';
import { JOBS_OPTIONS, JobsOptions } from '../jobs-options';
import { BlockedReceiver } from './blocked-receiver';
import { inBatch, JobRequestError, notFound } from './job-errors';
import { idempotencyKeyOf, JOB_ANNOTATIONS, jobMessage, jobNumOf, JobView, jobView } from './job-message';
import { JobLeases, SharedJobLeases } from './job-leases';
import { LaneCounters } from './lane-counters';
import { findInLane, Lanes } from './lanes';
import { Leases } from './leases';
import { Pacer } from './pacer';

export interface ScheduleRequest {
  lane: string;
  message: string;
  priority: number;
  notBefore?: number;
  idempotencyKey?: string;
}

export interface ScheduledJob {
  jobNum: number;
  hash: string;
  lane: string;
  /** An earlier schedule with the same idempotency key. */
  duplicate: boolean;
}

export type JobState = 'ready' | 'delayed' | 'leased';

export interface FoundJob {
  entry: QueueEntry;
  lane: string;
  state: JobState;
  runAt?: number;
  leaseId?: string;
}

/** A job enqueued (or found by its key) and whether the store has yet to commit it. */
interface Enqueued {
  job: ScheduledJob;
  uncommitted: boolean;
}

/** How long idempotency keys of scheduled jobs are remembered (in memory; queued ones are found in their lane). */
const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
/** Keyed records of finished jobs' idempotency keys, when lanes are shared across nodes (what one node finished, the others find). */
const FINISHED_KEYS = 'jobs.idempotency';
const THROTTLE_GAP_MS = 25;

/** The job API's domain: lanes over core queues, blocking receivers, leases, idempotency. */
@Injectable()
export class JobService {
  readonly lanes: Lanes;
  readonly leases: JobLeases;
  /** Scheduled and received per lane, for /metrics. */
  readonly counts = new LaneCounters();
  /** Lanes are queues every node of a cluster shares: leases and idempotency keys live with their rows. */
  private readonly shared: boolean;
  private readonly waiters = new Map<string, Set<BlockedReceiver>>();
  private readonly jobNum: PersistentCounter;
  private readonly idempotency = new Map<string, { jobNum: number; hash: string; lane: string; at: number }>();
  readonly schedulePacer: Pacer | null;
  readonly receivePacer: Pacer | null;

  constructor(
    @Inject(Broker) private readonly broker: Broker,
    @Inject(JOBS_OPTIONS) readonly options: JobsOptions,
  ) {
    this.lanes = new Lanes(broker, options.vhost, options.queuePrefix);
    const book = broker.queueTypes.declaredType({ 'x-queue-order': 'rank' }).leases;
    this.shared = book !== undefined;
    this.leases =
      book === undefined
        ? new Leases((entry) => this.finished(entry))
        : new SharedJobLeases(
            book,
            (entry) => this.laneOfEntry(entry),
            (entry) => this.finished(entry),
            () => this.lanes.queues().reduce((out, queue) => out + queue.unackedMessageCount, 0),
          );    this.jobNum = broker.counter('jobs.job_num');
    this.schedulePacer = options.throttleSchedule ? new Pacer(THROTTLE_GAP_MS) : null;
    this.receivePacer = options.throttleReceive ? new Pacer(THROTTLE_GAP_MS) : null;
    // the shared lanes that exist declare their keys now, before the first lookup needs them
    this.lanes.list();
  }

  // ---- access ----------------------------------------------------------------------------------

  /** Whether a broker user may use the jobs vhost at all. */
  mayUse(user: string): boolean {
    return this.broker.users.mayUseVhost(user, this.options.vhost);
  }

  /** Whether a broker user may read from or write to a lane (its queue, under the user's permissions). */
  allows(user: string, access: Access, lane: string): boolean {
    return this.broker.users.allows(user, this.options.vhost, access, this.lanes.queueName(lane));
  }

  // ---- scheduling ------------------------------------------------------------------------------

  /** Enqueues a job; resolves once it is committed to the store (the `ok` promise). */
  async schedule(request: ScheduleRequest): Promise<ScheduledJob> {
    this.refuseUnderAlarm(request.lane);
    const enqueued = this.enqueue(request);
    const { job, uncommitted } = enqueued instanceof Promise ? await enqueued : enqueued;
    if (uncommitted) await this.committed();
    this.countScheduled([job]);
    return job;
  }

  /**
   * Enqueues jobs in their order and resolves once every one is committed (one commit for them
   * all). A job the broker refuses stops the batch: the jobs before it are committed, and the error
   * names the job and says how many were scheduled (`scheduled`), so the caller knows what to send again.
   */
  async scheduleMany(requests: readonly ScheduleRequest[]): Promise<ScheduledJob[]> {
    if (requests.length > 0) this.refuseUnderAlarm(requests[0]!.lane);
    const jobs: ScheduledJob[] = [];
    let uncommitted = false;
    try {
      for (const request of requests) {
        // a keyed job on a shared lane is added by a statement of its own: the jobs before it are
        // committed first, so the batch keeps its order
        if (uncommitted && this.addedAlone(request)) {
          await this.committed();
          uncommitted = false;
        }
        const pending = this.enqueue(request);
        const enqueued = pending instanceof Promise ? await pending : pending;
        jobs.push(enqueued.job);
        uncommitted ||= enqueued.uncommitted;
      }
    } catch (error) {
      if (!(error instanceof JobRequestError)) throw error;
      if (uncommitted) await this.committed();
      this.countScheduled(jobs);
      throw inBatch(error, jobs.length, { scheduled: jobs.length });
    }
    if (uncommitted) await this.committed();
    this.countScheduled(jobs);
    return jobs;
  }

  /** Refused before any work (a duplicate too), as before the intake decided it. */
  private refuseUnderAlarm(lane: string): void {
    const alarm = this.lanes.vhost.alarmRefusal();
    if (alarm !== null) throw refusedJob(alarm.refusal, lane);
  }

  private countScheduled(jobs: readonly ScheduledJob[]): void {
    for (const job of jobs) if (!job.duplicate) this.counts.scheduled(job.lane);
  }

  /** Whether a job is added to its lane by a statement of its own (with its idempotency key, atomically in the database). */
  private addedAlone(request: ScheduleRequest): boolean {
    return request.idempotencyKey !== undefined && this.lanes.queue(request.lane).enqueueUnique !== undefined;
  }

  /**
   * Enqueues one job, or finds the one scheduled with its idempotency key; `uncommitted` when the
   * store has yet to commit it (the caller waits for that before answering). At once for a job
   * without a key whose number is at hand (the common case: no promise of its own).
   */
  private enqueue(request: ScheduleRequest): Enqueued | Promise<Enqueued> {
    if (request.idempotencyKey !== undefined) return this.enqueueKeyed(request, request.idempotencyKey);
    const allocated = this.jobNum.allocate();
    return typeof allocated === 'number' ? this.publish(request, allocated) : allocated.then((jobNum) => this.publish(request, jobNum));
  }

  private async enqueueKeyed(request: ScheduleRequest, key: string): Promise<Enqueued> {
    const seen = await this.scheduledWith(key);
    // the first schedule with the key may not be committed yet
    if (seen !== undefined) return { job: { jobNum: seen.jobNum, hash: seen.hash, lane: seen.lane, duplicate: true }, uncommitted: true };
    const jobNum = await this.jobNum.allocate();
    const queue = this.lanes.queue(request.lane);
    if (queue.enqueueUnique !== undefined) {
      const { message, hash } = jobMessage(request, queue.name, jobNum);
      return { job: await this.scheduleUnique(queue, message, request, jobNum, hash), uncommitted: false };
    }
    const enqueued = this.publish(request, jobNum);
    this.idempotency.set(key, { jobNum, hash: enqueued.job.hash, lane: request.lane, at: Date.now() });
    return enqueued;
  }

  /** Publishes a job into its lane, not committed yet; throws when the lane refuses it (no ok for a job not kept). */
  private publish(request: ScheduleRequest, jobNum: number): Enqueued {
    const queue = this.lanes.queue(request.lane);
    const { message, hash } = jobMessage(request, queue.name, jobNum);
    const outcome = this.lanes.vhost.publish('', message, 'refuse');
    if (outcome.kind === 'refused') throw refusedJob(outcome.refusal, request.lane);
    return { job: { jobNum, hash, lane: request.lane, duplicate: false }, uncommitted: true };
  }

  /**
   * A job with an idempotency key on a lane shared across nodes: added unless a job of the lane
   * holds the key already, atomically in the database, so two nodes scheduling the same key at
   * once make one job (the other answers with it as a duplicate).
   */
  private async scheduleUnique(queue: Queue, message: Message, request: ScheduleRequest, jobNum: number, hash: string): Promise<ScheduledJob> {
    const outcome = await queue.enqueueUnique!(message, request.idempotencyKey!, IDEMPOTENCY_WINDOW_MS);
    if (outcome === null) {
      // not kept: refused, or the key was taken by a job finished meanwhile (its record tells)
      const seen = await this.scheduledWith(request.idempotencyKey!);
      if (seen === undefined) throw new JobRequestError(503, 1, `lane '${request.lane}' refuses new jobs`);
      return { jobNum: seen.jobNum, hash: seen.hash, lane: seen.lane, duplicate: true };
    }
    if (!outcome.added) {
      const lane = this.laneOfEntry(outcome.found.entry);
      const view = jobView(outcome.found.entry, lane);
      return { jobNum: view.job_num, hash: view.hash, lane, duplicate: true };
    }
    this.idempotency.set(request.idempotencyKey!, { jobNum, hash, lane: request.lane, at: Date.now() });
    return { jobNum, hash, lane: request.lane, duplicate: false };
  }

  /** Puts a copy of a job back into its lane to run at `notBefore` (a delayed release). */
  async scheduleAgain(entry: QueueEntry, notBefore: number): Promise<void> {
    const original = entry.message;
    const annotations = changedAnnotations(original.annotations, { notBefore });
    const copy = new Message(original.exchange, entry.queue.name, copyWith(original.properties, 'deliveryMode', 2), null, original.body, annotations);
    // a full lane refuses the copy: the caller keeps its lease (acking it would lose the job)
    const outcome = this.lanes.vhost.publish('', copy);
    if (outcome.kind === 'refused') throw refusedJob(outcome.refusal, this.laneOfEntry(entry));
    await this.committed();
  }

  /** Everything accepted so far is durable (rejects with `store-unavailable` when it cannot be). */
  private committed(): Promise<void> {
    return this.broker.whenDurable();
  }

  /**
   * The job scheduled with this idempotency key within the window: remembered in memory since it
   * was scheduled, handed out or finished, or still queued in a lane (after a restart), found by its key.
   */
  private async scheduledWith(key: string): Promise<{ jobNum: number; hash: string; lane: string } | undefined> {
    const seen = this.idempotency.get(key);
    if (seen !== undefined) {
      if (Date.now() - seen.at < IDEMPOTENCY_WINDOW_MS) return seen;
      this.idempotency.delete(key);
    }
    for (const queue of this.lanes.queues()) {
      const found = await findInLane(queue, JOB_ANNOTATIONS.idempotencyKey, key);
      if (!found) continue;
      const lane = this.laneOfEntry(found.entry);
      const view = jobView(found.entry, lane);
      const remembered = { jobNum: view.job_num, hash: view.hash, lane, at: Date.now() };
      this.idempotency.set(key, remembered);
      return remembered;
    }
    if (!this.shared) return undefined;
    // finished on another node
    const record = await this.broker.readRecord(FINISHED_KEYS, key);
    if (record === undefined) return undefined;
    const remembered = { ...(JSON.parse(record.toString('utf8')) as { jobNum: number; hash: string; lane: string }), at: Date.now() };
    this.idempotency.set(key, remembered);
    return remembered;
  }

  /**
   * A job is handed out: its idempotency key is remembered from now (a lane is indexed at its first
   * lookup, from what it holds then: a job out at that moment is not in it).
   */
  handingOut(entry: QueueEntry): void {
    const key = idempotencyKeyOf(entry.message);
    if (key !== undefined && !this.idempotency.has(key)) this.remember(key, entry);
  }

  /** Remembers the job holding an idempotency key, from now for the window. */
  private remember(key: string, entry: QueueEntry): { jobNum: number; hash: string; lane: string; at: number } {
    const lane = this.laneOfEntry(entry);
    const remembered = { jobNum: jobNumOf(entry.message), hash: jobView(entry, lane).hash, lane, at: Date.now() };
    this.idempotency.set(key, remembered);
    return remembered;
  }

  /**
   * A job left its lane for good through this door: its idempotency key is remembered for the
   * window from now (on a cluster also as a record every node reads: resolves once it is committed).
   */
  private finished(entry: QueueEntry): Promise<void> | undefined {
    const key = idempotencyKeyOf(entry.message);
    if (key === undefined || (!this.shared && this.idempotency.has(key))) return undefined;
    const remembered = this.remember(key, entry);
    if (!this.shared) return undefined;
    const { at: _at, ...kept } = remembered;
    return this.broker.whenDurable(this.broker.putRecord(FINISHED_KEYS, key, Buffer.from(JSON.stringify(kept)), remembered.at + IDEMPOTENCY_WINDOW_MS));
  }

  // ---- receiving -------------------------------------------------------------------------------

  /**
   * Up to `max` jobs of a lane that are ready now, unacked (none when the lane is empty): at once
   * from a lane in memory, in one claim from a lane shared across nodes.
   */
  takeUpTo(lane: string, max: number): QueueEntry[] | Promise<QueueEntry[]> {
    const queue = this.lanes.queue(lane);
    if (queue.claim !== undefined) return queue.claim(false, max);
    const taken: QueueEntry[] = [];
    while (taken.length < max) {
      const entry = queue.fetch(false);
      if (entry === undefined) break;
      taken.push(entry);
    }
    return taken;
  }

  /** Waits for the next job of a lane; counts as an idle worker meanwhile. */
  wait(lane: string): BlockedReceiver {
    const queue = this.lanes.queue(lane);
    const receiver = new BlockedReceiver(queue);
    // e.g. an AMQP client holds the lane's queue with an exclusive consumer (409)
    queue.checkConsumer(receiver);
    let set = this.waiters.get(lane);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(lane, set);
    }
    set.add(receiver);
    void receiver.result.then(() => set.delete(receiver));
    queue.addConsumer(receiver);
    return receiver;
  }

  /** The response carrying the job was written: it is done. */
  complete(entry: QueueEntry): void {
    entry.queue.ack(entry);
    // nobody waits on the record here (the job was answered): a failed commit is the store's to report
    this.finished(entry)?.catch(() => {});
  }

  /** The response could not be written: the job goes back to the front of its lane. */
  abandon(entry: QueueEntry): void {
    entry.queue.reject(entry, true);
  }

  laneOfEntry(entry: QueueEntry): string {
    return this.lanes.laneOf(entry.queue) ?? entry.queue.name;
  }

  // ---- views -----------------------------------------------------------------------------------

  status(): { queued: Record<string, number>; idle: Record<string, number> } {
    const queued: Record<string, number> = {};
    const idle: Record<string, number> = {};
    for (const { lane, queue } of this.lanes.list()) {
      queued[lane] = queue ? queue.messageCount + queue.delayedCount : 0;
      let waiting = 0;
      for (const receiver of this.waiters.get(lane) ?? []) if (receiver.waiting) waiting++;
      idle[lane] = waiting;
    }
    return { queued, idle };
  }

  /**
   * Every lane's queued jobs in dispatch order (delayed ones last, by due time); only the lanes
   * `mayRead` allows when given.
   */
  async listJobs(mayRead?: (lane: string) => boolean): Promise<Record<string, JobView[]>> {
    const out: Record<string, JobView[]> = {};
    for (const { lane, queue } of this.lanes.list()) {
      if (mayRead !== undefined && !mayRead(lane)) continue;
      const jobs: JobView[] = [];
      out[lane] = jobs;
      if (queue) {
        await queue.list((entry) => {
          jobs.push(jobView(entry, lane));
          return true;
        });
      }
    }
    return out;
  }

  /**
   * One page of a lane's queued jobs in dispatch order (delayed ones last): the lane's walk stops
   * after the page, so a deep lane costs what the page before it costs, never the whole lane.
   * Undefined for a lane that does not exist.
   */
  async listLaneJobs(lane: string, offset: number, limit: number): Promise<{ jobs: JobView[]; total: number } | undefined> {
    const found = this.lanes.list().find((l) => l.lane === lane);
    if (found === undefined) return undefined;
    const { queue } = found;
    const jobs: JobView[] = [];
    if (queue === undefined) return { jobs, total: 0 };
    let seen = 0;
    await queue.list((entry) => {
      if (seen++ >= offset) jobs.push(jobView(entry, lane));
      return jobs.length < limit;
    });
    return { jobs, total: queue.messageCount + queue.delayedCount };
  }

  /** A job by its number: leased, or queued in a lane (found by its key, never by walking the lane). */
  async findJob(jobNum: number): Promise<FoundJob | undefined> {
    if (this.leases instanceof Leases) {
      for (const lease of this.leases.all()) {
        if (jobNumOf(lease.entry.message) === jobNum) return { entry: lease.entry, lane: lease.lane, state: 'leased', leaseId: lease.id };
      }
    }
    for (const { lane, queue } of this.lanes.list()) {
      const found = queue && (await findInLane(queue, JOB_ANNOTATIONS.num, jobNum));
      // a shared lane's job out under a lease (on whichever node)
      if (found && found.leaseId !== undefined) return { entry: found.entry, lane, state: 'leased', leaseId: found.leaseId };
      // one out with an AMQP consumer is not the job API's to show (nor was it listed)
      if (!found || found.entry.state !== EntryState.Ready) continue;
      return { entry: found.entry, lane, state: found.dueAt > 0 ? 'delayed' : 'ready', runAt: found.dueAt || undefined };
    }
    return undefined;
  }

  async deleteJob(jobNum: number): Promise<void> {
    const found = await this.findJob(jobNum);
    if (found === undefined) throw notFound(`job ${jobNum} not found`);
    if (found.state === 'leased') {
      await this.leases.ack(found.leaseId!);
      return;
    }
    if (!found.entry.queue.remove(found.entry)) throw notFound(`job ${jobNum} not found`);
    const recorded = this.finished(found.entry);
    await this.committed();
    await recorded;
  }

  /** Stops every blocked receiver (shutdown). */
  cancelWaiters(): void {
    for (const set of this.waiters.values()) for (const receiver of set) receiver.cancel();
  }
}

/** The one answer of this door to a refused job: 503, saying why. */
function refusedJob(refusal: Refusal, lane: string): JobRequestError {
  if (refusal.reason === 'resource-alarm') return new JobRequestError(503, 1, `not accepting jobs while a resource alarm is on (${refusal.alarm})`);
  // a lane declared with x-max-length and x-overflow reject-publish
  return new JobRequestError(503, 1, `lane '${lane}' is full and refuses new jobs (x-overflow ${refusal.overflow})`);
}
