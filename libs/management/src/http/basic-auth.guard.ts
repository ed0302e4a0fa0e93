import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Broker, UserDefinition } from '#core';
import { ManagementAuthorization } from '../authz/management-authorization';
import { ManagementTag, REQUIRED_TAG } from '../authz/requires.decorator';

/** The authenticated user of a management request. */
export interface AuthenticatedRequest extends FastifyRequest {
  user?: UserDefinition;
}

/**
 * HTTP basic auth against the broker's users, as RabbitMQ's management plugin: 401 without or
 * with wrong credentials; then the tag the route needs (`@Requires`, else any management tag),
 * 401 `not_authorised` without it. Per-vhost and per-resource checks are the handlers' (through
 * ManagementAuthorization).
 */
@Injectable()
export class BasicAuthGuard implements CanActivate {
  constructor(
    @Inject(Broker) private readonly broker: Broker,
    @Inject(ManagementAuthorization) private readonly authorization: ManagementAuthorization,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const reply = http.getResponse<FastifyReply>();
    const refuse = (reason: string): never => {
      // the admin page asks for its own login: a challenge would make the browser prompt instead
      if (request.headers['x-requested-with'] !== 'XMLHttpRequest') void reply.header('www-authenticate', 'Basic realm="RabbitMQ Management"');
      throw new UnauthorizedException(reason);
    };
    const header = request.headers.authorization;
    if (header === undefined || !header.startsWith('Basic ')) return refuse('Login failed');
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return refuse('Login failed');
    const outcome = await this.broker.users.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1), { source: request.ip, door: 'management' });
    if (outcome.refusal === 'loopback_only') return refuse(`User can only log in via localhost`);
    const user = outcome.user;
    if (user === undefined) return refuse('Login failed');
    // any management tag first: a user without one is told so, whatever the route needs
    this.authorization.requireTag(user, 'management');
    const tag = this.reflector.getAllAndOverride<ManagementTag | undefined>(REQUIRED_TAG, [context.getHandler(), context.getClass()]);
    if (tag !== undefined) this.authorization.requireTag(user, tag);
    request.user = user;
    return true;
  }
}
