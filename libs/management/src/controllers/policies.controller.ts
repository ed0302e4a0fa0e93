import { Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Put, Res, UseGuards } from '@nestjs/common';
import { IsIn, IsInt, IsObject, IsOptional, IsString } from 'class-validator';
import type { FastifyReply } from 'fastify';
import type { PolicyTarget, PolicyValue, UserDefinition } from '#core';
import { ManagementAuthorization } from '../authz/management-authorization';
import { CurrentUser } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { RabbitBody } from '../http/rabbit-body.pipe';
import { ManagementService } from '../management.service';
import type { PolicyDto } from '../dto';
import { policyView } from '../views/rabbit-views';

const TARGETS: PolicyTarget[] = ['queues', 'classic_queues', 'quorum_queues', 'exchanges', 'all'];

export class PolicyBody {
  @IsString() pattern!: string;
  @IsObject() definition!: Record<string, PolicyValue>;
  @IsOptional() @IsInt() priority?: number;
  @IsOptional() @IsIn(TARGETS) 'apply-to'?: PolicyTarget;
  /** RabbitMQ's clients repeat the vhost in the body; it must be the path's. */
  @IsOptional() @IsString() vhost?: string;
  @IsOptional() @IsString() name?: string;
}

/**
 * Policies, as RabbitMQ's /api/policies: queue settings by name pattern, durable, applied at once.
 * Any management user lists those of its vhosts; one policy is seen, set or deleted by
 * policymakers in their vhosts and by administrators.
 */
@Controller('api')
@UseGuards(BasicAuthGuard)
export class PoliciesController {
  constructor(
    @Inject(ManagementService) private readonly m: ManagementService,
    @Inject(ManagementAuthorization) private readonly authz: ManagementAuthorization,
  ) {}

  @Get('policies')
  all(@CurrentUser() user: UserDefinition): PolicyDto[] {
    return this.m.broker.policies
      .list()
      .filter((p) => this.authz.listsResourcesOf(user, p.vhost))
      .map(policyView);
  }

  @Get('policies/:vhost')
  ofVhost(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string): PolicyDto[] {
    this.authz.requireVhost(user, vhost);
    this.m.vhost(vhost);
    return this.m.broker.policies.list(vhost).map(policyView);
  }

  @Get('policies/:vhost/:name')
  one(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string): PolicyDto {
    this.authz.requirePolicy(user, vhost);
    this.m.vhost(vhost);
    const policy = this.m.broker.policies.get(vhost, name);
    if (policy === undefined) throw new NotFoundException('Not Found');
    return policyView(policy);
  }

  @Put('policies/:vhost/:name')
  async put(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string, @Body(RabbitBody) body: PolicyBody, @Res() reply: FastifyReply): Promise<void> {
    this.authz.requirePolicy(user, vhost, body.definition);
    this.m.vhost(vhost);
    const existed = this.m.broker.policies.get(vhost, name) !== undefined;
    this.m.broker.policies.put({ vhost, name, pattern: body.pattern, applyTo: body['apply-to'] ?? 'all', priority: body.priority ?? 0, definition: body.definition });
    await this.m.broker.whenDurable();
    void reply.code(existed ? 204 : 201).send();
  }

  @Delete('policies/:vhost/:name')
  @HttpCode(204)
  async delete(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string): Promise<void> {
    this.authz.requirePolicy(user, vhost);
    this.m.vhost(vhost);
    this.m.broker.policies.delete(vhost, name);
    await this.m.broker.whenDurable();
  }
}
