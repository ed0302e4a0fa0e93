import fastify, { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Broker, BrokerError, isLoopbackAddress } from '#core';
import { BodyTooLargeError, BROKER_ERROR_HTTP_STATUS, ClientGoneError, closeGracefully, HttpAuthenticator, HttpAuthError, httpServerOptions } from '#http-kit';
import type { Logger } from '#observability';
import { JobRequestError } from '../domain/job-errors';
import type { JobService } from '../domain/job-service';
import type { JobsOptions } from '../jobs-options';
import { JobsController, send } from './jobs-controller';
import { errorBody } from './job-responses';

const isLocalBind = (host: string): boolean => host === 'localhost' || isLoopbackAddress(host);

/** dispenserd never looks at the method. */
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * The job API's own Fastify instance on JOBS_PORT. Bodies are read as raw bytes whatever the
 * Content-Type (dispenserd's clients use `curl -d`, i.e. form-urlencoded), any method works on any
 * path, and unknown paths answer the status document, as dispenserd does.
 *
 * Handlers run as route-level `onRequest` hooks that answer the request themselves: the body is
 * read from the raw stream (request-body.ts) instead of through Fastify's content-type parsing,
 * which on Node 20 costs a deprecation wrapper per request (AsyncResource#bind) and halved the
 * request rate in bench/jobs.
 */
export class JobsHttpServer {
  readonly controller: JobsController;
  private readonly app: FastifyInstance;

  constructor(
    broker: Broker,
    jobs: JobService,
    private readonly options: JobsOptions,
    private readonly logger: Logger,
  ) {
    this.controller = new JobsController(jobs, options.maxBodyBytes);
    const authenticator = new HttpAuthenticator(broker.users, options.auth);
    const userOf = async (request: FastifyRequest): Promise<string | null> =>
      authenticator.enabled ? authenticator.authenticate(request.headers.authorization, request.ip) : null;
    this.app = fastify({
      ...httpServerOptions(options.timeouts, options.tls),
      bodyLimit: options.maxBodyBytes,
      forceCloseConnections: 'idle',
      keepAliveTimeout: 65_000,
      logger: false,
      return503OnClosing: true,
    });
    const app = this.app;
    app.removeAllContentTypeParsers();
    const answered = async (): Promise<void> => undefined; // never reached: onRequest answers
    const routes = { ...this.controller.routes(), '/': this.controller.status };
    for (const [path, handler] of Object.entries(routes)) {
      app.route({
        method: ALL_METHODS,
        url: path,
        onRequest: async (request, reply) => {
          await handler(request, reply, await userOf(request));
          return reply;
        },
        handler: answered,
      });
    }
    app.setNotFoundHandler(async (request, reply) => this.controller.status(request, reply, await userOf(request)));
    app.setErrorHandler((error: FastifyError | JobRequestError | BrokerError | BodyTooLargeError | ClientGoneError | HttpAuthError, _request, reply) => {
      if (error instanceof ClientGoneError) {
        this.logger.debug('job API client went away mid-request');
        return;
      }
      if (error instanceof BodyTooLargeError) {
        // announced in Content-Length: answer now and close rather than read it all
        if (error.declared) void reply.header('connection', 'close');
        send(reply, 413, errorBody(1, error.message));
        return;
      }
      if (error instanceof HttpAuthError) {
        void reply.header('www-authenticate', 'Basic realm="jobs"');
        send(reply, 401, errorBody(1, error.message));
        return;
      }
      if (error instanceof JobRequestError) {
        send(reply, error.status, errorBody(error.code, error.message));
        return;
      }
      if (error instanceof BrokerError) {
        send(reply, BROKER_ERROR_HTTP_STATUS[error.kind], errorBody(error.kind === 'not-found' ? 3 : 1, error.message));
        return;
      }
      if (error.statusCode === 413) {
        send(reply, 413, errorBody(1, `request body is larger than the limit of ${options.maxBodyBytes} bytes`));
        return;
      }
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        send(reply, error.statusCode, errorBody(1, error.message));
        return;
      }
      this.logger.error({ err: error }, 'job API request failed');
      send(reply, 500, errorBody(1, 'internal error'));
    });
  }

  async listen(): Promise<number> {
    await this.app.listen({ port: this.options.port, host: this.options.host });
    const port = (this.app.server.address() as AddressInfo).port;
    this.logger.info({ port, host: this.options.host, auth: this.options.auth.enabled }, 'job API listening');
    if (!this.options.auth.enabled && !isLocalBind(this.options.host)) {
      this.logger.warn({ host: this.options.host, port }, 'job API is open to the network without authentication: set JOBS_AUTH=true or JOBS_HOST=127.0.0.1');
    }
    return port;
  }

  get port(): number {
    return (this.app.server.address() as AddressInfo | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    this.controller.close();
    await closeGracefully(this.app);
  }
}
