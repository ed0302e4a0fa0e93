import type { FastifyReply, FastifyRequest } from 'fastify';
import { merged } from '#core';
import type { Access, QueueEntry } from '#core';
import { BlockedReceiver } from '../domain/blocked-receiver';
import { badRequest, inBatch, JobRequestError, missingMessage, notFound } from '../domain/job-errors';
import { jobView } from '../domain/job-message';
import { JobService, ScheduledJob, ScheduleRequest } from '../domain/job-service';
import {
  booleanOf,
  countOf,
  jobListOf,
  jobNumOf,
  laneOf,
  messageOf,
  millisecondsOf,
  priorityOf,
  RequestFields,
  runAtOf,
  stringListOf,
  stringOf,
} from '../domain/request-fields';
import { emptyQueueBody, errorBody, okBody, render, statusBody } from './job-responses';
import { fieldsOf } from './request-body';

/** A route; `user` is the authenticated broker user, or null when the door asks for no credentials. */
export type Handler = (request: FastifyRequest, reply: FastifyReply, user: string | null) => Promise<void>;

/** An answer before it is written: the status, the document, and for a job what to do once it was (or was not) written. */
export interface JobAnswer {
  status: number;
  body: unknown;
  settle?: (written: boolean) => void;
}

/** Longest visibility timeout a lease may ask for. */
const MAX_LEASE_MS = 12 * 3600 * 1000;

/**
 * The dispenserd API's routes, by path, for both HTTP paths (Fastify and the fast path): not a Nest
 * controller, since the door runs its own server. Paths and answers are dispenserd's; the extensions (ack/lease,
 * delays, lookup, delete, idempotency) only change answers of requests that use them.
 */
export class JobRoutes {
  private closing = false;
  private readonly blocked = new Set<BlockedReceiver>();

  constructor(
    private readonly jobs: JobService,
    private readonly maxBodyBytes: number,
  ) {}

  /** Path → handler; every other path answers the status document. */
  byPath(): Record<string, Handler> {
    return {
      '/jobs': (q, r, u) => this.listJobs(q, r, u),
      '/schedule': (q, r, u) => this.schedule(q, r, u),
      '/receive_noblock': (q, r, u) => this.receive(q, r, u, false),
      '/receive_block': (q, r, u) => this.receive(q, r, u, true),
      '/ack': (q, r, u) => this.ack(q, r, u),
      '/release': (q, r, u) => this.release(q, r, u),
      '/touch': (q, r, u) => this.touch(q, r, u),
      '/job': (q, r, u) => this.lookup(q, r, u),
      '/delete': (q, r, u) => this.deleteJob(q, r, u),
    };
  }

  readonly status: Handler = async (_request, reply, user) => {
    this.mayUseJobs(user);
    const { queued, idle } = this.jobs.status();
    send(reply, 200, statusBody(queued, idle));
  };

  /** Anyone with access to the jobs vhost may see what is queued. */
  private mayUseJobs(user: string | null): void {
    if (user !== null && !this.jobs.mayUse(user)) throw new JobRequestError(403, 1, `access to vhost '${this.jobs.options.vhost}' refused for user '${user}'`);
  }

  /** Scheduling writes to a lane's queue, receiving and settling reads from it, as over AMQP. */
  private authorize(user: string | null, access: Access, lane: string): void {
    if (user === null || this.jobs.allows(user, access, lane)) return;
    throw new JobRequestError(403, 1, `${access} access to queue '${this.jobs.lanes.queueName(lane)}' in vhost '${this.jobs.options.vhost}' refused for user '${user}'`);
  }

  /** Job bodies are shown only to those who may receive them: lanes the caller may read. */
  private async listJobs(_request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    this.mayUseJobs(user);
    send(reply, 200, await this.jobs.listJobs(user === null ? undefined : (lane) => this.jobs.allows(user, 'read', lane)));
  }

  private async schedule(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    const answer = await this.scheduleAnswer(await fieldsOf(request, this.maxBodyBytes), user);
    send(reply, answer.status, answer.body);
  }

  /** A schedule request's answer, whichever HTTP path read it; throws the request's errors. */
  async scheduleAnswer(fields: RequestFields | null, user: string | null): Promise<JobAnswer> {
    if (this.jobs.schedulePacer) await this.jobs.schedulePacer.turn();
    if (fields === null) throw missingMessage();
    const list = jobListOf(fields);
    if (list !== undefined) return this.scheduleManyAnswer(fields, list, user);
    const request = this.scheduleRequest(fields, user);
    const job = await this.jobs.schedule(request);
    const { notBefore, idempotencyKey } = request;
    const extended = notBefore !== undefined || idempotencyKey !== undefined;
    return { status: 200, body: extended ? merged(okBody, scheduledView(job, notBefore)) : okBody };
  }

  /**
   * `/schedule {"jobs": [...]}`: every job is read and checked against the caller's rights first
   * (one bad or refused, none scheduled); then all are enqueued in their order and answered
   * together once committed, each with its job number.
   */
  private async scheduleManyAnswer(fields: RequestFields, list: RequestFields[], user: string | null): Promise<JobAnswer> {
    if (fields.has('message')) throw badRequest('give message or jobs, not both');
    const requests = list.map((job, index) => {
      try {
        return this.scheduleRequest(job, user);
      } catch (error) {
        throw error instanceof JobRequestError ? inBatch(error, index) : error;
      }
    });
    const jobs = await this.jobs.scheduleMany(requests);
    return { status: 200, body: merged(okBody, { jobs: jobs.map((job, i) => scheduledView(job, requests[i]!.notBefore)) }) };
  }

  /** What a schedule asks for, its lane checked for write access. */
  private scheduleRequest(fields: RequestFields, user: string | null): ScheduleRequest {
    const message = messageOf(fields);
    const lane = laneOf(fields);
    this.authorize(user, 'write', lane);
    const priority = priorityOf(fields);
    const delayMs = millisecondsOf(fields, 'delay_ms');
    const runAt = runAtOf(fields);
    if (delayMs !== undefined && runAt !== undefined) throw badRequest('give delay_ms or run_at, not both');
    const notBefore = delayMs !== undefined ? Date.now() + delayMs : runAt;
    return { lane, message, priority, notBefore, idempotencyKey: stringOf(fields, 'idempotency_key') };
  }

  private async receive(request: FastifyRequest, reply: FastifyReply, user: string | null, block: boolean): Promise<void> {
    const fields = await fieldsOf(request, this.maxBodyBytes);
    const raw = reply.raw;
    const watchClose = (listener: () => void): (() => void) => {
      raw.once('close', listener);
      request.raw.socket.once('close', listener);
      return () => {
        raw.off('close', listener);
        request.raw.socket.off('close', listener);
      };
    };
    const answer = await this.receiveAnswer(fields, user, block, watchClose);
    if (raw.destroyed || raw.writableEnded) {
      answer.settle?.(false);
      return;
    }
    if (answer.settle !== undefined) {
      const settle = answer.settle;
      raw.once('finish', () => settle(true));
      raw.once('close', () => settle(raw.writableFinished));
    }
    send(reply, answer.status, answer.body);
  }

  /**
   * A receive's answer, whichever HTTP path read it: the jobs ready now, or for `receive_block`
   * the first that comes within the wait (stopped early when the connection closes); they are
   * settled (or leased) through `settle` once the transport knows whether the answer was written.
   */
  async receiveAnswer(fields: RequestFields | null, user: string | null, block: boolean, watchClose: (listener: () => void) => () => void): Promise<JobAnswer> {
    if (this.jobs.receivePacer) await this.jobs.receivePacer.turn();
    const { lane, leaseMs, waitMs: askedWait, count } = this.receiveRequest(fields, user);
    // receive_block: wait_ms (or, without ack, timeout_ms) bounds the wait; default is forever
    const waitMs = block ? askedWait : 0;
    const taken = this.jobs.takeUpTo(lane, count ?? 1);
    const entries = taken instanceof Promise ? await taken : taken;
    if (entries.length === 0 && block && waitMs !== 0) {
      const first = await this.waitForJob(lane, watchClose, waitMs);
      if (first !== undefined) {
        entries.push(first);
        // a batch takes along what else is ready by then
        if (count !== undefined && count > 1) {
          const more = this.jobs.takeUpTo(lane, count - 1);
          entries.push(...(more instanceof Promise ? await more : more));
        }
      }
    }
    if (entries.length === 0) {
      return this.closing ? { status: 503, body: errorBody(1, 'server shutting down') } : { status: 200, body: this.emptyAnswerBody(count) };
    }
    return this.delivery(entries, count !== undefined, leaseMs);
  }

  /** What a receive asks for: its lane (checked for read access), lease, wait and, for a batch, how many jobs at most. */
  private receiveRequest(fields: RequestFields | null, user: string | null): { lane: string; leaseMs: number; waitMs: number | undefined; count: number | undefined } {
    if (fields === null) throw badRequest('invalid JSON body');
    const lane = laneOf(fields);
    this.authorize(user, 'read', lane);
    const ack = booleanOf(fields, 'ack');
    const leaseMs = ack ? (millisecondsOf(fields, 'timeout_ms', MAX_LEASE_MS) ?? this.jobs.options.defaultLeaseMs) : 0;
    const waitMs = millisecondsOf(fields, 'wait_ms') ?? (ack ? undefined : millisecondsOf(fields, 'timeout_ms'));
    return { lane, leaseMs, waitMs, count: countOf(fields) };
  }

  /** An empty lane's answer: dispenserd's, plus an empty list for a batch receive. */
  private emptyAnswerBody(count: number | undefined): unknown {
    return count === undefined ? emptyQueueBody : merged(emptyQueueBody, { jobs: [] });
  }

  private async waitForJob(lane: string, watchClose: (listener: () => void) => () => void, waitMs: number | undefined): Promise<QueueEntry | undefined> {
    if (this.closing) return undefined;
    const receiver = this.jobs.wait(lane);
    this.blocked.add(receiver);
    const unwatch = watchClose(() => receiver.cancel());
    const timer = waitMs === undefined ? null : new WaitTimer(() => receiver.cancel(), waitMs);
    try {
      return (await receiver.result) ?? undefined;
    } finally {
      timer?.cancel();
      unwatch();
      this.blocked.delete(receiver);
    }
  }

  /**
   * The answer carrying jobs (one as dispenserd answers it, or a batch's list), and what to do
   * once it was written (each done or leased) or not (each back to its lane).
   */
  private delivery(entries: QueueEntry[], batch: boolean, leaseMs: number): JobAnswer {
    const handed = entries.map((entry) => this.handOut(entry, leaseMs));
    const body = batch ? merged(okBody, { jobs: handed.map((one) => one.job) }) : merged(okBody, handed[0]!.job);
    let settled = false;
    const settle = (written: boolean): void => {
      if (settled) return;
      settled = true;
      for (const one of handed) one.settle(written);
    };
    return { status: 200, body, settle };
  }

  /** One job as an answer shows it, leased when asked, and how it is settled once the answer was (or was not) written. */
  private handOut(entry: QueueEntry, leaseMs: number): { job: Record<string, unknown>; settle(written: boolean): void } {
    this.jobs.handingOut(entry);
    const lane = this.jobs.laneOfEntry(entry);
    let job: Record<string, unknown>;
    let leaseId: string | undefined;
    if (leaseMs > 0) {
      const lease = this.jobs.leases.grant(entry, lane, leaseMs);
      leaseId = lease.id;
      const view = jobView(entry, lane);
      job = { message: view.message, id: lease.id, job_num: view.job_num, lane, expires_at: new Date(lease.expiresAt).toISOString() };
    } else {
      job = { message: entry.message.body.toString('utf8') };
    }
    const settle = (written: boolean): void => {
      if (written) {
        this.jobs.counts.received(lane);
        if (leaseId === undefined) this.jobs.complete(entry);
      } else if (leaseId !== undefined) quietly(this.jobs.leases.release(leaseId));
      else this.jobs.abandon(entry);
    };
    return { job, settle };
  }

  private async leaseIdOf(request: FastifyRequest): Promise<{ id: string; fields: RequestFields }> {
    return leaseFieldsOf(await fieldsOf(request, this.maxBodyBytes));
  }

  /** A lease is settled by someone who may read its lane. */
  private async authorizeLease(user: string | null, id: string): Promise<void> {
    if (user === null) return;
    const lease = await this.jobs.leases.get(id);
    if (lease !== undefined) this.authorize(user, 'read', lease.lane);
  }

  private async ack(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    const answer = await this.ackAnswer(await fieldsOf(request, this.maxBodyBytes), user);
    send(reply, answer.status, answer.body);
  }

  /** An ack's answer, whichever HTTP path read it; throws the request's errors. */
  async ackAnswer(fields: RequestFields | null, user: string | null): Promise<JobAnswer> {
    const ids = fields === null ? undefined : stringListOf(fields, 'ids');
    if (ids !== undefined) return this.ackManyAnswer(fields!, ids, user);
    const { id } = leaseFieldsOf(fields);
    await this.authorizeLease(user, id);
    if (!(await this.jobs.leases.ack(id))) throw notFound('unknown or expired lease');
    return { status: 200, body: okBody };
  }

  /**
   * `/ack {"ids": [...]}`: every lease is checked before any is settled (one refused, none acked);
   * then each is acked, and the answer counts them and lists the ids that were unknown or
   * expired (as SQS's batch delete answers: the others are done all the same).
   */
  private async ackManyAnswer(fields: RequestFields, ids: string[], user: string | null): Promise<JobAnswer> {
    if (fields.has('id')) throw badRequest('give id or ids, not both');
    await Promise.all(ids.map((id) => this.authorizeLease(user, id)));
    const acked = await Promise.all(ids.map((id) => this.jobs.leases.ack(id)));
    const unknown = ids.filter((_id, i) => !acked[i]);
    return { status: 200, body: merged(okBody, { acked: ids.length - unknown.length, unknown }) };
  }

  private async release(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    const { id, fields } = await this.leaseIdOf(request);
    await this.authorizeLease(user, id);
    const delayMs = millisecondsOf(fields, 'delay_ms');
    const leases = this.jobs.leases;
    if (delayMs !== undefined && delayMs > 0 && leases.releaseUntil !== undefined) {
      // the job's row waits in its lane until then (the lease is settled on whichever node)
      const runAt = Date.now() + delayMs;
      const released = await leases.releaseUntil(id, runAt);
      if (released === undefined) throw notFound('unknown or expired lease');
      send(reply, 200, merged(okBody, { job_num: jobView(released, this.jobs.laneOfEntry(released)).job_num, run_at: runAt }));
      return;
    }
    const lease = await leases.get(id);
    if (lease === undefined) throw notFound('unknown or expired lease');
    if (delayMs !== undefined && delayMs > 0) {
      // a delayed release: ack this copy and schedule the same job again after the delay
      const view = jobView(lease.entry, lease.lane);
      await this.jobs.scheduleAgain(lease.entry, Date.now() + delayMs);
      await leases.ack(id);
      send(reply, 200, merged(okBody, { job_num: view.job_num, run_at: Date.now() + delayMs }));
      return;
    }
    await leases.release(id);
    send(reply, 200, okBody);
  }

  private async touch(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    const { id, fields } = await this.leaseIdOf(request);
    await this.authorizeLease(user, id);
    const timeoutMs = millisecondsOf(fields, 'timeout_ms', MAX_LEASE_MS) ?? this.jobs.options.defaultLeaseMs;
    const expiresAt = await this.jobs.leases.touch(id, timeoutMs);
    if (expiresAt === undefined) throw notFound('unknown or expired lease');
    send(reply, 200, merged(okBody, { expires_at: new Date(expiresAt).toISOString() }));
  }

  private async lookup(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    this.mayUseJobs(user);
    const fields = await fieldsOf(request, this.maxBodyBytes) ?? RequestFields.empty();
    const query = request.query as Record<string, string | undefined>;
    const jobNum = query.job_num !== undefined ? Number(query.job_num) : jobNumOf(fields);
    if (!Number.isInteger(jobNum) || jobNum < 1) throw badRequest('job_num must be a positive integer');
    const found = await this.jobs.findJob(jobNum);
    if (found === undefined) throw notFound(`job ${jobNum} not found`);
    // its body is shown only to those who may receive it
    this.authorize(user, 'read', found.lane);
    const job = { ...jobView(found.entry, found.lane), state: found.state, ...(found.runAt ? { run_at: new Date(found.runAt).toISOString() } : {}) };
    send(reply, 200, merged(okBody, { job }));
  }

  private async deleteJob(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    const fields = await fieldsOf(request, this.maxBodyBytes);
    if (fields === null) throw badRequest('invalid JSON body');
    const jobNum = jobNumOf(fields);
    if (user !== null) {
      // deleting takes the job off its lane: the same right as receiving it
      const found = await this.jobs.findJob(jobNum);
      if (found !== undefined) this.authorize(user, 'read', found.lane);
    }
    await this.jobs.deleteJob(jobNum);
    send(reply, 200, okBody);
  }

  /** Shutdown: blocked receivers answer 503 at once. */
  close(): void {
    this.closing = true;
    for (const receiver of this.blocked) receiver.cancel();
    this.jobs.cancelWaiters();
  }
}

/** A scheduled job as an extended schedule answer shows it (`run_at` only for a delayed one). */
function scheduledView(job: ScheduledJob, notBefore: number | undefined): Record<string, unknown> {
  return { job_num: job.jobNum, hash: job.hash, lane: job.lane, duplicate: job.duplicate, run_at: notBefore };
}

/** Settles in the background: a lease given back for a response not written has no one to tell of a failure. */
function quietly(outcome: unknown): void {
  if (outcome instanceof Promise) outcome.catch(() => {});
}

export function send(reply: FastifyReply, status: number, body: unknown): void {
  void reply.code(status).header('content-type', 'application/json').send(render(body));
}

/** Node's timers fire at once beyond 2^31-1 ms (24.8 days); longer waits are armed in steps. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** Calls `done` after `ms` milliseconds, however long that is. */
class WaitTimer {
  private readonly deadline: number;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly done: () => void,
    ms: number,
  ) {
    this.deadline = Date.now() + ms;
    this.timer = setTimeout(this.step, Math.min(ms, LONGEST_TIMER_MS));
  }

  private readonly step = (): void => {
    const left = this.deadline - Date.now();
    if (left <= 0) this.done();
    else this.timer = setTimeout(this.step, Math.min(left, LONGEST_TIMER_MS));
  };

  cancel(): void {
    clearTimeout(this.timer);
  }
}

/** A lease request's fields and the lease id they name. */
function leaseFieldsOf(fields: RequestFields | null): { id: string; fields: RequestFields } {
  if (fields === null) throw badRequest('invalid JSON body');
  const id = stringOf(fields, 'id');
  if (id === undefined) throw badRequest('id is required');
  return { id, fields };
}
