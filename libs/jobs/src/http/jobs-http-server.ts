import fastify, { FastifyInstance, FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Broker, isLoopbackAddress } from '#core';
import { closeGracefully, FastPath, HttpAuthenticator, httpServerOptions, SHUTDOWN_GRACE_MS } from '#http-kit';
import type { Logger } from '#observability';
import type { JobService } from '../domain/job-service';
import type { JobsOptions } from '../jobs-options';
import { jobErrorAnswer } from './job-error-answer';
import { jobsFastRoutes } from './jobs-fast-routes';
import { JobRoutes, send } from './job-routes';

/** Idle keep-alive connections are closed after this (both HTTP paths). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

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
  readonly routes: JobRoutes;
  private readonly app: FastifyInstance;
  /** Serves /schedule, /receive_noblock and /ack in front of Fastify; null when off or not installable. */
  readonly fastPath: FastPath | null;

  constructor(
    broker: Broker,
    jobs: JobService,
    private readonly options: JobsOptions,
    private readonly logger: Logger,
  ) {
    this.routes = new JobRoutes(jobs, options.maxBodyBytes);
    const authenticator = new HttpAuthenticator(broker.users, options.auth);
    const userOf = async (request: FastifyRequest): Promise<string | null> =>
      authenticator.enabled ? authenticator.authenticate(request.headers.authorization, request.ip) : null;
    this.app = fastify({
      ...httpServerOptions(options.timeouts, options.tls),
      bodyLimit: options.maxBodyBytes,
      forceCloseConnections: 'idle',
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      logger: false,
      return503OnClosing: true,
    });
    const app = this.app;
    app.removeAllContentTypeParsers();
    const answered = async (): Promise<void> => undefined; // never reached: onRequest answers
    const routes = { ...this.routes.byPath(), '/': this.routes.status };
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
    app.setNotFoundHandler(async (request, reply) => this.routes.status(request, reply, await userOf(request)));
    app.setErrorHandler((error: unknown, _request, reply) => {
      const answer = jobErrorAnswer(error, options.maxBodyBytes);
      if (answer === null) {
        this.logger.debug('job API client went away mid-request');
        return;
      }
      if (answer.unexpected) this.logger.error({ err: error }, 'job API request failed');
      if (answer.headers) void reply.headers(answer.headers);
      send(reply, answer.status, answer.body);
    });
    this.fastPath = options.fastPath
      ? FastPath.install(app.server, options.tls !== null, jobsFastRoutes(this.routes, authenticator, options.maxBodyBytes, logger), {
          keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
          headersTimeoutMs: options.timeouts.headersTimeoutMs,
          requestTimeoutMs: options.timeouts.requestTimeoutMs,
        })
      : null;
    if (options.fastPath && this.fastPath === null) logger.warn('the job API fast path could not be installed on this Node version: every request goes through Fastify');
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
    this.routes.close();
    await closeGracefully(this.app, SHUTDOWN_GRACE_MS, this.fastPath);
  }
}
