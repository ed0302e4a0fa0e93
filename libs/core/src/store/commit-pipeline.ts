import type { CoreMetrics } from '../metrics';
import { CommitCallback, CommitToken, commitToken, positionOf } from './commit-token';

/** What the pipeline needs to know of a store's batch. */
export interface PipelineBatch {
  /** Its number: batches are numbered 1, 2, 3… in the order they are opened. */
  readonly no: number;
  /** Nothing to write (callbacks may still wait on it). */
  readonly isEmpty: boolean;
  /** Approximate bytes queued in it: bounds early hand-overs and the backlog. */
  readonly bytes: number;
}

/** The store's side of the pipeline: how its batches are made, held back and committed. */
export interface BatchCommitter<B extends PipelineBatch> {
  /** A new, empty open batch. */
  openBatch(no: number): B;
  /**
   * With nothing in flight: whether the open batch should wait a little before it goes (SQLite's
   * AckWait). A committer that holds calls `CommitPipeline.sendHeld` once the wait is over.
   */
  holds(batch: B): boolean;
  /**
   * Hands a closed batch over to be committed. True: it is in flight, and the store reports its
   * end through `committed` or `failed`, in hand-over order. False: nothing is left to wait for
   * but earlier batches (it held nothing to write, or the committer wrote it synchronously).
   * Throwing fails the store.
   */
  handOver(batch: B): boolean;
}

export interface CommitPipelineOptions {
  /** Batches in flight at most; while that many are, writes pile up in the open batch (backlog). */
  maxInFlight: number;
  /**
   * With commits in flight, the open batch goes early once it holds this many bytes; four times
   * as many is a backlog (publishers pause).
   */
  earlyBytes: number;
}

interface InFlight {
  no: number;
  /** Its commit also covers later batches that had nothing to write (they were folded into it). */
  coversUpTo: number;
  callbacks: CommitCallback[];
  sentAt: bigint;
}

/** Inserts a batch moved on to later batches (see `deferFrom`). */
interface Deferral {
  /** Moved on and neither handed over in a later batch nor settled yet. */
  unsent: number;
  /** The latest batch that wrote one of them (0: none did). */
  writtenIn: number;
}

/** Waits whose batches are written, answered once the inserts those batches deferred are too. */
interface HeldWait {
  upTo: number;
  callbacks: CommitCallback[];
}

/**
 * Group commit, shared by the stores: one open batch collects every write of the current turn;
 * it is handed over on the next turn (setImmediate) unless a commit is running, in which case it
 * keeps filling until that commit returns, so batches grow with load by themselves. Batches in
 * flight commit in order. Commit tokens name batches (see CommitToken: the store's slot and the
 * batch number): the open batch's token covers every write made so far. A failure is final:
 * everything waiting, and everything that waits later, is answered false; a store that can lose
 * one batch and go on (a database that was unreachable for a while) reports it `rejected`.
 *
 * Writes call `scheduleFlush` and nothing else, so a write allocates nothing here; one InFlight
 * and one callbacks array per batch are the pipeline's whole cost.
 *
 * A committer may move an insert on from the batch it was made in to a later one (`deferFrom`), so
 * that an ack arriving meanwhile spares it the disk. Every token from that batch on covers the
 * insert, so none of them reads as committed until the insert is written in a later batch that
 * committed, or settled without being written (`deferredSettled`: a consumer acked it).
 */
export class CommitPipeline<B extends PipelineBatch> {
  private openBatch: B;
  private openCallbacks: CommitCallback[] = [];
  private readonly inFlight: InFlight[] = [];
  /** Every batch up to this one is written (or had nothing to write). */
  private writtenNo = 0;
  /** ... and so is every insert those batches deferred: what a token means by committed. */
  private committedNo = 0;
  /** By the batch the inserts were made in; a Map keeps insertion order, so the first is the oldest. */
  private readonly deferrals = new Map<number, Deferral>();
  /** In batch order. */
  private readonly held: HeldWait[] = [];
  private releaseScheduled = false;
  /** The token of `committedNo`, kept so that isCommitted is one comparison. */
  private committedToken: CommitToken;
  private slot = 0;
  private flushScheduled = false;
  private stopped = false;
  private failureError: Error | null = null;
  private readonly drainListeners: (() => void)[] = [];
  private metrics: CoreMetrics | null = null;

  constructor(
    private readonly committer: BatchCommitter<B>,
    private readonly options: CommitPipelineOptions,
  ) {
    this.openBatch = committer.openBatch(1);
    this.committedToken = commitToken(0, 0);
  }

  /**
   * The store's slot in the broker's composition (its tokens carry it) and where commits are
   * counted. Set before the first write of a broker's run; a store reopened by another broker
   * may be given another slot once nothing of the last run waits any more.
   */
  attach(slot: number, metrics: CoreMetrics): void {
    if (slot !== this.slot && (this.inFlight.length > 0 || !this.openBatch.isEmpty || this.openCallbacks.length > 0)) {
      throw new Error(`a store with writes in flight cannot move from slot ${this.slot} to ${slot}`);
    }
    this.slot = slot;
    this.committedToken = commitToken(slot, this.committedNo);
    this.metrics = metrics;
  }

  /** The batch writes go into now. */
  get open(): B {
    return this.openBatch;
  }

  /** The store wrote into the open batch: it goes on the next turn (or when the running commit returns). */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushNow);
  }

  // ---- tokens ----------------------------------------------------------------------------------

  /** A token covering every write made so far: the open batch's. */
  currentToken(): CommitToken {
    return commitToken(this.slot, this.openBatch.no);
  }

  /** The token of the newest batch handed over: what is no longer in the open batch is in it at the latest. */
  lastHandedOverToken(): CommitToken {
    return commitToken(this.slot, this.openBatch.no - 1);
  }

  isCommitted(token: CommitToken): boolean {
    return token <= this.committedToken;
  }

  /** Calls back (never synchronously) once the token's batch is committed (true), or never can be (false). */
  whenCommitted(token: CommitToken, callback: CommitCallback): void {
    if (this.failureError !== null) {
      queueMicrotask(() => callback(false));
      return;
    }
    if (token <= this.committedToken) {
      queueMicrotask(() => callback(true));
      return;
    }
    if (this.stopped) {
      queueMicrotask(() => callback(false));
      return;
    }
    const position = positionOf(token);
    if (position <= this.writtenNo) {
      this.hold(position, [callback]);
      return;
    }
    if (position < this.openBatch.no) {
      for (const flight of this.inFlight) {
        if (flight.coversUpTo >= position) {
          flight.callbacks.push(callback);
          return;
        }
      }
    }
    this.openCallbacks.push(callback);
    this.scheduleFlush();
  }

  /** Resolves once everything written so far is committed; rejects if it cannot be. */
  flush(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.whenCommitted(this.currentToken(), (ok) => (ok ? resolve() : reject(this.failureError ?? new Error('store commit failed')))),
    );
  }

  // ---- pressure --------------------------------------------------------------------------------

  /** True while writes pile up faster than they commit: publishers should pause until `onDrain`. */
  get backlogged(): boolean {
    return this.inFlight.length >= this.options.maxInFlight || this.openBatch.bytes > this.options.earlyBytes * 4;
  }

  /** Calls the listener once the backlog is gone (soon, if there is none). */
  onDrain(listener: () => void): void {
    if (!this.backlogged) queueMicrotask(listener);
    else this.drainListeners.push(listener);
  }

  /** Batches handed over and not committed yet, plus the open one if it holds writes. */
  get pendingCommits(): number {
    return this.inFlight.length + (this.openBatch.isEmpty ? 0 : 1);
  }

  get inFlightCount(): number {
    return this.inFlight.length;
  }

  // ---- hand-over -------------------------------------------------------------------------------

  /** A wait of `BatchCommitter.holds` is over: the open batch goes now, unless a commit is running. */
  sendHeld(): void {
    if (this.inFlight.length === 0) this.flushNow();
  }

  /** Hands the open batch over now, if anything writes or waits in it (closing a synchronous store). */
  sendOpen(): void {
    if (!this.openBatch.isEmpty || this.openCallbacks.length > 0) this.send();
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    const batch = this.openBatch;
    if (batch.isEmpty && this.openCallbacks.length === 0) {
      // acks may have cancelled every write a paused publisher was waiting behind
      this.relieve();
      return;
    }
    // With nothing in flight, send now. With a commit running, keep filling this batch until the
    // commit returns (`committed` sends it then), unless it is big: a message consumed and acked
    // meanwhile never reaches the disk, and its confirm waits no longer than it would have in the
    // writer's queue, behind the running commit. RabbitMQ's message store does the same.
    if (this.inFlight.length > 0) {
      if (this.inFlight.length >= this.options.maxInFlight) return;
      if (batch.bytes < this.options.earlyBytes * 4) return;
    } else if (this.committer.holds(batch)) return;
    this.send();
  };

  private send(): void {
    const batch = this.openBatch;
    const callbacks = this.openCallbacks;
    this.openBatch = this.committer.openBatch(batch.no + 1);
    this.openCallbacks = [];
    if (this.failureError !== null || this.stopped) {
      for (const callback of callbacks) callback(false);
      return;
    }
    let inFlight: boolean;
    try {
      inFlight = this.committer.handOver(batch);
    } catch (error) {
      // Hand-over runs from a timer or a commit's answer: thrown on, it would end the process. The
      // store stops promising durability (every waiting commit answers false) instead.
      this.fail(new Error(`store could not pack batch ${batch.no}: ${error instanceof Error ? error.message : String(error)}`));
      for (const callback of callbacks) callback(false);
      return;
    }
    if (inFlight) {
      this.inFlight.push({ no: batch.no, coversUpTo: batch.no, callbacks, sentAt: process.hrtime.bigint() });
      return;
    }
    // Nothing left to write: the callbacks only have to wait for what is already in flight.
    const last = this.inFlight[this.inFlight.length - 1];
    if (last !== undefined) {
      for (const callback of callbacks) last.callbacks.push(callback);
      last.coversUpTo = batch.no;
      return;
    }
    this.setWritten(batch.no);
    this.answerWritten(batch.no, callbacks);
    // no commit will answer: a publisher paused for the backlog this batch was must hear now
    this.relieve();
  }

  // ---- answers ---------------------------------------------------------------------------------

  /**
   * The last `batches` batches handed over, up to and including batch `no`, are committed (in one
   * transaction that made `ops` writes in `seconds`).
   */
  committed(no: number, batches: number, ops: number, seconds: number): void {
    const done = this.inFlight.splice(0, batches);
    const last = done[done.length - 1];
    if (last === undefined || last.no !== no) {
      this.answeredOutOfOrder(no, done);
      return;
    }
    this.setWritten(last.coversUpTo);
    this.metrics?.recordCommit(Number(process.hrtime.bigint() - done[0]!.sentAt) / 1e9, ops, seconds);
    for (const flight of done) this.answerWritten(flight.coversUpTo, flight.callbacks);
    // the next batch goes now, unless the committer holds it (its inserts may be spared by acks)
    if ((!this.openBatch.isEmpty || this.openCallbacks.length > 0) && !this.committer.holds(this.openBatch)) this.send();
    this.relieve();
  }

  /** Batch `no`, the oldest in flight, could not be committed: the store fails. */
  failed(no: number, reason: string): void {
    const done = this.inFlight.splice(0, 1);
    const last = done[0];
    if (last === undefined || last.no !== no) {
      this.answeredOutOfOrder(no, done);
      return;
    }
    this.fail(new Error(`store commit failed: ${reason}`));
    for (const callback of last.callbacks) callback(false);
  }

  /**
   * Batch `no`, the oldest in flight, was not committed, and the store goes on (a networked store
   * whose database could not be reached: it reconnects by itself). Its waits answer false; later
   * batches commit as usual. A token of the lost batch reads as committed once a later batch
   * commits: whoever waited on it was told false when it was lost.
   */
  rejected(no: number): void {
    const done = this.inFlight.splice(0, 1);
    const lost = done[0];
    if (lost === undefined || lost.no !== no) {
      this.answeredOutOfOrder(no, done);
      return;
    }
    for (const callback of lost.callbacks) callback(false);
    if ((!this.openBatch.isEmpty || this.openCallbacks.length > 0) && !this.committer.holds(this.openBatch)) this.send();
    this.relieve();
  }

  /** The store's answers lost their order: nothing it says can be trusted, the batches taken out of flight included. */
  private answeredOutOfOrder(no: number, taken: InFlight[]): void {
    this.fail(new Error(`store writer answered batch ${no} out of order`));
    for (const flight of taken) for (const callback of flight.callbacks) callback(false);
  }

  /** The store can no longer promise durability: everything waiting now or later is answered false. */
  fail(error: Error): void {
    if (this.failureError !== null) return;
    this.failureError = error;
    for (const wait of this.held.splice(0)) for (const callback of wait.callbacks) callback(false);
    for (const flight of this.inFlight.splice(0)) for (const callback of flight.callbacks) callback(false);
    for (const callback of this.openCallbacks.splice(0)) callback(false);
    process.emitWarning(error);
  }

  /** Not failed, not stopped: it can still promise durability. */
  get healthy(): boolean {
    return this.failureError === null && !this.stopped;
  }

  /** Why the store failed, or null. */
  get failure(): Error | null {
    return this.failureError;
  }

  /** The store closed: what is handed over from now on is not committed, and waits answer false. */
  stop(): void {
    this.stopped = true;
  }

  /** A closed store opens again (MemoryStore, reopened by the next broker). */
  restart(): void {
    this.stopped = false;
  }

  // ---- deferred inserts ------------------------------------------------------------------------

  /** While batch `no` is handed over, the committer moved one of its inserts on to the open batch. */
  deferFrom(no: number): void {
    const deferral = this.deferrals.get(no);
    if (deferral !== undefined) deferral.unsent++;
    else this.deferrals.set(no, { unsent: 1, writtenIn: 0 });
  }

  /** An insert deferred from batch `from` is handed over in batch `no`: it is durable once `no` commits. */
  deferredWritten(from: number, no: number): void {
    const deferral = this.deferrals.get(from);
    if (deferral === undefined) throw new Error(`batch ${from} deferred no insert`);
    deferral.unsent--;
    deferral.writtenIn = Math.max(deferral.writtenIn, no);
  }

  /**
   * An insert deferred from batch `from` will never be written (a consumer acked it, or it was
   * dropped): the waits it held may be answered, on a later microtask (never inside the caller's
   * settlement).
   */
  deferredSettled(from: number): void {
    const deferral = this.deferrals.get(from);
    if (deferral === undefined) throw new Error(`batch ${from} deferred no insert`);
    deferral.unsent--;
    if (deferral.unsent > 0 || deferral.writtenIn > this.writtenNo || this.releaseScheduled) return;
    this.releaseScheduled = true;
    queueMicrotask(this.release);
  }

  private readonly release = (): void => {
    this.releaseScheduled = false;
    if (this.failureError === null) this.setWritten(this.writtenNo);
  };

  /** Batches up to `no` are written: commits up to the oldest batch whose deferred inserts are not, and answers the waits that covers. */
  private setWritten(no: number): void {
    this.writtenNo = no;
    let committed = no;
    for (const [from, deferral] of this.deferrals) {
      if (deferral.unsent === 0 && deferral.writtenIn <= no) {
        this.deferrals.delete(from);
        continue;
      }
      committed = Math.min(committed, from - 1);
      break;
    }
    if (committed <= this.committedNo) return;
    this.setCommitted(committed);
    let answered = 0;
    while (answered < this.held.length && this.held[answered]!.upTo <= committed) answered++;
    for (const wait of this.held.splice(0, answered)) for (const callback of wait.callbacks) callback(true);
  }

  /** Answers the waits of written batches up to `upTo`, or holds them behind a deferred insert. */
  private answerWritten(upTo: number, callbacks: CommitCallback[]): void {
    if (upTo <= this.committedNo) for (const callback of callbacks) callback(true);
    else this.hold(upTo, callbacks);
  }

  private hold(upTo: number, callbacks: CommitCallback[]): void {
    let at = this.held.length;
    while (at > 0 && this.held[at - 1]!.upTo > upTo) at--;
    const before = this.held[at - 1];
    if (before !== undefined && before.upTo === upTo) before.callbacks.push(...callbacks);
    else this.held.splice(at, 0, { upTo, callbacks });
  }

  private setCommitted(no: number): void {
    this.committedNo = no;
    this.committedToken = commitToken(this.slot, no);
  }

  /** Runs the onDrain listeners once the backlog is gone. */
  private relieve(): void {
    if (!this.backlogged && this.drainListeners.length > 0) {
      for (const listener of this.drainListeners.splice(0)) listener();
    }
  }
}
