import type Database from 'better-sqlite3';
import { ByteReader } from '../../encoding/byte-reader';
import { decodeFieldTable, FieldTable } from '../../encoding/field-table';
import type { BindingRecord, BucketSummary, ExchangeRecord, QueueRecord, RecoveredState } from '../store-records';
import { ENTRY_FLAG_PERSISTENT } from './schema';

/** What recovery hands the store itself: how many entries point to each shared body, and which entries count as delivered. */
export interface RecoveredFile {
  state: RecoveredState;
  sharedRefs: Map<number, number>;
  /** Entries with a lower seq were stored when the broker last crashed: each may have been delivered. */
  redeliveredBelow: number;
}

/**
 * Reads what the last run left on `db`: the durable definitions and a per-(queue, rank) summary of
 * stored entries, after dropping what must not survive a restart (transient paged copies, entries
 * of queues that are gone, bodies nothing points to any more). Marks the file as in use: until
 * `markCleanShutdown`, a crash is assumed.
 */
export function readRecoveredFile(db: Database.Database): RecoveredFile {
  const meta = (key: string): string | undefined => (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  let redeliveredBelow = Number(meta('redelivered_below') ?? 0);
  db.transaction(() => {
    // After a crash, the delivered marks of the last moments may not have been written: every
    // message then comes back flagged redelivered, keeping AMQP's promise that an unflagged
    // message was never delivered before. A watermark says so for every entry stored before the
    // crash (seqs only grow); setting the flag on each row rewrote the whole table, 4 s and 450 MB
    // of WAL for a 2M backlog (bench/backlog).
    if (meta('clean_shutdown') !== '1') {
      const maxEntrySeq = (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM entries').pluck().get() as number) ?? 0;
      redeliveredBelow = Math.max(redeliveredBelow, maxEntrySeq + 1);
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('redelivered_below', ?)").run(String(redeliveredBelow));
    }
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('clean_shutdown', '0')").run();
  })();
  // Every pass over the entries costs ~0.5 s per 2M: the summary's pass also tells whether any
  // leftover (a transient paged copy, an entry of a queue that is gone) must be deleted first.
  const queueIds = new Set(db.prepare('SELECT id FROM queues').pluck().all() as number[]);
  let groups = readEntryGroups(db);
  if (groups.some((group) => group.transient > 0 || !queueIds.has(group.queueId))) {
    db.exec(`DELETE FROM entries WHERE (flags & ${ENTRY_FLAG_PERSISTENT}) = 0 OR queue NOT IN (SELECT id FROM queues)`);
    groups = readEntryGroups(db);
  }
  // bodies of their own are rare (fanout copies, large bodies): no pass over the entries without one
  const sharedRefs = new Map<number, number>();
  if (db.prepare('SELECT EXISTS (SELECT 1 FROM bodies)').pluck().get() === 1) {
    db.exec('DELETE FROM bodies WHERE id NOT IN (SELECT shared FROM entries WHERE shared IS NOT NULL)');
    for (const [id, refs] of db
      .prepare('SELECT shared, COUNT(*) FROM entries WHERE shared IS NOT NULL GROUP BY shared')
      .raw(true)
      .all() as [number, number][]) {
      sharedRefs.set(id, refs);
    }
  }
  const state: RecoveredState = {
    vhosts: (db.prepare('SELECT name FROM vhosts').all() as { name: string }[]).map((r) => r.name),
    exchanges: readExchanges(db),
    queues: readQueues(db),
    bindings: readBindings(db),
    counters: readCounters(db),
    // seqs stay above the watermark, or a message published after the restart would count as redelivered
    maxSeq: Math.max(
      redeliveredBelow - 1,
      (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM entries').pluck().get() as number) ?? 0,
      (db.prepare('SELECT COALESCE(MAX(id), 0) FROM bodies').pluck().get() as number) ?? 0,
    ),
    maxQueueId: (db.prepare('SELECT COALESCE(MAX(id), 0) FROM queues').pluck().get() as number) ?? 0,
    buckets: groups.map(({ queueId, rank, count, bytes }) => ({ queueId, rank, count, bytes })),
  };
  return { state, sharedRefs, redeliveredBelow };
}

/** The store closed cleanly: the next recovery trusts the delivered marks. */
export function markCleanShutdown(db: Database.Database): void {
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('clean_shutdown', '1')").run();
}

const args = (blob: Buffer): FieldTable => decodeFieldTable(new ByteReader(blob));

function readExchanges(db: Database.Database): ExchangeRecord[] {
  const rows = db.prepare('SELECT vhost, name, type, auto_delete, internal, arguments FROM exchanges').all() as {
    vhost: string;
    name: string;
    type: string;
    auto_delete: number;
    internal: number;
    arguments: Buffer;
  }[];
  return rows.map((r) => ({
    vhost: r.vhost,
    name: r.name,
    type: r.type,
    durable: true,
    autoDelete: r.auto_delete === 1,
    internal: r.internal === 1,
    arguments: args(r.arguments),
  }));
}

function readQueues(db: Database.Database): QueueRecord[] {
  const rows = db.prepare('SELECT id, vhost, name, auto_delete, arguments FROM queues ORDER BY id').all() as {
    id: number;
    vhost: string;
    name: string;
    auto_delete: number;
    arguments: Buffer;
  }[];
  return rows.map((r) => ({ id: r.id, vhost: r.vhost, name: r.name, autoDelete: r.auto_delete === 1, arguments: args(r.arguments) }));
}

function readBindings(db: Database.Database): BindingRecord[] {
  const rows = db.prepare('SELECT vhost, source, dest_kind, destination, routing_key, arguments FROM bindings').all() as {
    vhost: string;
    source: string;
    dest_kind: string;
    destination: string;
    routing_key: string;
    arguments: Buffer;
  }[];
  return rows.map((r) => ({
    vhost: r.vhost,
    source: r.source,
    destinationKind: r.dest_kind === 'exchange' ? 'exchange' : 'queue',
    destination: r.destination,
    routingKey: r.routing_key,
    arguments: args(r.arguments),
  }));
}

function readCounters(db: Database.Database): Map<string, number> {
  const counters = new Map<string, number>();
  for (const row of db.prepare('SELECT name, value FROM counters').all() as { name: string; value: number }[]) counters.set(row.name, row.value);
  return counters;
}

interface EntryGroup extends BucketSummary {
  /** Entries of the group that are not persistent (paged-out copies of transient messages). */
  transient: number;
}

/** Entries per (queue, rank): count, body bytes and how many are transient (grouped as the index runs: no sort). */
function readEntryGroups(db: Database.Database): EntryGroup[] {
  const rows = db
    .prepare(
      `SELECT e.queue, e.rank, COUNT(*), COALESCE(SUM(LENGTH(COALESCE(e.body, b.body))), 0), SUM((e.flags & ${ENTRY_FLAG_PERSISTENT}) = 0)
         FROM entries e LEFT JOIN bodies b ON b.id = e.shared GROUP BY e.queue, e.rank`,
    )
    .raw(true)
    .all() as [number, number, number, number, number][];
  return rows.map(([queueId, rank, count, bytes, transient]) => ({ queueId, rank, count, bytes, transient }));
}
