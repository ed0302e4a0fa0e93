import type { LoginFailure } from '#core';
import type { Logger } from './logging';

/** Failed-login lines at most per interval; the rest are counted and summed up in one line. */
const LINES_PER_INTERVAL = 20;
const INTERVAL_MS = 10_000;

/**
 * Logs failed logins at warn level (user, source address, door, reason), quietly: at most
 * LINES_PER_INTERVAL lines per INTERVAL_MS, then one line saying how many were left out, so a
 * password-guessing storm cannot flood the log. The back-off a failure starts is always logged.
 */
export class LoginFailureLog {
  private logged = 0;
  private suppressed = 0;
  private intervalStart = 0;
  private summary: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  record(failure: LoginFailure): void {
    const now = this.now();
    if (now - this.intervalStart >= INTERVAL_MS) {
      this.flush();
      this.intervalStart = now;
      this.logged = 0;
    }
    const fields = { user: failure.user, source: failure.source, door: failure.door, reason: failure.reason };
    if (failure.backoffMs > 0) {
      this.logger.warn({ ...fields, backoffMs: failure.backoffMs }, 'login failed: source backed off');
      return;
    }
    if (this.logged < LINES_PER_INTERVAL) {
      this.logged++;
      this.logger.warn(fields, 'login failed');
      return;
    }
    this.suppressed++;
    this.summary ??= setTimeout(() => this.flush(), Math.max(0, this.intervalStart + INTERVAL_MS - now)).unref();
  }

  private flush(): void {
    if (this.summary !== null) clearTimeout(this.summary);
    this.summary = null;
    if (this.suppressed === 0) return;
    this.logger.warn({ suppressed: this.suppressed }, 'login failed: more failed logins not logged one by one');
    this.suppressed = 0;
  }
}
