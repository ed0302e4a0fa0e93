import type { BindingRecord, ExchangeRecord, QueueRecord, RecoveredState } from '#core';
import type { Database } from '../database/database';
import { decodeArguments } from './change-codec';
import { DEFINITION_TABLES } from './definition-tables';

/** Every definition at one moment, with the definition version it reflects. */
export interface DefinitionSnapshot {
  version: number;
  state: RecoveredState;
  /** The definition namespaces' records, by table: users, permissions, policies, vhost limits ([key, JSON]). */
  records: Map<string, [string, Buffer][]>;
  /** Every stored binding as `vhost\nsource\nidentity` (the identity a node's binding snapshot calls its key). */
  bindingKeys: Set<string>;
}

/** The definition version committed so far. */
export async function readDefinitionVersion(database: Database): Promise<number> {
  const { rows } = await database.query<{ version: string }>('SELECT version FROM definition_log');
  return Number(rows[0]?.version ?? 0);
}

/**
 * Reads every definition in one snapshot (REPEATABLE READ): vhosts, exchanges, queues (with
 * their cluster-wide ids), bindings, counters, and the users, permissions, policies and vhost limits.
 */
export async function readDefinitions(database: Database): Promise<DefinitionSnapshot> {
  return database.transaction(async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const version = Number((await client.query<{ version: string }>('SELECT version FROM definition_log')).rows[0]?.version ?? 0);
    const vhosts = (await client.query<{ name: string }>('SELECT name FROM vhosts ORDER BY name')).rows.map((r) => r.name);
    const exchanges = (
      await client.query<{ vhost: string; name: string; type: string; auto_delete: boolean; internal: boolean; arguments: Buffer }>(
        'SELECT vhost, name, type, auto_delete, internal, arguments FROM exchanges ORDER BY vhost, name',
      )
    ).rows.map(
      (r): ExchangeRecord => ({ vhost: r.vhost, name: r.name, type: r.type, durable: true, autoDelete: r.auto_delete, internal: r.internal, arguments: decodeArguments(r.arguments) }),
    );
    const queues = (
      await client.query<{ id: string; vhost: string; name: string; auto_delete: boolean; arguments: Buffer }>('SELECT id, vhost, name, auto_delete, arguments FROM queues ORDER BY id')
    ).rows.map((r): QueueRecord => ({ id: Number(r.id), vhost: r.vhost, name: r.name, autoDelete: r.auto_delete, arguments: decodeArguments(r.arguments) }));
    const bindingRows = (
      await client.query<{ vhost: string; source: string; identity: string; dest_kind: 'queue' | 'exchange'; destination: string; routing_key: string; arguments: Buffer }>(
        'SELECT vhost, source, identity, dest_kind, destination, routing_key, arguments FROM bindings ORDER BY vhost, source, identity',
      )
    ).rows;
    const bindingKeys = new Set(bindingRows.map((r) => `${r.vhost}\n${r.source}\n${r.identity}`));
    const bindings = bindingRows.map(
      (r): BindingRecord => ({ vhost: r.vhost, source: r.source, destinationKind: r.dest_kind, destination: r.destination, routingKey: r.routing_key, arguments: decodeArguments(r.arguments) }),
    );
    const counters = new Map(
      (await client.query<{ name: string; value: string }>('SELECT name, value FROM counters')).rows.map((r): [string, number] => [r.name, Number(r.value)]),
    );
    const records = new Map<string, [string, Buffer][]>();
    for (const table of DEFINITION_TABLES.values()) {
      const { rows } = await client.query<{ key: Buffer; value: string }>(`SELECT key, definition::text AS value FROM ${table}`);
      records.set(table, rows.map((r): [string, Buffer] => [r.key.toString('utf8'), Buffer.from(r.value)]));
    }
    const state: RecoveredState = {
      vhosts,
      exchanges,
      queues,
      bindings,
      counters,
      // no entries: messages of shared queue types live in their own tables
      maxSeq: 0,
      maxQueueId: queues.reduce((max, q) => Math.max(max, q.id), 0),
      buckets: [],
    };
    return { version, state, records, bindingKeys };
  });
}
