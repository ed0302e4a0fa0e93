import type { UserRegistry } from '../auth/user-registry';
import { canonicalArgs } from '../exchange/binding';
import { POLICIES, PolicyRegistry } from '../policy/policy-registry';
import { VHOST_LIMITS, VhostLimitRegistry } from '../vhost/vhost-limits';
import type { VirtualHost } from '../vhost/virtual-host';
import type { DefinitionChange } from './definition-change';

/** What applying a change needs of the broker (its writes muted meanwhile). */
export interface DefinitionTarget {
  vhost(name: string): VirtualHost | undefined;
  addVhost(name: string): VirtualHost;
  deleteVhost(name: string): void;
  nextQueueId(): number;
  readonly users: UserRegistry;
  readonly policies: PolicyRegistry;
  readonly vhostLimits: VhostLimitRegistry;
}

/**
 * Brings the broker in line with a change another node committed: the restore paths of recovery
 * for what is kept, unchecked removals for what is gone (the node that made the change checked
 * it). A change that is already true changes nothing; a definition that differs is replaced.
 */
export function applyDefinitionChange(target: DefinitionTarget, change: DefinitionChange): void {
  switch (change.kind) {
    case 'vhost-put':
      target.addVhost(change.vhost);
      return;
    case 'vhost-delete':
      if (target.vhost(change.vhost) !== undefined) target.deleteVhost(change.vhost);
      return;
    case 'exchange-put': {
      const { exchange } = change;
      // a vhost is made by its own change, which comes first; one gone meanwhile is not brought back
      const vhost = target.vhost(exchange.vhost);
      if (vhost === undefined) return;
      const existing = vhost.findExchange(exchange.name);
      if (existing !== undefined) {
        const same =
          existing.type === exchange.type &&
          existing.options.autoDelete === exchange.autoDelete &&
          existing.options.internal === exchange.internal &&
          canonicalArgs(existing.options.arguments) === canonicalArgs(exchange.arguments);
        if (same) return;
        vhost.dropExchange(exchange.name);
      }
      vhost.restoreExchange(exchange.name, exchange.type, exchange.autoDelete, exchange.internal, exchange.arguments);
      return;
    }
    case 'exchange-delete':
      target.vhost(change.vhost)?.dropExchange(change.name);
      return;
    case 'queue-put': {
      const { queue } = change;
      const vhost = target.vhost(queue.vhost);
      if (vhost === undefined) return;
      const existing = vhost.findQueue(queue.name);
      if (existing !== undefined) {
        const same =
          existing.durable &&
          existing.options.exclusiveOwner === null &&
          existing.options.autoDelete === queue.autoDelete &&
          canonicalArgs(existing.options.arguments) === canonicalArgs(queue.arguments);
        if (same) return;
        vhost.dropQueue(queue.name);
      }
      vhost.restoreQueue(target.nextQueueId(), queue.name, queue.autoDelete, queue.arguments);
      return;
    }
    case 'queue-delete':
      target.vhost(change.vhost)?.dropQueue(change.name);
      return;
    case 'binding-put': {
      const { binding } = change;
      target.vhost(binding.vhost)?.restoreBinding(binding.destinationKind, binding.destination, binding.source, binding.routingKey, binding.arguments);
      return;
    }
    case 'binding-delete': {
      const { binding } = change;
      target.vhost(binding.vhost)?.dropBinding(binding.destinationKind, binding.destination, binding.source, binding.routingKey, binding.arguments);
      return;
    }
    case 'record-put':
    case 'record-delete': {
      const value = change.kind === 'record-put' ? change.value : null;
      if (change.namespace === POLICIES) target.policies.applyStored(change.key, value);
      else if (change.namespace === VHOST_LIMITS) target.vhostLimits.applyStored(change.key, value);
      else target.users.applyStored(change.namespace, change.key, value);
      return;
    }
  }
}
