import { BadRequestException, Body, Controller, Get, Inject, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { FieldTable, HashingAlgorithm } from '#core';
import { Requires } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { ManagementService } from '../management.service';
import { MANAGEMENT_VERSION, PRODUCT_NAME, PRODUCT_VERSION } from './overview.controller';
import { tagsOf } from './access.controller';
import type { DefinitionsDto, DefinitionsImport, VhostDefinitionsDto, VhostLimitsParameterDto } from '../dto';
import { jsonTableOf, permissionView, policyView, userView } from '../views/rabbit-views';

/**
 * Export and import of definitions in RabbitMQ's format (users, vhosts, permissions, policies,
 * vhost limits, exchanges, queues, bindings), so a topology moves from RabbitMQ to us and back. Users imported from
 * RabbitMQ keep their password hashes (its SHA-256/512 schemes are verified as such).
 * Administrators only, as RabbitMQ: an export holds every password hash, an import may create
 * users, permissions and anything else.
 */
@Controller('api')
@UseGuards(BasicAuthGuard)
@Requires('administrator')
export class DefinitionsController {
  constructor(@Inject(ManagementService) private readonly m: ManagementService) {}

  @Get('definitions')
  export(): DefinitionsDto {
    return this.definitions(this.m.vhostNames());
  }

  @Get('definitions/:vhost')
  exportVhost(@Param('vhost') vhost: string): VhostDefinitionsDto {
    this.m.vhost(vhost);
    const all = this.definitions([vhost]);
    return { rabbit_version: all.rabbit_version, exchanges: all.exchanges, queues: all.queues, bindings: all.bindings, policies: all.policies, parameters: all.parameters };
  }

  @Post('definitions')
  async import(@Body() body: DefinitionsImport, @Res() reply: FastifyReply): Promise<void> {
    if (body === null || typeof body !== 'object') throw new BadRequestException('definitions must be a JSON object');
    this.apply(body, undefined);
    await this.m.broker.whenDurable();
    void reply.code(204).send();
  }

  @Post('definitions/:vhost')
  async importVhost(@Param('vhost') vhost: string, @Body() body: DefinitionsImport, @Res() reply: FastifyReply): Promise<void> {
    this.m.vhost(vhost);
    this.apply({ exchanges: body.exchanges, queues: body.queues, bindings: body.bindings, policies: body.policies, parameters: body.parameters }, vhost);
    await this.m.broker.whenDurable();
    void reply.code(204).send();
  }

  private definitions(vhosts: string[]): DefinitionsDto {
    const exchanges = vhosts.flatMap((v) =>
      this.m
        .vhost(v)
        .exchangeSnapshots()
        .filter((e) => e.name !== '' && !e.name.startsWith('amq.') && e.durable)
        .map((e) => ({ name: e.name, vhost: e.vhost, type: e.type, durable: e.durable, auto_delete: e.autoDelete, internal: e.internal, arguments: jsonTableOf(e.arguments) })),
    );
    const queues = vhosts.flatMap((v) =>
      this.m
        .vhost(v)
        .queueSnapshots()
        .filter((q) => !q.exclusive)
        .map((q) => ({ name: q.name, vhost: q.vhost, durable: q.durable, auto_delete: q.autoDelete, arguments: jsonTableOf(q.arguments) })),
    );
    const bindings = vhosts.flatMap((v) =>
      this.m
        .vhost(v)
        .bindingSnapshots()
        .filter((b) => b.source !== '')
        .map((b) => ({ source: b.source, vhost: b.vhost, destination: b.destination, destination_type: b.destinationKind, routing_key: b.routingKey, arguments: jsonTableOf(b.arguments) })),
    );
    return {
      rabbit_version: MANAGEMENT_VERSION,
      rabbitmq_version: MANAGEMENT_VERSION,
      product_name: PRODUCT_NAME,
      product_version: PRODUCT_VERSION,
      users: this.m.broker.users.list().map(userView),
      vhosts: vhosts.map((name) => ({ name })),
      permissions: this.m.broker.users.listPermissions().map(permissionView),
      topic_permissions: [],
      parameters: vhosts.flatMap((vhost): VhostLimitsParameterDto[] => {
        const value = this.m.broker.vhostLimits.get(vhost);
        return Object.keys(value).length === 0 ? [] : [{ vhost, component: 'vhost-limits', name: 'limits', value }];
      }),
      global_parameters: [],
      policies: vhosts.flatMap((v) => this.m.broker.policies.list(v).map(policyView)),
      queues,
      exchanges,
      bindings,
    };
  }

  /** Applies definitions in dependency order; the first refusal stops with a 400 naming it. */
  private apply(body: DefinitionsImport, onlyVhost: string | undefined): void {
    const vhostOf = (name: string): string => onlyVhost ?? name;
    const step = (what: string, fn: () => void): void => {
      try {
        fn();
      } catch (error) {
        throw new BadRequestException(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    for (const v of body.vhosts ?? []) step(`vhost '${v.name}'`, () => this.m.broker.addVhost(v.name));
    for (const u of body.users ?? []) {
      step(`user '${u.name}'`, () => {
        const algorithm = (u.hashing_algorithm ?? 'rabbit_password_hashing_sha256') as HashingAlgorithm;
        this.m.broker.users.put(u.name, { passwordHash: u.password_hash ?? '', algorithm }, tagsOf(u.tags));
      });
    }
    for (const p of body.permissions ?? []) step(`permission of '${p.user}' in '${p.vhost}'`, () => this.m.broker.users.setPermission(p));
    // limits before queues, as RabbitMQ imports parameters before queues: a queue beyond max-queues is refused
    for (const p of body.parameters ?? []) {
      if (p.component !== 'vhost-limits') continue;
      step(`limits of vhost '${p.vhost}'`, () => {
        const vhost = vhostOf(p.vhost);
        this.m.broker.getVhost(vhost);
        if (p.value === null || typeof p.value !== 'object') throw new Error('the value must be an object of limits, as {"max-queues": 100}');
        this.m.broker.vhostLimits.replace(vhost, p.value);
      });
    }
    // policies before queues, so queues start with theirs
    for (const p of body.policies ?? []) {
      step(`policy '${p.name}'`, () => {
        const vhost = vhostOf(p.vhost);
        this.m.broker.addVhost(vhost);
        this.m.broker.policies.put({ vhost, name: p.name, pattern: p.pattern, applyTo: p['apply-to'] ?? 'all', priority: p.priority ?? 0, definition: p.definition ?? {} });
      });
    }
    for (const e of body.exchanges ?? []) {
      step(`exchange '${e.name}'`, () =>
        this.m.broker.addVhost(vhostOf(e.vhost)).declareExchange({
          name: e.name,
          type: e.type,
          durable: e.durable ?? true,
          autoDelete: e.auto_delete ?? false,
          internal: e.internal ?? false,
          arguments: (e.arguments ?? {}) as FieldTable,
        }),
      );
    }
    for (const q of body.queues ?? []) {
      step(`queue '${q.name}'`, () =>
        this.m.broker.addVhost(vhostOf(q.vhost)).declareQueue({ name: q.name, durable: q.durable ?? true, autoDelete: q.auto_delete ?? false, arguments: (q.arguments ?? {}) as FieldTable }),
      );
    }
    for (const b of body.bindings ?? []) {
      step(`binding of '${b.destination}' to '${b.source}'`, () =>
        this.m.broker.addVhost(vhostOf(b.vhost)).bind(b.destination_type === 'exchange' ? 'exchange' : 'queue', b.destination, b.source, b.routing_key ?? '', (b.arguments ?? {}) as FieldTable),
      );
    }
  }
}
