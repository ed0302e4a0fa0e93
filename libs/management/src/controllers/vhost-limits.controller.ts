import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, Param, Put, UseGuards } from '@nestjs/common';
import type { UserDefinition } from '#core';
import { ManagementAuthorization } from '../authz/management-authorization';
import { CurrentUser, Requires } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { ManagementService } from '../management.service';
import type { VhostLimitsDto } from '../dto';

/**
 * Vhost limits, as RabbitMQ's /api/vhost-limits (rabbit_mgmt_wm_limits, rabbit_mgmt_wm_limit):
 * `max-connections` and `max-queues` per vhost, -1 for no limit. Any management user reads the
 * limits of the vhosts it sees (monitoring users and administrators: all); only administrators
 * set or clear one.
 */
@Controller('api')
@UseGuards(BasicAuthGuard)
export class VhostLimitsController {
  constructor(
    @Inject(ManagementService) private readonly m: ManagementService,
    @Inject(ManagementAuthorization) private readonly authz: ManagementAuthorization,
  ) {}

  @Get('vhost-limits')
  all(@CurrentUser() user: UserDefinition): VhostLimitsDto[] {
    // a vhost deleted meanwhile has no limits left; the check keeps a stale record from showing
    return this.m.broker.vhostLimits.list().filter((l) => this.m.broker.vhost(l.vhost) !== undefined && this.authz.listsVhost(user, l.vhost));
  }

  @Get('vhost-limits/:vhost')
  ofVhost(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string): VhostLimitsDto[] {
    this.authz.requireVisibleVhost(user, vhost);
    this.m.vhost(vhost);
    const value = this.m.broker.vhostLimits.get(vhost);
    return Object.keys(value).length === 0 ? [] : [{ vhost, value }];
  }

  @Put('vhost-limits/:vhost/:name')
  @Requires('administrator')
  @HttpCode(204)
  async put(@Param('vhost') vhost: string, @Param('name') name: string, @Body() body: unknown): Promise<void> {
    this.m.vhost(vhost);
    if (body === null || typeof body !== 'object' || !('value' in body)) throw new BadRequestException('the body must be a JSON object with the limit as "value", as {"value": 100}');
    this.m.broker.vhostLimits.set(vhost, name, body.value);
    await this.m.broker.whenDurable();
  }

  @Delete('vhost-limits/:vhost/:name')
  @Requires('administrator')
  @HttpCode(204)
  async delete(@Param('vhost') vhost: string, @Param('name') name: string): Promise<void> {
    this.m.vhost(vhost);
    this.m.broker.vhostLimits.clear(vhost, name);
    await this.m.broker.whenDurable();
  }
}
