import { BrokerError } from '#core';
/**
 * Whether an error means "the database cannot be reached right now" (it is stopping, starting,
 * gone, frozen past the query timeout, or the connection broke), as opposed to an error in what
 * was asked. These are what pg reported while a server was stopped, killed and paused under load
 * (bench/cluster/README.md): all of them answer 503 and leave nothing half-done.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // admin_shutdown, crash_shutdown, cannot_connect_now; connection exceptions; too many connections
    if (code === '57P01' || code === '57P02' || code === '57P03' || code.startsWith('08') || code === '53300') return true;
    if (NETWORK_CODES.has(code)) return true;
  }
  return UNAVAILABLE_MESSAGES.some((text) => error.message.includes(text));
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Connection timeout',
  'not queryable',
  'terminating connection',
  'the database system is',
];

/** A short, password-free description of a database error for logs and /readyz. */
export function describeDatabaseError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

/**
 * The error a caller of a read gets: a database that cannot be reached is the core's
 * `store-unavailable` (the doors answer 503, saying why); any other error stays as it is.
 */
export function asStoreError(error: unknown): unknown {
  return isDatabaseUnavailable(error) ? new BrokerError('store-unavailable', `the database is unavailable: ${describeDatabaseError(error)}`) : error;
}
