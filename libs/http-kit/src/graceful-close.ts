import type { FastifyInstance } from 'fastify';
import type { FastPath } from './fast-path/fast-path';

/** How long requests in flight get to finish at shutdown before their sockets are cut. */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Closes a door's Fastify instance the way a restart should look to clients: idle keep-alive
 * sockets are closed at once (Fastify's `forceCloseConnections: 'idle'`), requests in flight
 * finish and are answered, and only what is still open after the grace period is cut.
 */
export async function closeGracefully(app: FastifyInstance, graceMs = SHUTDOWN_GRACE_MS, fastPath: FastPath | null = null): Promise<void> {
  const cut = setTimeout(() => {
    app.server.closeAllConnections();
    fastPath?.destroyAll();
  }, graceMs);
  cut.unref();
  try {
    // the server only closes once the fast path's connections are gone too
    fastPath?.close();
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}
