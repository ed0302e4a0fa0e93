/** The counts of a shared queue's rows, as a look at the table found them. */
export interface RowCounts {
  ready: number;
  delayed: number;
  unacked: number;
  readyBytes: number;
}

/** What this node's enqueues of one store batch added, until a look at the table surely saw them. */
interface BatchDelta {
  ready: number;
  delayed: number;
  bytes: number;
  /** 0 while the batch is pending. */
  committedAt: number;
}

/**
 * One node's view of how many rows a shared queue has: the last look at the table (the poll), moved
 * by what this node did since. Other nodes' work shows at the next look, so the figures are
 * estimates between polls. Enqueues are kept per store batch until a look that started after their
 * commit: a count read while they committed must not take them back, and a lost batch takes back
 * only its own rows.
 */
export class RowTally {
  private counts: RowCounts = { ready: 0, delayed: 0, unacked: 0, readyBytes: 0 };
  private readonly batchDeltas = new Map<number, BatchDelta>();

  get ready(): number {
    return this.counts.ready;
  }

  get delayed(): number {
    return this.counts.delayed;
  }

  get unacked(): number {
    return this.counts.unacked;
  }

  get readyBytes(): number {
    return this.counts.readyBytes;
  }

  /** This node added a row to store batch `no`: ready, or delayed (not due yet). */
  added(no: number, delayed: boolean, bytes: number): void {
    let delta = this.batchDeltas.get(no);
    if (delta === undefined) {
      delta = { ready: 0, delayed: 0, bytes: 0, committedAt: 0 };
      this.batchDeltas.set(no, delta);
    }
    if (delayed) {
      this.counts.delayed++;
      delta.delayed++;
    } else {
      this.counts.ready++;
      this.counts.readyBytes += bytes;
      delta.ready++;
      delta.bytes += bytes;
    }
  }

  /** A unique insert counted as ready was a duplicate: no row was added. */
  notAdded(): void {
    this.counts.ready = Math.max(0, this.counts.ready - 1);
  }

  /** Store batch `no` committed, or was lost (its rows were never added). */
  batchSettled(no: number, committed: boolean): void {
    const delta = this.batchDeltas.get(no);
    if (delta === undefined) return;
    if (committed) {
      delta.committedAt = Date.now();
      return;
    }
    this.batchDeltas.delete(no);
    this.counts.ready = Math.max(0, this.counts.ready - delta.ready);
    this.counts.delayed = Math.max(0, this.counts.delayed - delta.delayed);
    this.counts.readyBytes = Math.max(0, this.counts.readyBytes - delta.bytes);
  }

  /** A look at the table started at `countedAt` found `counts`: this node's enqueues it cannot have seen are added to it. */
  counted(counts: RowCounts, countedAt: number): void {
    for (const [no, delta] of this.batchDeltas) {
      if (delta.committedAt !== 0 && delta.committedAt < countedAt) {
        this.batchDeltas.delete(no);
        continue;
      }
      counts.ready += delta.ready;
      counts.delayed += delta.delayed;
      counts.readyBytes += delta.bytes;
    }
    this.counts = counts;
  }

  /** `n` ready rows were claimed: out with consumers now. */
  claimed(n: number): void {
    this.counts.ready = Math.max(0, this.counts.ready - n);
    this.counts.unacked += n;
  }

  /** A taken row is ready again. */
  requeued(): void {
    this.counts.unacked = Math.max(0, this.counts.unacked - 1);
    this.counts.ready++;
  }

  /** A taken row left the queue (acked, dropped, dead-lettered). */
  retired(): void {
    this.counts.unacked = Math.max(0, this.counts.unacked - 1);
  }

  /** A ready or delayed row was removed. */
  removed(delayed: boolean): void {
    if (delayed) this.counts.delayed = Math.max(0, this.counts.delayed - 1);
    else this.counts.ready = Math.max(0, this.counts.ready - 1);
  }

  /** Every ready and delayed row is gone; returns how many there were. */
  purged(): number {
    const count = this.counts.ready + this.counts.delayed;
    this.counts.ready = 0;
    this.counts.delayed = 0;
    this.counts.readyBytes = 0;
    return count;
  }
}
