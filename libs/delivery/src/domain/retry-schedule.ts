export interface RetryPolicy {
  /** Delay after the first failure; each later failure doubles it (Dispatcher: 2 s, 4 s, 8 s …). */
  baseDelayMs: number;
  /** No delay is longer than this (also caps Retry-After). */
  maxDelayMs: number;
  /** Attempts in all, first included, before a delivery is dead (a request may ask for fewer or more). */
  maxAttempts: number;
  /** Spread each delay over [delay/2, delay] ("equal jitter"); off keeps Dispatcher's timing. */
  jitter: boolean;
}

/**
 * The delay before the next attempt after `failures` failed attempts (1 = the first failed):
 * base × 2^(failures−1), capped; a Retry-After the destination asked for wins when it is longer,
 * within the cap.
 */
export function retryDelayMs(policy: RetryPolicy, failures: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 40);
  let delay = Math.min(policy.baseDelayMs * 2 ** exponent, policy.maxDelayMs);
  if (policy.jitter) delay = delay / 2 + random() * (delay / 2);
  if (retryAfterMs !== undefined && retryAfterMs > delay) delay = Math.min(retryAfterMs, policy.maxDelayMs);
  return Math.round(delay);
}
