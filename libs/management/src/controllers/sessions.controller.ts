import { Controller, Delete, Get, Headers, HttpCode, Inject, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { ListQuery, paged } from '../http/pagination';
import { ManagementService } from '../management.service';
import { channelView } from '../views/rabbit-views';

/** Connections, channels and consumers from the doors' session registries. */
@Controller('api')
@UseGuards(BasicAuthGuard)
export class SessionsController {
  constructor(@Inject(ManagementService) private readonly m: ManagementService) {}

  @Get('connections')
  connections(@Query() query: ListQuery): unknown {
    return paged(this.m.connectionViews(), query);
  }

  @Get('vhosts/:vhost/connections')
  vhostConnections(@Param('vhost') vhost: string): unknown {
    this.m.vhost(vhost);
    return this.m.connectionViews().filter((c) => c.vhost === vhost);
  }

  @Get('connections/:name')
  connection(@Param('name') name: string): unknown {
    const found = this.m.connectionViews().find((c) => c.name === name);
    if (found === undefined) throw new NotFoundException('Not Found');
    return found;
  }

  /** Closes it with 320 CONNECTION_FORCED and the reason from `X-Reason`, as RabbitMQ. */
  @Delete('connections/:name')
  @HttpCode(204)
  close(@Param('name') name: string, @Headers('x-reason') reason?: string): void {
    const session = this.m.sessionNamed(name);
    if (session === undefined) throw new NotFoundException('Not Found');
    this.m.broker.sessions.close(session.id, reason ?? 'Closed via management plugin');
  }

  @Get('connections/:name/channels')
  connectionChannels(@Param('name') name: string): unknown {
    const session = this.m.sessionNamed(name);
    if (session === undefined) throw new NotFoundException('Not Found');
    return session.channels.map((c) => channelView(session, c));
  }

  @Get('channels')
  channels(@Query() query: ListQuery): unknown {
    return paged(this.m.channelViews(), query);
  }

  @Get('vhosts/:vhost/channels')
  vhostChannels(@Param('vhost') vhost: string): unknown {
    return this.m.channelViews().filter((c) => c.vhost === vhost);
  }

  @Get('channels/:name')
  channel(@Param('name') name: string): unknown {
    const found = this.m.channelViews().find((c) => c.name === name);
    if (found === undefined) throw new NotFoundException('Not Found');
    return found;
  }

  @Get('consumers')
  consumers(): unknown {
    return this.m.consumerViews();
  }

  @Get('consumers/:vhost')
  vhostConsumers(@Param('vhost') vhost: string): unknown {
    this.m.vhost(vhost);
    return this.m.consumerViews(vhost);
  }
}
