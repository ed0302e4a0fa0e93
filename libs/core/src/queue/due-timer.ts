/** Longest delay Node's timers take (about 24.8 days); later times are reached in steps. */
const MAX_DELAY_MS = 0x7fffffff;

/**
 * One unref'd timer for a queue's next due time (its head's expiry, the end of its unused
 * period). `wakeBy` keeps an earlier wake-up; `wakeAt` replaces it. The callback checks what is
 * really due and arms again, so waking early (a capped delay, a moved due time) is harmless.
 */
export class DueTimer {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = 0;
  private readonly fired = (): void => {
    this.timer = null;
    this.dueAt = 0;
    this.onDue();
  };

  constructor(private readonly onDue: () => void) {}

  /** Wakes at `at` at the latest (an earlier wake-up already set stays). */
  wakeBy(at: number): void {
    if (this.timer !== null && this.dueAt <= at) return;
    this.wakeAt(at);
  }

  /** Wakes at `at`, replacing any wake-up set before. */
  wakeAt(at: number): void {
    this.cancel();
    this.dueAt = at;
    this.timer = setTimeout(this.fired, Math.min(Math.max(at - Date.now(), 0), MAX_DELAY_MS));
    this.timer.unref();
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.dueAt = 0;
  }
}
