/** Samples older than this are dropped; the rate spans from the oldest kept sample to now. */
const WINDOW_MS = 10_000;
/** Samples are kept at least this far apart, so frequent reads do not shorten the window. */
const SAMPLE_SPACING_MS = 1000;

/**
 * The per-second rate of a cumulative counter, sampled only when read (no timers): the management
 * views poll every few seconds, and each read compares the counter with the oldest sample of the
 * last ten seconds.
 */
export class RateMeter {
  private readonly times: number[] = [];
  private readonly values: number[] = [];

  rate(value: number, now: number = Date.now()): number {
    const times = this.times;
    const values = this.values;
    while (times.length > 1 && now - times[0]! > WINDOW_MS) {
      times.shift();
      values.shift();
    }
    const last = times[times.length - 1];
    if (last === undefined || now - last >= SAMPLE_SPACING_MS) {
      times.push(now);
      values.push(value);
    }
    const elapsed = now - times[0]!;
    return elapsed > 0 ? ((value - values[0]!) * 1000) / elapsed : 0;
  }
}
