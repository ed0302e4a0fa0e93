import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The admin page's policy: scripts, styles, images and API calls from this origin only (the page
 * has no inline script, style attribute or handler), never framed, no plugins, no <base> games.
 */
export const ADMIN_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Headers that keep a browser from turning a server's answers against its user: a
 * Content-Security-Policy, no framing (clickjacking), no content sniffing. Set on every answer
 * of the server, before any handler runs, so errors and 404s carry them too.
 */
export function addSecurityHeaders(app: FastifyInstance, contentSecurityPolicy: string): void {
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.header('content-security-policy', contentSecurityPolicy).header('x-frame-options', 'DENY').header('x-content-type-options', 'nosniff');
    done();
  });
}

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether a request carries a body (or says it will). */
export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

const isJson = (contentType: string): boolean => contentType.split(';')[0]!.trim().toLowerCase() === 'application/json';

/**
 * Changes only as `application/json`, answered before the body is read. A page on another site can
 * make the browser send a form or `text/plain` POST with the user's cached Basic credentials,
 * without asking the server first; a JSON request from there needs a CORS preflight, which this
 * server never grants. A mutating request without a body and without a Content-Type passes (a
 * DELETE, a bodiless POST).
 */
export function requireJsonChanges(app: FastifyInstance, refuse: (reply: FastifyReply, status: number, reason: string) => FastifyReply): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!MUTATING_METHODS.has(request.method)) return;
    const contentType = request.headers['content-type'] || undefined;
    if (contentType === undefined ? !hasBody(request) : isJson(contentType)) return;
    const reason = contentType === undefined ? 'a request body needs Content-Type: application/json' : `unsupported content type '${contentType}': send application/json`;
    return refuse(reply, 415, reason);
  });
}

/**
 * Changes only from this origin. A bodiless POST or DELETE needs no preflight, so a page on
 * another site could still send one with the user's cached Basic credentials (replay every dead
 * delivery, close a connection). Browsers say where such a request comes from (`Sec-Fetch-Site`,
 * `Origin`); a request that says another site is refused with 403. Clients that are not browsers
 * (curl, rabbitmqadmin, the AMQP tools) send neither header and pass.
 */
export function refuseCrossSiteChanges(app: FastifyInstance, refuse: (reply: FastifyReply, status: number, reason: string) => FastifyReply): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!MUTATING_METHODS.has(request.method)) return;
    const site = request.headers['sec-fetch-site'];
    const origin = request.headers.origin;
    const crossSite = site !== undefined ? site !== 'same-origin' && site !== 'none' : origin !== undefined && !sameOrigin(origin, request.headers.host);
    if (crossSite) return refuse(reply, 403, `cross-site request refused: changes are accepted only from this server's own pages`);
  });
}

/** Whether an Origin header names the host the request was sent to (any scheme: TLS may end at a proxy). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
