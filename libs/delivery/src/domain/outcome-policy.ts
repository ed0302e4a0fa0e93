/** What one attempt's result means for the delivery. */
export type AttemptVerdict = 'delivered' | 'retry' | 'dead';

/** How an attempt ended: an HTTP status, or a transport failure of some class. */
export type AttemptResult = { status: number; retryAfterMs?: number } | { error: TransportErrorClass };

/** Transport failures, named for the attempt log and the metrics. */
export type TransportErrorClass = 'refused' | 'timeout' | 'dns' | 'tls' | 'reset' | 'forbidden-destination' | 'too-large' | 'other';

/**
 * The outcome policy: 2xx delivered; 408, 425, 429 and 5xx retried; 410 dead at once; other
 * 3xx/4xx dead (a redirect is not followed, and retrying a 4xx will not make it succeed);
 * transport failures retried, except a destination the guard refuses (dead: it will not change).
 * `anyResponseDelivers` is Dispatcher's rule: any HTTP answer at all counts as delivered.
 */
export function verdictOf(result: AttemptResult, anyResponseDelivers: boolean): AttemptVerdict {
  if ('error' in result) return result.error === 'forbidden-destination' ? 'dead' : 'retry';
  const status = result.status;
  if (anyResponseDelivers) return 'delivered';
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'dead';
}

/**
 * A Retry-After header (delay-seconds or an HTTP date) in milliseconds from `now`, or undefined
 * when absent or unreadable. Only 429 and 503 answers are asked for it.
 */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
