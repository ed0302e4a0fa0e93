import fastify, { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Broker, BrokerError, isLoopbackAddress } from '#core';
import {
  BROKER_ERROR_HTTP_STATUS,
  BodyTooLargeError,
  ClientGoneError,
  closeGracefully,
  SHUTDOWN_GRACE_MS,
  FastAnswer,
  FastPath,
  FastRequest,
  headerLines,
  HttpAuthenticator,
  HttpAuthError,
  httpServerOptions,
  readRawBody,
} from '#http-kit';
import type { Logger } from '#observability';
import type { DeliveryOptions } from '../delivery-options';
import { badField, DeliveryRequestError } from '../domain/delivery-errors';
import { DELIVERY_STATES, DeliveryFilter, DeliveryState } from '../domain/delivery-index';
import { parseDeliveryRequest } from '../domain/delivery-request';
import type { DeliveryService } from '../domain/delivery-service';
import { DestinationPermission } from '../domain/destination-permission';
import { deliveryView } from './delivery-json';

/** A route; `user` is the authenticated broker user, or null when the door asks for no credentials. */
type Handler = (request: FastifyRequest, reply: FastifyReply, user: string | null) => Promise<void>;

/** An answer, whichever HTTP path carries it: status, JSON body, extra headers. */
interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Idle keep-alive connections are closed after this (both HTTP paths). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const METHOD_NOT_ALLOWED: Answer = { status: 405, body: { error: 'POST a delivery to / (or /deliveries)' }, headers: { allow: 'POST' } };

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

/**
 * The delivery API on DISPATCH_PORT. Intake is Dispatcher's: `POST /` (and, as Dispatcher
 * does, a POST to any path that is not one of the routes below) with its JSON body; `POST
 * /deliveries` is the same. Handlers answer in route `onRequest` hooks and read bodies from the
 * raw stream (see readRawBody).
 */
export class DeliveryHttpServer {
  private readonly app: FastifyInstance;
  private readonly authenticator: HttpAuthenticator;
  private readonly permission: DestinationPermission;
  /** Serves intake (`/`) in front of Fastify; null when off or not installable. */
  private readonly fastPath: FastPath | null;

  constructor(
    private readonly broker: Broker,
    private readonly service: DeliveryService,
    private readonly options: DeliveryOptions,
    private readonly logger: Logger,
  ) {
    this.app = fastify({
      ...httpServerOptions(options.timeouts, options.tls),
      forceCloseConnections: 'idle',
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      logger: false,
      return503OnClosing: true,
    });
    this.authenticator = new HttpAuthenticator(broker.users, options.auth);
    this.permission = new DestinationPermission(broker.users, options.vhost);
    const app = this.app;
    app.removeAllContentTypeParsers();
    const route = (method: HTTPMethods | HTTPMethods[], url: string, handler: Handler): void => {
      app.route({
        method,
        url,
        onRequest: async (request, reply) => {
          try {
            await handler(request, reply, await this.authenticate(request));
          } catch (error) {
            this.fail(reply, error);
          }
          return reply;
        },
        handler: async () => undefined, // never reached: onRequest answers
      });
    };
    const intake: Handler = (q, r, u) => this.intake(q, r, u);
    route('POST', '/', intake);
    route('POST', '/deliveries', intake);
    route(['GET', 'PUT', 'PATCH', 'DELETE'], '/', async (_q, reply) => answer(reply, METHOD_NOT_ALLOWED));
    route('GET', '/deliveries', (q, r) => this.list(q, r));
    route('POST', '/deliveries/replay', (q, r, u) => this.replayMany(q, r, u));
    route('GET', '/deliveries/:id', (q, r) => this.show(q, r));
    route('DELETE', '/deliveries/:id', (q, r, u) => this.cancel(q, r, u));
    route('POST', '/deliveries/:id/replay', (q, r, u) => this.replayOne(q, r, u));
    app.setNotFoundHandler(async (request, reply) => {
      try {
        const user = await this.authenticate(request);
        if (request.method === 'POST') await this.intake(request, reply, user);
        else json(reply, 404, { error: `no route ${request.method} ${request.url}` });
      } catch (error) {
        this.fail(reply, error);
      }
    });
    this.fastPath = options.fastPath
      ? FastPath.install(app.server, options.tls !== null, new Map([['/', this.fastIntake]]), {
          keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
          headersTimeoutMs: options.timeouts.headersTimeoutMs,
          requestTimeoutMs: options.timeouts.requestTimeoutMs,
          maxBodyBytes: options.maxBodyBytes,
        })
      : null;
    if (options.fastPath && this.fastPath === null) logger.warn('the delivery API fast path could not be installed on this Node version: every request goes through Fastify');
  }

  /**
   * The caller (when the door asks for credentials), who must have access to the delivery
   * vhost; null when the door is open.
   */
  private async authenticate(request: FastifyRequest): Promise<string | null> {
    if (!this.authenticator.enabled) return null;
    return this.userOf(request.headers.authorization, request.ip);
  }

  private async userOf(authorization: string | undefined, remoteAddress: string | undefined): Promise<string> {
    const user = await this.authenticator.authenticate(authorization, remoteAddress);
    const vhost = this.options.vhost;
    if (!this.broker.users.mayUseVhost(user, vhost)) throw new DeliveryRequestError(403, `access to vhost '${vhost}' refused for user '${user}'`);
    return user;
  }

  /** Sending to (and replaying or cancelling for) a destination: see DestinationPermission. */
  private authorizeDestination(user: string | null, url: string): void {
    if (user === null) return;
    const refusal = this.permission.refusal(user, url);
    if (refusal !== null) throw new DeliveryRequestError(403, refusal);
  }

  private async intake(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    answer(reply, await this.intakeAnswer(await readRawBody(request.raw, this.options.maxBodyBytes), user));
  }

  /** A delivery request's answer, whichever HTTP path read it; throws the request's errors. */
  private async intakeAnswer(body: Buffer | undefined, user: string | null): Promise<Answer> {
    const delivery = parseDeliveryRequest(body);
    this.authorizeDestination(user, delivery.url);
    const accepted = await this.service.accept(delivery, user);
    // a new delivery is answered as accepted (pending), even if the worker already took it;
    // a repeated UUID with its state now
    const document: Record<string, unknown> = { uuid: accepted.record.id, state: accepted.status === 202 ? 'pending' : accepted.record.state };
    if (accepted.status === 200) document.duplicate = true;
    return { status: accepted.status, body: document };
  }

  private async show(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const id = (request.params as { id: string }).id;
    const record = await this.service.lookup(id);
    if (record === undefined) json(reply, 404, { error: `no delivery '${id}'` });
    else json(reply, 200, deliveryView(record));
  }

  private async list(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const query = request.query as Record<string, string | undefined>;
    const filter = filterOf(query);
    const limit = query.limit === undefined ? DEFAULT_PAGE : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw badField('limit', `limit must be an integer from 1 to ${MAX_PAGE}`);
    const after = query.after === undefined ? 0 : Number(query.after);
    if (!Number.isInteger(after) || after < 0) throw badField('after', 'after must be a cursor from an earlier page');
    const listed = this.service.list(filter, after, limit);
    const page = listed instanceof Promise ? await listed : listed;
    const last = page[page.length - 1];
    json(reply, 200, { deliveries: page.map(deliveryView), next: page.length === limit && last !== undefined ? String(last.acceptNo) : null });
  }

  private async replayOne(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    const id = (request.params as { id: string }).id;
    await this.authorizeRecord(user, id);
    await this.service.replay({ id }, user);
    json(reply, 200, { uuid: id, state: 'pending', replayed: 1 });
  }

  /** A delivery's destination, checked as at intake; an unknown id is left to answer 404. */
  private async authorizeRecord(user: string | null, id: string): Promise<void> {
    const record = user === null ? undefined : await this.service.lookup(id);
    if (record !== undefined) this.authorizeDestination(user, record.url);
  }

  private async replayMany(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    const body = await readRawBody(request.raw, this.options.maxBodyBytes);
    let fields: Record<string, string | undefined> = request.query as Record<string, string | undefined>;
    if (body !== undefined && body.length > 0) {
      try {
        const parsed = JSON.parse(body.toString('utf8')) as unknown;
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        fields = { ...fields, ...Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v === undefined || v === null ? undefined : String(v)])) };
      } catch (error) {
        throw badField('body', `invalid JSON filter: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const filter = filterOf(fields);
    if (filter.state !== undefined && filter.state !== 'dead') throw badField('state', 'only dead deliveries are replayed');
    if (user !== null) {
      if (filter.host === undefined) throw new DeliveryRequestError(403, 'give host: a bulk replay is allowed one destination at a time when the door asks for credentials');
      this.authorizeDestination(user, `http://${filter.host}/`);
    }
    json(reply, 200, { replayed: await this.service.replay(filter, user) });
  }

  private async cancel(request: FastifyRequest, reply: FastifyReply, user: string | null): Promise<void> {
    const id = (request.params as { id: string }).id;
    await this.authorizeRecord(user, id);
    json(reply, 200, deliveryView(await this.service.cancel(id)));
  }

  private fail(reply: FastifyReply, error: unknown): void {
    const failure = this.errorAnswer(error);
    if (failure !== null) answer(reply, failure);
  }

  /** The answer to a request that failed with `error`; null when its client went away. */
  private errorAnswer(error: unknown): Answer | null {
    if (error instanceof HttpAuthError) return { status: 401, body: { error: error.message }, headers: { 'www-authenticate': 'Basic realm="deliveries"' } };
    if (error instanceof DeliveryRequestError) {
      return { status: error.status, body: error.field !== undefined ? { error: error.message, field: error.field } : { error: error.message } };
    }
    if (error instanceof ClientGoneError) {
      this.logger.debug('delivery API client went away mid-request');
      return null;
    }
    if (error instanceof BodyTooLargeError) return { status: 413, body: { error: error.message, field: 'body' }, headers: error.declared ? { connection: 'close' } : undefined };
    if (error instanceof BrokerError) return { status: BROKER_ERROR_HTTP_STATUS[error.kind], body: { error: error.message } };
    this.logger.error({ err: error }, 'delivery API request failed');
    return { status: 500, body: { error: 'internal error' } };
  }

  /**
   * Intake on the fast path: `POST /` answered without Node's per-request objects, with the same
   * documents and errors as on Fastify (other methods on `/`: 405, as there).
   */
  private readonly fastIntake = async (request: FastRequest): Promise<FastAnswer> => {
    let result: Answer;
    try {
      if (request.method !== 'POST') result = METHOD_NOT_ALLOWED;
      else {
        let user: string | null = null;
        if (this.authenticator.enabled) user = await this.userOf(request.authorization, request.remoteAddress);
        result = await this.intakeAnswer(request.body.length === 0 ? undefined : request.body, user);
      }
    } catch (error) {
      // a fast-path request is read whole before it is answered: its client cannot be gone mid-body
      result = this.errorAnswer(error) ?? { status: 500, body: { error: 'internal error' } };
    }
    return { status: result.status, body: JSON.stringify(result.body), headers: headerLines(result.headers) };
  };

  async listen(): Promise<number> {
    await this.app.listen({ port: this.options.port, host: this.options.host });
    const port = this.port;
    this.logger.info({ port, host: this.options.host, auth: this.options.auth.enabled }, 'delivery API listening');
    const host = this.options.host;
    if (!this.options.auth.enabled && host !== 'localhost' && !isLoopbackAddress(host)) {
      this.logger.warn({ host, port }, 'delivery API is open to the network without authentication: set DISPATCH_AUTH=true or DISPATCH_HOST=127.0.0.1');
    }
    return port;
  }

  get port(): number {
    return (this.app.server.address() as AddressInfo | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    await closeGracefully(this.app, SHUTDOWN_GRACE_MS, this.fastPath);
  }
}

function json(reply: FastifyReply, status: number, body: unknown): void {
  void reply.code(status).header('content-type', 'application/json').send(JSON.stringify(body));
}

function answer(reply: FastifyReply, { status, body, headers }: Answer): void {
  if (headers !== undefined) void reply.headers(headers);
  json(reply, status, body);
}

/** `state`, `host`, `since`, `until` (epoch ms or an ISO 8601 time) from a query or a JSON body. */
function filterOf(fields: Record<string, string | undefined>): DeliveryFilter {
  const filter: DeliveryFilter = {};
  if (fields.state !== undefined) {
    if (!DELIVERY_STATES.includes(fields.state as DeliveryState)) throw badField('state', `state must be one of ${DELIVERY_STATES.join(', ')}`);
    filter.state = fields.state as DeliveryState;
  }
  if (fields.host !== undefined) filter.host = fields.host;
  for (const name of ['since', 'until'] as const) {
    const raw = fields[name];
    if (raw === undefined) continue;
    const at = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (Number.isNaN(at)) throw badField(name, `${name} must be epoch milliseconds or an ISO 8601 time`);
    filter[name] = at;
  }
  return filter;
}
