import type { FieldTable } from '../encoding/field-table';
import type { Access } from './user-registry';

/** What a user declares: a queue or an exchange with its arguments, or a policy's definition. */
export type Declaration =
  | { kind: 'queue' | 'exchange'; name: string; arguments: FieldTable }
  | { kind: 'policy'; definition: Readonly<Record<string, unknown>> };

/** One permission a declaration needs: `access` on the queue or exchange `name` ('' is the default exchange). */
export interface ResourceAccess {
  access: Access;
  kind: 'queue' | 'exchange';
  name: string;
}

/** The argument (queues, exchanges) or definition keys (policies) that name an exchange the broker publishes into. */
const TARGET_KEYS: Record<Declaration['kind'], readonly string[]> = {
  queue: ['x-dead-letter-exchange'],
  exchange: ['alternate-exchange'],
  policy: ['dead-letter-exchange', 'alternate-exchange'],
};

/**
 * The exchanges a declaration points at: where a queue dead-letters (`x-dead-letter-exchange`),
 * where an exchange sends what it cannot route (`alternate-exchange`), and either for a policy.
 * A value that is not a string names nothing here (the declaration itself is refused for it).
 */
export function declarationTargets(declaration: Declaration): string[] {
  const values = declaration.kind === 'policy' ? declaration.definition : declaration.arguments;
  const targets: string[] = [];
  for (const key of TARGET_KEYS[declaration.kind]) {
    const value = values[key];
    if (typeof value === 'string') targets.push(value);
  }
  return targets;
}

/**
 * The permissions, beyond configure on the resource itself, that creating this declaration needs,
 * in the order RabbitMQ checks them. The broker publishes into a target exchange on behalf of
 * whoever declared it, so that user needs write on the target; and the messages that move there
 * are the declared queue's or exchange's own, so the user needs read on it too (rabbit_channel
 * checks both when queue.declare / exchange.declare creates the resource). A policy carries no
 * messages of its own: write on each target.
 */
export function accessNeededToDeclare(declaration: Declaration): ResourceAccess[] {
  const targets = declarationTargets(declaration);
  if (targets.length === 0) return [];
  const needed: ResourceAccess[] = declaration.kind === 'policy' ? [] : [{ access: 'read', kind: declaration.kind, name: declaration.name }];
  for (const name of targets) needed.push({ access: 'write', kind: 'exchange', name });
  return needed;
}
