/** Waiting room in front of a host's senders, in multiples of its concurrency (what the worker parks in memory). */
export const PARKED_PER_HOST_FACTOR = 8;
/** Assumed attempt time of a host not measured yet. */
const UNMEASURED_ATTEMPT_MS = 100;
/** Weight of the newest attempt in a host's mean attempt time. */
const SMOOTHING = 0.2;
/** Hosts whose pace is kept at most; idle ones are forgotten first. */
const MAX_HOSTS = 10_000;

interface Pace {
  /** Smoothed attempt time, ms. */
  meanMs: number;
  /** When the next deferred delivery of this host is due: one slot later than the last one deferred. */
  nextDueAt: number;
}

/**
 * When to try again a delivery whose host has every sender busy and a full waiting room. Due
 * "in a second" every time, a backlog for a slow host went back to the store once a second, each
 * delivery rewritten until its turn came (a slow sink with 16,000 waiting: 16,000 store writes a
 * second, and intake fell to half). Instead the deferrals of a host are spread at the pace it
 * answers: the n-th one is due about when n more of its slots have freed up, after the waiting
 * room drained, so a delivery goes back to the store about once however long the backlog.
 */
export class HostPacing {
  private readonly hosts = new Map<string, Pace>();

  constructor(
    private readonly concurrency: number,
    /** Never sooner than this (a host that was only briefly busy). */
    private readonly minDelayMs: number,
    /** Never later than this (a host that speeds up is not left idle for long). */
    private readonly maxDelayMs: number,
  ) {}

  /** An attempt to the host took `ms` (whatever its outcome). */
  observed(host: string, ms: number): void {
    const pace = this.hosts.get(host);
    if (pace === undefined) this.remember(host, { meanMs: ms, nextDueAt: 0 });
    else pace.meanMs += SMOOTHING * (ms - pace.meanMs);
  }

  /** When a delivery deferred now for its busy host is due. */
  deferredUntil(host: string, now = Date.now()): number {
    let pace = this.hosts.get(host);
    if (pace === undefined) {
      pace = { meanMs: UNMEASURED_ATTEMPT_MS, nextDueAt: 0 };
      this.remember(host, pace);
    }
    const slotMs = pace.meanMs / this.concurrency;
    // the senders' current round and the waiting room go first
    const earliest = now + Math.max(this.minDelayMs, (PARKED_PER_HOST_FACTOR + 1) * pace.meanMs);
    const dueAt = Math.min(now + this.maxDelayMs, Math.max(earliest, pace.nextDueAt));
    pace.nextDueAt = dueAt + slotMs;
    return dueAt;
  }

  private remember(host: string, pace: Pace): void {
    if (this.hosts.size >= MAX_HOSTS) {
      const now = Date.now();
      for (const [name, kept] of this.hosts) if (kept.nextDueAt < now) this.hosts.delete(name);
      if (this.hosts.size >= MAX_HOSTS) this.hosts.clear();
    }
    this.hosts.set(host, pace);
  }
}
