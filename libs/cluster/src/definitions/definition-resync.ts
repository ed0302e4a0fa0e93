import { Broker, DEFINITION_KEYS, DEFINITION_NAMESPACES, DefinitionChange } from '#core';
import type { Logger } from '#observability';
import type { Database } from '../database/database';
import { readDefinitions } from '../store/definition-reads';

/** Built into every vhost, never stored: resync leaves them alone. */
const BUILT_IN_EXCHANGE_PREFIX = 'amq.';

/**
 * Replaces this node's definitions with the database's: everything the database holds is applied
 * (a definition already the same changes nothing), and every durable definition this node holds
 * that the database has not is removed. Used when following the change log is not enough: the log
 * was pruned past this node, or a batch of this node's own definition changes was lost (its memory
 * may hold changes the database does not). Returns the definition version now reflected.
 */
export async function resyncDefinitions(database: Database, broker: Broker, log: Logger): Promise<number> {
  const snapshot = await readDefinitions(database);
  const { state } = snapshot;
  const changes: DefinitionChange[] = [];
  const storedVhosts = new Set(state.vhosts);
  for (const vhost of state.vhosts) changes.push({ kind: 'vhost-put', vhost });
  for (const exchange of state.exchanges) changes.push({ kind: 'exchange-put', exchange });
  for (const queue of state.queues) changes.push({ kind: 'queue-put', queue });

  const storedExchanges = new Set(state.exchanges.map((e) => `${e.vhost}\n${e.name}`));
  const storedQueues = new Set(state.queues.map((q) => `${q.vhost}\n${q.name}`));
  const stale: DefinitionChange[] = [];
  for (const name of broker.vhostNames()) {
    const vhost = broker.getVhost(name);
    for (const b of vhost.bindingSnapshots()) {
      if (b.source === '' || !vhost.findExchange(b.source)?.durable) continue;
      const destination = b.destinationKind === 'queue' ? vhost.findQueue(b.destination) : vhost.findExchange(b.destination);
      if (destination === undefined || !destination.durable) continue;
      if (!snapshot.bindingKeys.has(`${name}\n${b.source}\n${b.key}`)) {
        stale.push({ kind: 'binding-delete', binding: { vhost: name, source: b.source, destinationKind: b.destinationKind, destination: b.destination, routingKey: b.routingKey, arguments: b.arguments } });
      }
    }
    for (const q of vhost.queueSnapshots()) {
      if (q.durable && !q.exclusive && !storedQueues.has(`${name}\n${q.name}`)) stale.push({ kind: 'queue-delete', vhost: name, name: q.name });
    }
    for (const e of vhost.exchangeSnapshots()) {
      if (e.durable && e.name !== '' && !e.name.startsWith(BUILT_IN_EXCHANGE_PREFIX) && !storedExchanges.has(`${name}\n${e.name}`)) {
        stale.push({ kind: 'exchange-delete', vhost: name, name: e.name });
      }
    }
    if (!storedVhosts.has(name)) stale.push({ kind: 'vhost-delete', vhost: name });
  }
  for (const binding of state.bindings) changes.push({ kind: 'binding-put', binding });
  changes.push(...stale);

  const records = (table: string): Map<string, Buffer> => new Map(snapshot.records.get(table) ?? []);
  const users = records('users');
  const permissions = records('permissions');
  const policies = records('policies');
  const vhostLimits = records('vhost_limits');
  const replace = (namespace: string, stored: Map<string, Buffer>, local: string[]): void => {
    for (const key of local) if (!stored.has(key)) changes.push({ kind: 'record-delete', namespace, key });
    for (const [key, value] of stored) changes.push({ kind: 'record-put', namespace, key, value });
  };
  replace(DEFINITION_NAMESPACES.users, users, broker.users.list().map((u) => DEFINITION_KEYS.user(u.name)));
  replace(DEFINITION_NAMESPACES.permissions, permissions, broker.users.listPermissions().map((p) => DEFINITION_KEYS.permission(p.vhost, p.user)));
  replace(DEFINITION_NAMESPACES.policies, policies, broker.policies.list().map((p) => DEFINITION_KEYS.policy(p.vhost, p.name)));
  replace(DEFINITION_NAMESPACES.vhostLimits, vhostLimits, broker.vhostLimits.list().map((l) => DEFINITION_KEYS.vhostLimits(l.vhost)));

  let failed = 0;
  for (const change of changes) {
    try {
      broker.applyDefinitionChange(change);
    } catch (error) {
      failed++;
      log.error({ err: error, change: change.kind }, 'could not apply a stored definition while reloading definitions');
    }
  }
  if (stale.length > 0 || failed > 0) log.warn({ removed: stale.length, failed }, 'definitions this node held that the database has not were removed');
  return snapshot.version;
}
