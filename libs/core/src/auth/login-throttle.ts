/** When a source that keeps failing to log in is made to wait. */
export interface LoginThrottleOptions {
  /** Failures from one source within `windowMs` that start its back-off; 0: never back off. */
  failureLimit: number;
  windowMs: number;
  /** The first back-off; each further failure during a back-off streak doubles it, up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Sources remembered at most; the least recently seen are forgotten first. */
  maxSources?: number;
}

interface SourceRecord {
  /** Failures in the window that began at windowStart. */
  failures: number;
  windowStart: number;
  blockedUntil: number;
  /** Back-offs in the current streak: the next one lasts backoffMs · 2^strikes. */
  strikes: number;
  /** Password checks running for this source now. */
  inFlight: number;
  lastSeen: number;
}

/**
 * Per-source back-off after repeated failed logins: after `failureLimit` failures in a window, the
 * source's attempts are refused without a password check for a delay that doubles with each
 * further failure, until it has been quiet for a window. Concurrent checks per source are capped
 * at the same limit, so a burst cannot queue hundreds of bcrypts before the first one fails.
 * Memory is bounded: the least recently seen sources are forgotten beyond `maxSources`.
 */
export class LoginThrottle {
  private readonly sources = new Map<string, SourceRecord>();
  private readonly maxSources: number;

  constructor(private readonly options: LoginThrottleOptions) {
    this.maxSources = options.maxSources ?? 100_000;
  }

  get enabled(): boolean {
    return this.options.failureLimit > 0;
  }

  /** Milliseconds the source must wait before its next password check; 0: it may go ahead. */
  waitFor(source: string | undefined, now = Date.now()): number {
    if (!this.enabled) return 0;
    const record = this.sources.get(sourceKey(source));
    if (record === undefined) return 0;
    if (record.blockedUntil > now) return record.blockedUntil - now;
    if (record.inFlight >= this.options.failureLimit) return this.options.backoffMs;
    return 0;
  }

  /** A password check for the source starts; `end` must follow. */
  begin(source: string | undefined, now = Date.now()): void {
    if (this.enabled) this.touch(sourceKey(source), now).inFlight++;
  }

  end(source: string | undefined): void {
    const record = this.sources.get(sourceKey(source));
    if (record !== undefined && record.inFlight > 0) record.inFlight--;
  }

  /** Counts a failure; answers the back-off it starts (ms), or 0. */
  recordFailure(source: string | undefined, now = Date.now()): number {
    if (!this.enabled) return 0;
    const record = this.touch(sourceKey(source), now);
    if (now - record.windowStart > this.options.windowMs) {
      record.failures = 0;
      record.windowStart = now;
    }
    record.failures++;
    if (record.strikes === 0 && record.failures < this.options.failureLimit) return 0;
    const delay = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** Math.min(record.strikes, 30));
    record.strikes++;
    record.failures = 0;
    record.blockedUntil = now + delay;
    return delay;
  }

  /** Sources remembered now (for tests and metrics). */
  get size(): number {
    return this.sources.size;
  }

  private touch(key: string, now: number): SourceRecord {
    let record = this.sources.get(key);
    if (record !== undefined) {
      this.sources.delete(key);
      // quiet for a whole window since its last attempt or back-off: a fresh start
      if (record.inFlight === 0 && now - Math.max(record.lastSeen, record.blockedUntil) > this.options.windowMs) record = undefined;
    }
    record ??= { failures: 0, windowStart: now, blockedUntil: 0, strikes: 0, inFlight: 0, lastSeen: now };
    record.lastSeen = now;
    this.sources.set(key, record);
    for (const oldest of this.sources.keys()) {
      if (this.sources.size <= this.maxSources) break;
      this.sources.delete(oldest);
    }
    return record;
  }
}

/**
 * The unit a back-off applies to: an IPv4 address, or an IPv6 /64 (one host usually holds a whole
 * /64, and could otherwise step around its back-off address by address).
 */
export function sourceKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!address.includes(':') || address === '::1') return address;
  const [head = '', tail = ''] = address.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (address.includes('::')) {
    const tailGroups = tail === '' ? [] : tail.split(':');
    while (groups.length + tailGroups.length < 8) groups.push('0');
    groups.push(...tailGroups);
  }
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
