import { PoliciesController } from './controllers/policies.controller';
import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AccessController } from './controllers/access.controller';
import { DefinitionsController } from './controllers/definitions.controller';
import { DeliveriesController } from './controllers/deliveries.controller';
import { DoorsController } from './controllers/doors.controller';
import { HealthController, OverviewController } from './controllers/overview.controller';
import { SessionsController } from './controllers/sessions.controller';
import { TopologyController } from './controllers/topology.controller';
import { UiController } from './controllers/ui.controller';
import { VhostLimitsController } from './controllers/vhost-limits.controller';
import { ManagementAuthorization } from './authz/management-authorization';
import { BasicAuthGuard } from './http/basic-auth.guard';
import { RabbitErrorFilter } from './http/rabbit-error.filter';
import { ManagementService } from './management.service';

/**
 * The management layer on MANAGEMENT_PORT: RabbitMQ's management HTTP API (a compatible subset),
 * health endpoints and the admin page, on the Nest application's Fastify instance.
 */
@Module({
  controllers: [OverviewController, HealthController, AccessController, TopologyController, SessionsController, DefinitionsController, PoliciesController, DoorsController, DeliveriesController, VhostLimitsController, UiController],
  providers: [ManagementService, ManagementAuthorization, BasicAuthGuard, { provide: APP_FILTER, useClass: RabbitErrorFilter }],
  exports: [ManagementService],
})
export class ManagementModule {}
