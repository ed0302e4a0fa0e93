import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { UserRegistry } from '#core';
import { addSecurityHeaders, ADMIN_CONTENT_SECURITY_POLICY, hasBody, refuseCrossSiteChanges, requireJsonChanges } from '#http-kit';

/** RabbitMQ's error shape, as the management API's exception filter writes it. */
function rabbitError(reply: FastifyReply, status: number, reason: string): FastifyReply {
  const error = status === 401 ? 'not_authorized' : status === 415 ? 'unsupported_media_type' : status === 403 ? 'forbidden' : 'error';
  return reply.code(status).header('content-type', 'application/json').send(JSON.stringify({ error, reason }));
}

/**
 * The management port's browser-facing protections, as Fastify hooks that run before any route:
 * security headers on every answer, changes only as JSON, and credentials checked before a
 * request body is read, so an unauthenticated client cannot make the server take (or wait for) a
 * body. The route's guard still decides; a success here is in the login cache when it asks.
 */
export function hardenManagementServer(app: FastifyInstance, users: UserRegistry): void {
  addSecurityHeaders(app, ADMIN_CONTENT_SECURITY_POLICY);
  refuseCrossSiteChanges(app, rabbitError);
  requireJsonChanges(app, rabbitError);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.url.startsWith('/api/') || !hasBody(request)) return;
    const header = request.headers.authorization;
    const refuse = (reason: string): FastifyReply => {
      // as the guard: the admin page asks for its own login, a challenge would make the browser prompt
      if (request.headers['x-requested-with'] !== 'XMLHttpRequest') void reply.header('www-authenticate', 'Basic realm="RabbitMQ Management"');
      return rabbitError(reply, 401, reason);
    };
    if (header === undefined || !header.startsWith('Basic ')) return refuse('Login failed');
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return refuse('Login failed');
    const outcome = await users.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1), { source: request.ip, door: 'management' });
    if (outcome.refusal === 'loopback_only') return refuse('User can only log in via localhost');
    if (outcome.user === undefined) return refuse('Login failed');
    return undefined;
  });
}
