import type { PolicyTarget, PolicyValue } from '#core';
import type { BindingDto } from './binding.dto';
import type { ExchangeDto } from './exchange.dto';
import type { JsonValue } from './json-value';
import type { PermissionDto } from './permission.dto';
import type { PolicyDto } from './policy.dto';
import type { QueueDto } from './queue.dto';
import type { UserDto } from './user.dto';
import type { VhostLimitsParameterDto } from './vhost-limits.dto';

/** An exchange in a definitions export: what re-declares it. */
export type ExchangeDefinitionDto = Pick<ExchangeDto, 'name' | 'vhost' | 'type' | 'durable' | 'auto_delete' | 'internal' | 'arguments'>;

/** A queue in a definitions export: what re-declares it. */
export type QueueDefinitionDto = Pick<QueueDto, 'name' | 'vhost' | 'durable' | 'auto_delete' | 'arguments'>;

/** A binding in a definitions export (no properties_key: it is derived). */
export type BindingDefinitionDto = Omit<BindingDto, 'properties_key'>;

/**
 * GET /api/definitions: the broker's topology and users in RabbitMQ's definitions format, which
 * POST /api/definitions (here or on RabbitMQ) imports. Durable exchanges other than the default
 * and `amq.*` ones, queues but exclusive ones.
 */
export interface DefinitionsDto {
  /** The RabbitMQ version whose format this is. */
  rabbit_version: string;
  rabbitmq_version: string;
  product_name: string;
  product_version: string;
  users: UserDto[];
  vhosts: { name: string }[];
  permissions: PermissionDto[];
  /** Always empty: topic permissions are not kept. */
  topic_permissions: never[];
  /** Runtime parameters: the vhost limits (component `vhost-limits`), as RabbitMQ keeps them; no federation or shovels. */
  parameters: VhostLimitsParameterDto[];
  global_parameters: never[];
  policies: PolicyDto[];
  queues: QueueDefinitionDto[];
  exchanges: ExchangeDefinitionDto[];
  bindings: BindingDefinitionDto[];
}

/** GET /api/definitions/{vhost}: one vhost's topology, without users, vhosts and permissions. */
export type VhostDefinitionsDto = Pick<DefinitionsDto, 'rabbit_version' | 'exchanges' | 'queues' | 'bindings' | 'policies' | 'parameters'>;

/**
 * POST /api/definitions (and /api/definitions/{vhost}): what an import reads, as RabbitMQ writes
 * it. Every section may be missing; what is left out takes RabbitMQ's defaults.
 */
export interface DefinitionsImport {
  /** A password hash without its algorithm is RabbitMQ's SHA-256 scheme; tags a list or a comma-separated string. */
  users?: { name: string; password_hash?: string; hashing_algorithm?: string; tags?: string | string[] }[];
  vhosts?: { name: string }[];
  permissions?: PermissionDto[];
  exchanges?: { name: string; vhost: string; type: string; durable?: boolean; auto_delete?: boolean; internal?: boolean; arguments?: Record<string, JsonValue> }[];
  queues?: { name: string; vhost: string; durable?: boolean; auto_delete?: boolean; arguments?: Record<string, JsonValue> }[];
  bindings?: { source: string; vhost: string; destination: string; destination_type: string; routing_key?: string; arguments?: Record<string, JsonValue> }[];
  policies?: { name: string; vhost: string; pattern: string; 'apply-to'?: PolicyTarget; priority?: number; definition: Record<string, PolicyValue> }[];
  /** Runtime parameters: those of component `vhost-limits` are imported (their value: the limits by name); others are not kept here. */
  parameters?: { vhost: string; component: string; name: string; value: Record<string, JsonValue> }[];
}
