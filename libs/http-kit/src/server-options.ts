import type { SecureContextOptions } from 'node:tls';

/** Time limits of an HTTP door's requests. */
export interface HttpTimeouts {
  /** The whole request (headers and body) must arrive within this; 0 = no limit. */
  requestTimeoutMs: number;
  /** The headers must arrive within this. */
  headersTimeoutMs: number;
}

/** TLS for an HTTP door: PEM key and certificate, and optionally client certificates to ask for. */
export interface HttpTls extends Pick<SecureContextOptions, 'key' | 'cert' | 'ca'> {
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

/**
 * The Fastify options that put the limits (and TLS) on a door's HTTP server: Node checks the
 * timeouts every `connectionsCheckingInterval`, so that interval follows the shortest limit. A
 * client trickling its body in is dropped at the limit instead of holding a socket forever.
 */
export function httpServerOptions(timeouts: HttpTimeouts, tls: HttpTls | null): Record<string, unknown> {
  const shortest = Math.min(...[timeouts.requestTimeoutMs, timeouts.headersTimeoutMs].filter((t) => t > 0));
  const server = {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: Number.isFinite(shortest) ? Math.max(100, Math.min(30_000, Math.floor(shortest / 2))) : 30_000,
  };
  const options: Record<string, unknown> = { requestTimeout: timeouts.requestTimeoutMs };
  if (tls !== null) options.https = { ...server, ...tls };
  else options.http = server;
  return options;
}
