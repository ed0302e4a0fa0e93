import type { PoolClient } from 'pg';
import { CHANNELS } from '../database/notifications';
import { encodeArguments, encodeChange, StoredChange } from './change-codec';
import type { BatchPart, DefinitionOp, PostgresBatch } from './postgres-batch';
import { DEFINITION_TABLES } from './definition-tables';

/**
 * Writes one batch inside its transaction; returns the definition version it committed (0 when
 * it changed no definition). Definition changes go first: the version row is locked until the
 * commit, so the batches of every node that change definitions commit one at a time, in version
 * order, and a follower reading the log never sees version N+1 before N.
 */
export async function writeBatch(client: PoolClient, batch: PostgresBatch, origin: string, notify: boolean, parts: readonly BatchPart[]): Promise<number> {
  let version = 0;
  if (batch.definitions.length > 0) {
    const { rows } = await client.query<{ version: string }>('UPDATE definition_log SET version = version + 1 RETURNING version');
    version = Number(rows[0]!.version);
    const logged: StoredChange[] = [];
    for (const op of batch.definitions) {
      const change = await writeDefinition(client, op);
      if (change !== null) logged.push(change);
    }
    if (logged.length > 0) {
      await client.query(
        'INSERT INTO definition_changes (version, ordinal, origin, change) SELECT $1, ordinal, $2, change FROM unnest($3::jsonb[]) WITH ORDINALITY AS t(change, ordinal)',
        [version, origin, logged.map((change) => JSON.stringify(change))],
      );
    }
    if (notify) batch.notify(CHANNELS.definitions, String(version));
  }
  for (const part of parts) await part.write(client, batch.no);
  await writeRecords(client, batch);
  if (batch.counters.size > 0) {
    await client.query(
      `INSERT INTO counters (name, value) SELECT * FROM unnest($1::text[], $2::bigint[])
       ON CONFLICT (name) DO UPDATE SET value = GREATEST(counters.value, excluded.value)`,
      [[...batch.counters.keys()], [...batch.counters.values()]],
    );
  }
  if (batch.notifications.size > 0) {
    await client.query('SELECT pg_notify(channel, payload) FROM unnest($1::text[], $2::text[]) AS t(channel, payload)', [
      [...batch.notifications.keys()],
      [...batch.notifications.values()],
    ]);
  }
  return version;
}

/** Applies one definition write to its table; returns the change to log (null: a binding delete that removed nothing). */
async function writeDefinition(client: PoolClient, op: DefinitionOp): Promise<StoredChange | null> {
  if (op.kind === 'unbind') {
    const { rows } = await client.query<{ dest_kind: 'queue' | 'exchange'; destination: string; routing_key: string; arguments: Buffer }>(
      'DELETE FROM bindings WHERE vhost = $1 AND source = $2 AND identity = $3 RETURNING dest_kind, destination, routing_key, arguments',
      [op.vhost, op.source, op.identity],
    );
    const row = rows[0];
    if (row === undefined) return null;
    return {
      kind: 'binding-delete',
      vhost: op.vhost,
      source: op.source,
      identity: op.identity,
      destinationKind: row.dest_kind,
      destination: row.destination,
      routingKey: row.routing_key,
      arguments: row.arguments.toString('base64'),
    };
  }
  const change = op.change;
  switch (change.kind) {
    case 'vhost-put':
      await client.query('INSERT INTO vhosts (name) VALUES ($1) ON CONFLICT DO NOTHING', [change.vhost]);
      break;
    case 'vhost-delete':
      // what the vhost held goes with it (the broker deleted its queues and exchanges one by one before)
      await client.query(
        `WITH b AS (DELETE FROM bindings WHERE vhost = $1), q AS (DELETE FROM queues WHERE vhost = $1),
              e AS (DELETE FROM exchanges WHERE vhost = $1), l AS (DELETE FROM vhost_limits WHERE key = convert_to($1, 'UTF8'))
         DELETE FROM vhosts WHERE name = $1`,
        [change.vhost],
      );
      break;
    case 'exchange-put': {
      const e = change.exchange;
      await client.query(
        `INSERT INTO exchanges (vhost, name, type, auto_delete, internal, arguments) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (vhost, name) DO UPDATE SET type = excluded.type, auto_delete = excluded.auto_delete, internal = excluded.internal, arguments = excluded.arguments`,
        [e.vhost, e.name, e.type, e.autoDelete, e.internal, encodeArguments(e.arguments)],
      );
      break;
    }
    case 'exchange-delete':
      await client.query(
        `WITH b AS (DELETE FROM bindings WHERE vhost = $1 AND (source = $2 OR (dest_kind = 'exchange' AND destination = $2)))
         DELETE FROM exchanges WHERE vhost = $1 AND name = $2`,
        [change.vhost, change.name],
      );
      break;
    case 'queue-put': {
      const q = change.queue;
      await client.query(
        `INSERT INTO queues (vhost, name, auto_delete, arguments) VALUES ($1, $2, $3, $4)
         ON CONFLICT (vhost, name) DO UPDATE SET auto_delete = excluded.auto_delete, arguments = excluded.arguments`,
        [q.vhost, q.name, q.autoDelete, encodeArguments(q.arguments)],
      );
      break;
    }
    case 'queue-delete':
      await client.query(
        `WITH b AS (DELETE FROM bindings WHERE vhost = $1 AND dest_kind = 'queue' AND destination = $2)
         DELETE FROM queues WHERE vhost = $1 AND name = $2`,
        [change.vhost, change.name],
      );
      break;
    case 'binding-put': {
      const b = change.binding;
      await client.query(
        `INSERT INTO bindings (vhost, source, identity, dest_kind, destination, routing_key, arguments) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (vhost, source, identity) DO NOTHING`,
        [b.vhost, b.source, op.identity ?? '', b.destinationKind, b.destination, b.routingKey, encodeArguments(b.arguments)],
      );
      break;
    }
    case 'binding-delete':
      // the store logs binding deletes from the row it removes (op 'unbind'); a change of this kind is not written
      return null;
    case 'record-put':
      await client.query(`INSERT INTO ${tableOf(change.namespace)} (key, definition) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET definition = excluded.definition`, [
        Buffer.from(change.key),
        change.value.toString('utf8'),
      ]);
      break;
    case 'record-delete':
      await client.query(`DELETE FROM ${tableOf(change.namespace)} WHERE key = $1`, [Buffer.from(change.key)]);
      break;
  }
  return encodeChange(change, op.identity);
}

function tableOf(namespace: string): string {
  const table = DEFINITION_TABLES.get(namespace);
  if (table === undefined) throw new Error(`records of '${namespace}' are not definitions`);
  return table;
}

/** Keyed records of the other namespaces: one upsert and one delete for the whole batch. */
async function writeRecords(client: PoolClient, batch: PostgresBatch): Promise<void> {
  if (batch.records.size === 0) return;
  const put = { namespaces: [] as string[], keys: [] as Buffer[], values: [] as Buffer[], expiries: [] as number[] };
  const gone = { namespaces: [] as string[], keys: [] as Buffer[] };
  for (const write of batch.records.values()) {
    if (write.value === null) {
      gone.namespaces.push(write.namespace);
      gone.keys.push(Buffer.from(write.key));
    } else {
      put.namespaces.push(write.namespace);
      put.keys.push(Buffer.from(write.key));
      put.values.push(write.value);
      put.expiries.push(write.expiresAt);
    }
  }
  if (gone.keys.length > 0) {
    await client.query('DELETE FROM keyed_records r USING unnest($1::text[], $2::bytea[]) AS g(namespace, key) WHERE r.namespace = g.namespace AND r.key = g.key', [
      gone.namespaces,
      gone.keys,
    ]);
  }
  if (put.keys.length > 0) {
    await client.query(
      `INSERT INTO keyed_records (namespace, key, value, expires_at) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bigint[])
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
      [put.namespaces, put.keys, put.values, put.expiries],
    );
  }
}
