import { Controller, Delete, Get, Headers, HttpCode, Inject, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import type { SessionSnapshot, UserDefinition } from '#core';
import { ManagementAuthorization } from '../authz/management-authorization';
import { CurrentUser } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { ListQuery, paged } from '../http/pagination';
import { ManagementService } from '../management.service';
import type { ChannelDto, ConnectionDto, ConsumerDto, Paged } from '../dto';
import { channelView } from '../views/rabbit-views';

/**
 * Connections, channels and consumers from the doors' session registries. Each user sees its own;
 * monitoring users (and administrators) see everyone's; a user closes its own connections, an
 * administrator any (RabbitMQ's is_authorized_user).
 */
@Controller('api')
@UseGuards(BasicAuthGuard)
export class SessionsController {
  constructor(
    @Inject(ManagementService) private readonly m: ManagementService,
    @Inject(ManagementAuthorization) private readonly authz: ManagementAuthorization,
  ) {}

  @Get('connections')
  connections(@CurrentUser() user: UserDefinition, @Query() query: ListQuery): Paged<ConnectionDto> {
    return paged(this.m.connectionViews(this.shownTo(user)), query);
  }

  @Get('vhosts/:vhost/connections')
  vhostConnections(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string): ConnectionDto[] {
    this.authz.requireVhost(user, vhost);
    this.m.vhost(vhost);
    return this.m.connectionViews(this.shownTo(user)).filter((c) => c.vhost === vhost);
  }

  @Get('connections/:name')
  connection(@CurrentUser() user: UserDefinition, @Param('name') name: string): ConnectionDto {
    const session = this.session(user, name, 'see');
    const found = this.m.connectionViews((s) => s.id === session.id)[0];
    if (found === undefined) throw new NotFoundException('Not Found');
    return found;
  }

  /** Closes it with 320 CONNECTION_FORCED and the reason from `X-Reason`, as RabbitMQ. */
  @Delete('connections/:name')
  @HttpCode(204)
  close(@CurrentUser() user: UserDefinition, @Param('name') name: string, @Headers('x-reason') reason?: string): void {
    const session = this.session(user, name, 'close');
    this.m.broker.sessions.close(session.id, reason ?? 'Closed via management plugin');
  }

  @Get('connections/:name/channels')
  connectionChannels(@CurrentUser() user: UserDefinition, @Param('name') name: string): ChannelDto[] {
    const session = this.session(user, name, 'see');
    return session.channels.map((c) => channelView(session, c));
  }

  @Get('channels')
  channels(@CurrentUser() user: UserDefinition, @Query() query: ListQuery): Paged<ChannelDto> {
    return paged(this.m.channelViews(this.shownTo(user)), query);
  }

  @Get('vhosts/:vhost/channels')
  vhostChannels(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string): ChannelDto[] {
    this.authz.requireVhost(user, vhost);
    return this.m.channelViews(this.shownTo(user)).filter((c) => c.vhost === vhost);
  }

  @Get('channels/:name')
  channel(@CurrentUser() user: UserDefinition, @Param('name') name: string): ChannelDto {
    const found = this.m.channelViews().find((c) => c.name === name);
    if (found === undefined) throw new NotFoundException('Not Found');
    this.authz.requireSession(user, found.user, 'see');
    return found;
  }

  @Get('consumers')
  consumers(@CurrentUser() user: UserDefinition): ConsumerDto[] {
    return this.m.consumerViews(undefined, this.shownTo(user));
  }

  /** As RabbitMQ 3.10, no vhost check: the list holds only what the user may see anyway. */
  @Get('consumers/:vhost')
  vhostConsumers(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string): ConsumerDto[] {
    this.m.vhost(vhost);
    return this.m.consumerViews(vhost, this.shownTo(user));
  }

  /** The user's own sessions, or everyone's for monitoring users. */
  private shownTo(user: UserDefinition): (s: SessionSnapshot) => boolean {
    return this.authz.seesEverySession(user) ? () => true : (s) => s.user === user.name;
  }

  private session(user: UserDefinition, name: string, action: 'see' | 'close'): SessionSnapshot {
    const session = this.m.sessionNamed(name);
    if (session === undefined) throw new NotFoundException('Not Found');
    this.authz.requireSession(user, session.user, action);
    return session;
  }
}
