import { PERMISSIONS, permissionKey, USERS } from '../auth/user-registry';
import type { FieldTable } from '../encoding/field-table';
import { keyOf as policyKey, POLICIES } from '../policy/policy-registry';
import type { BindingRecord, ExchangeRecord } from '../store/store-records';
import { VHOST_LIMITS } from '../vhost/vhost-limits';

/** A queue's definition as every node shares it (its id is each broker's own). */
export interface QueueDefinition {
  vhost: string;
  name: string;
  autoDelete: boolean;
  arguments: FieldTable;
}

/**
 * One definition change committed by a broker node, as the other nodes apply it
 * (Broker.applyDefinitionChange). It says what is now true, so applying it again, or applying a
 * change already reflected in what a node loaded at start, changes nothing.
 */
export type DefinitionChange =
  | { kind: 'vhost-put'; vhost: string }
  | { kind: 'vhost-delete'; vhost: string }
  | { kind: 'exchange-put'; exchange: ExchangeRecord }
  | { kind: 'exchange-delete'; vhost: string; name: string }
  | { kind: 'queue-put'; queue: QueueDefinition }
  | { kind: 'queue-delete'; vhost: string; name: string }
  | { kind: 'binding-put'; binding: BindingRecord }
  | { kind: 'binding-delete'; binding: BindingRecord }
  /** A record of a definition namespace (DEFINITION_NAMESPACES): users, permissions, policies, vhost limits. */
  | { kind: 'record-put'; namespace: string; key: string; value: Buffer }
  | { kind: 'record-delete'; namespace: string; key: string };

/**
 * The record namespaces that hold definitions (users, permissions, policies, vhost limits): a
 * store shared by several broker nodes sends their changes to every node. Other namespaces
 * (idempotency keys, finished deliveries) are read from the store when needed.
 */
export const DEFINITION_NAMESPACES = { users: USERS, permissions: PERMISSIONS, policies: POLICIES, vhostLimits: VHOST_LIMITS } as const;

/** The keys of records in the definition namespaces, as the registries store them. */
export const DEFINITION_KEYS = {
  user: (name: string): string => name,
  permission: permissionKey,
  policy: policyKey,
  /** A vhost's limits are one record, keyed by the vhost. */
  vhostLimits: (vhost: string): string => vhost,
} as const;
