// Small helpers the HTTP doors share (they may not import each other).
export { BodyTooLargeError, ClientGoneError, readRawBody } from './raw-body';
export { BROKER_ERROR_HTTP_STATUS } from './broker-error-status';
export { wellFormed } from './well-formed';
export { httpServerOptions } from './server-options';
export { addSecurityHeaders, ADMIN_CONTENT_SECURITY_POLICY, hasBody, refuseCrossSiteChanges, requireJsonChanges } from './browser-hardening';
export type { HttpTimeouts, HttpTls } from './server-options';
export { HttpAuthenticator, HttpAuthError } from './http-auth';
export type { HttpAuthOptions } from './http-auth';
export { closeGracefully, SHUTDOWN_GRACE_MS } from './graceful-close';
export { FastPath } from './fast-path/fast-path';
export type { FastPathOptions } from './fast-path/fast-path';
export { headerLines } from './fast-path/fast-connection';
export type { FastAnswer, FastRoute } from './fast-path/fast-connection';
export type { FastRequest } from './fast-path/fast-request-parser';
