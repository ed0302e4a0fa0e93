import type { PoolClient } from 'pg';
import type { BatchPart } from '../store/postgres-batch';
import { M_ROW_COLUMNS, MessageRow } from './message-rows';

/** A message row to add: its queue's id is looked up in the transaction when the queue does not know it yet. */
export interface RowInsert {
  queue: { dbId: number | null; vhost: string; name: string; resolvedId(id: number | null): void };
  rank: number;
  notBefore: number;
  key1: string | null;
  key2: string | null;
  groupKey: string | null;
  groupOrder: number | null;
  exchange: Buffer;
  routingKey: Buffer;
  properties: Buffer;
  body: Buffer;
  annotations: string | null;
}

/**
 * A row added only when no row of its queue reserved its unique key within the key's window (a
 * reservation outlives the row: a key finished a moment ago is still taken): told after the
 * commit whether it went in.
 */
export interface UniqueInsert extends RowInsert {
  uniqueKey: string;
  /** How long the key stays reserved, from now. */
  keepKeyMs: number;
  /** The row added (its seq), or the row that held the key; 'gone' when its queue was deleted, null when the batch was lost. */
  settled(outcome: { added: true; seq: number } | { added: false; row: MessageRow } | 'gone' | null): void;
}

/** A row named by its queue and seq (and, for lease operations, which taking of it). */
export interface RowRef {
  queueId: number;
  seq: number;
}

export interface LeaseOp extends RowRef {
  deliveries: number;
  /** touch and grant: the new deadline; release: the not-before time (0: now). */
  at: number;
  /** The row as it was settled (ack, release), or undefined when the lease was unknown or expired; null when the batch was lost. */
  settled(row: MessageRow | undefined | null): void;
}

/** What the shared queues of one node wrote into one store batch. */
class QueueWrites {
  readonly inserts: RowInsert[] = [];
  readonly uniques: UniqueInsert[] = [];
  /** Acked or dropped rows this node holds. */
  readonly deletes: RowRef[] = [];
  /** Rejected with requeue: back to ready, in their place. */
  readonly requeues: RowRef[] = [];
  /** Ready rows removed (a job deleted by number, a delivery cancelled). */
  readonly removes: RowRef[] = [];
  readonly purges: number[] = [];
  /** Leases whose deadline passed on the node that granted them: back to ready unless extended meanwhile. */
  readonly expiries: LeaseOp[] = [];
  readonly leaseAcks: LeaseOp[] = [];
  readonly leaseReleases: LeaseOp[] = [];
  readonly touches: LeaseOp[] = [];
  /** Called after the commit (or the loss) with what was read back in the transaction. */
  readonly after: ((committed: boolean) => void)[] = [];
  /** Rows became ready for claims: the queues' ids (to wake consumers here and, by NOTIFY, elsewhere). */
  readonly woken = new Set<{ wake(): void; batchSettled(no: number, committed: boolean): void }>();
}

/**
 * The shared queues' part of the store's group commit (PostgresStore.addPart): what they add and
 * settle while batch N is open is written in batch N's transaction, each kind of change as one
 * multi-row statement, so a batch of a thousand enqueues and acks costs a handful of statements
 * and one commit. Results that callers wait for (a unique insert, a lease settled on any node)
 * are read in the transaction and handed over once it committed.
 */
export class QueueBatchPart implements BatchPart {
  private readonly open = new Map<number, QueueWrites>();

  constructor(private readonly holder: string) {}

  /** What batch `no` holds so far (made on first use). */
  writes(no: number): QueueWrites {
    let writes = this.open.get(no);
    if (writes === undefined) {
      writes = new QueueWrites();
      this.open.set(no, writes);
    }
    return writes;
  }

  async write(tx: PoolClient, no: number): Promise<void> {
    const w = this.open.get(no);
    if (w === undefined) return;
    const holder = this.holder;
    await lockInOrder(tx, w);
    // settled first: a lease acked on this node and a copy published for it share the batch
    if (w.deletes.length > 0) {
      await tx.query('DELETE FROM queue_messages m USING unnest($1::bigint[], $2::bigint[]) AS d(queue_id, seq) WHERE m.queue_id = d.queue_id AND m.seq = d.seq AND m.holder = $3', [
        w.deletes.map((r) => r.queueId),
        w.deletes.map((r) => r.seq),
        holder,
      ]);
    }
    if (w.requeues.length > 0) {
      await tx.query(
        'UPDATE queue_messages m SET holder = NULL, lease_until = NULL FROM unnest($1::bigint[], $2::bigint[]) AS d(queue_id, seq) WHERE m.queue_id = d.queue_id AND m.seq = d.seq AND m.holder = $3',
        [w.requeues.map((r) => r.queueId), w.requeues.map((r) => r.seq), holder],
      );
    }
    if (w.removes.length > 0) {
      await tx.query('DELETE FROM queue_messages m USING unnest($1::bigint[], $2::bigint[]) AS d(queue_id, seq) WHERE m.queue_id = d.queue_id AND m.seq = d.seq AND m.holder IS NULL', [
        w.removes.map((r) => r.queueId),
        w.removes.map((r) => r.seq),
      ]);
    }
    if (w.purges.length > 0) await tx.query('DELETE FROM queue_messages WHERE queue_id = ANY($1::bigint[]) AND holder IS NULL', [w.purges]);
    await this.settleLeases(tx, w);
    await this.insert(tx, w);
  }

  private async settleLeases(tx: PoolClient, w: QueueWrites): Promise<void> {
    const now = Date.now();
    const refs = (ops: LeaseOp[]): unknown[] => [ops.map((o) => o.queueId), ops.map((o) => o.seq), ops.map((o) => o.deliveries), ops.map((o) => o.at)];
    // the row a lease names: taken (by whichever node), this very taking, its deadline not past
    const leased = 'm.queue_id = l.queue_id AND m.seq = l.seq AND m.deliveries = l.deliveries AND m.holder IS NOT NULL AND (m.lease_until IS NULL OR m.lease_until >= $5)';
    const using = 'unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[]) AS l(queue_id, seq, deliveries, at)';
    if (w.expiries.length > 0) {
      await tx.query(
        `UPDATE queue_messages m SET holder = NULL, lease_until = NULL FROM ${using}
         WHERE m.queue_id = l.queue_id AND m.seq = l.seq AND m.deliveries = l.deliveries AND m.holder IS NOT NULL AND (m.lease_until IS NULL OR m.lease_until < $5)`,
        [...refs(w.expiries), now],
      );
      for (const op of w.expiries) w.after.push((committed) => op.settled(committed ? undefined : null));
    }
    const settle = async (ops: LeaseOp[], statement: string): Promise<void> => {
      if (ops.length === 0) return;
      const { rows } = await tx.query<MessageRow>(statement, [...refs(ops), now]);
      const byRow = new Map(rows.map((row) => [`${row.queue_id}.${row.seq}`, row]));
      for (const op of ops) {
        const row = byRow.get(`${op.queueId}.${op.seq}`);
        w.after.push((committed) => op.settled(committed ? row : null));
      }
    };
    await settle(w.leaseAcks, `DELETE FROM queue_messages m USING ${using} WHERE ${leased} RETURNING ${M_ROW_COLUMNS}`);
    await settle(w.touches, `UPDATE queue_messages m SET lease_until = l.at FROM ${using} WHERE ${leased} RETURNING ${M_ROW_COLUMNS}`);
    await settle(
      w.leaseReleases,
      `UPDATE queue_messages m SET holder = NULL, lease_until = NULL, not_before = GREATEST(m.not_before, l.at) FROM ${using} WHERE ${leased} RETURNING ${M_ROW_COLUMNS}`,
    );
  }

  private async insert(tx: PoolClient, w: QueueWrites): Promise<void> {
    for (const row of [...w.inserts, ...w.uniques]) {
      if (row.queue.dbId !== null) continue;
      const { rows } = await tx.query<{ id: string }>('SELECT id FROM queues WHERE vhost = $1 AND name = $2', [row.queue.vhost, row.queue.name]);
      row.queue.resolvedId(rows[0] === undefined ? null : Number(rows[0].id));
    }
    // a queue deleted meanwhile takes its messages with it
    const kept = w.inserts.filter((row) => row.queue.dbId !== null);
    if (kept.length > 0) await insertRows(tx, kept, null);
    // in key order: two batches reserving the same keys wait for each other in one order, never in a cycle
    const uniques = w.uniques.filter((row) => row.queue.dbId !== null).sort((x, y) => x.queue.dbId! - y.queue.dbId! || (x.uniqueKey < y.uniqueKey ? -1 : x.uniqueKey > y.uniqueKey ? 1 : 0));
    for (const row of w.uniques) if (row.queue.dbId === null) w.after.push(() => row.settled('gone'));
    if (uniques.length === 0) return;
    // the first request of each key reserves it (unless a live reservation holds it); the others of this batch are its duplicates
    const requests = new Map<string, UniqueInsert[]>();
    for (const row of uniques) {
      const key = `${row.queue.dbId}\u0000${row.uniqueKey}`;
      const list = requests.get(key);
      if (list === undefined) requests.set(key, [row]);
      else list.push(row);
    }
    const firsts = [...requests.values()].map((list) => list[0]!);
    const now = Date.now();
    const { rows: reserved } = await tx.query<{ queue_id: string; unique_key: string; seq: string }>(
      `INSERT INTO queue_unique_keys (queue_id, unique_key, seq, expires_at, exchange, routing_key, properties, annotations)
       SELECT queue_id, unique_key, nextval('queue_message_seq'), expires_at, exchange, routing_key, properties, annotations
       FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bytea[], $7::text[]) AS k(queue_id, unique_key, expires_at, exchange, routing_key, properties, annotations)
       ON CONFLICT (queue_id, unique_key) DO UPDATE SET seq = excluded.seq, expires_at = excluded.expires_at, exchange = excluded.exchange,
         routing_key = excluded.routing_key, properties = excluded.properties, annotations = excluded.annotations
       WHERE queue_unique_keys.expires_at < $8
       RETURNING queue_id, unique_key, seq`,
      [
        firsts.map((r) => r.queue.dbId),
        firsts.map((r) => r.uniqueKey),
        firsts.map((r) => now + r.keepKeyMs),
        firsts.map((r) => r.exchange),
        firsts.map((r) => r.routingKey),
        firsts.map((r) => r.properties),
        firsts.map((r) => r.annotations),
        now,
      ],
    );
    const seqOf = new Map(reserved.map((row) => [`${row.queue_id}\u0000${row.unique_key}`, Number(row.seq)]));
    const won = firsts.filter((row) => seqOf.has(`${row.queue.dbId}\u0000${row.uniqueKey}`));
    if (won.length > 0) await insertRows(tx, won, won.map((row) => seqOf.get(`${row.queue.dbId}\u0000${row.uniqueKey}`)!));
    // the holders of the keys taken: the live row if it is still there, else what the reservation kept of the first message (no body)
    const lost = [...requests.entries()].filter(([key, list]) => list.length > 1 || !seqOf.has(key)).map(([, list]) => list[0]!);
    const holders = new Map<string, MessageRow>();
    if (lost.length > 0) {
      const { rows } = await tx.query<MessageRow & { unique_key: string }>(
        `SELECT k.queue_id, k.seq, coalesce(m.rank, 0) AS rank, coalesce(m.not_before, 0) AS not_before, m.holder, m.lease_until,
           coalesce(m.deliveries, -1) AS deliveries, k.exchange, k.routing_key, k.properties, coalesce(m.body, '\\x'::bytea) AS body, k.annotations, k.unique_key
         FROM queue_unique_keys k JOIN unnest($1::bigint[], $2::text[]) AS u(queue_id, unique_key) ON k.queue_id = u.queue_id AND k.unique_key = u.unique_key
         LEFT JOIN queue_messages m ON m.queue_id = k.queue_id AND m.seq = k.seq`,
        [lost.map((row) => row.queue.dbId), lost.map((row) => row.uniqueKey)],
      );
      for (const row of rows) holders.set(`${row.queue_id}\u0000${row.unique_key}`, row);
    }
    for (const [key, list] of requests) {
      const seq = seqOf.get(key);
      const holderRow = holders.get(key);
      list.forEach((row, at) => {
        if (at === 0 && seq !== undefined) w.after.push((committed) => row.settled(committed ? { added: true, seq } : null));
        else w.after.push((committed) => row.settled(!committed ? null : holderRow !== undefined ? { added: false, row: holderRow } : 'gone'));
      });
    }
  }

  settled(no: number, committed: boolean): void {
    const w = this.open.get(no);
    if (w === undefined) return;
    this.open.delete(no);
    // what was read in a transaction that did not commit is not told; the rows never written are
    for (const uniqueRow of w.uniques) if (!committed) uniqueRow.settled(null);
    for (const ops of [w.expiries, w.leaseAcks, w.leaseReleases, w.touches]) if (!committed) for (const op of ops) op.settled(null);
    if (committed) for (const then of w.after) then(true);
    for (const queue of w.woken) queue.batchSettled(no, committed);
    if (committed) for (const queue of w.woken) queue.wake();
  }
}

/**
 * Locks every existing row the batch changes, in (queue, seq) order, before changing any: the
 * batches of several nodes touch the same rows (a job leased in one node's batch is acked in
 * another's), and rows locked statement by statement in whatever order each plan takes them would
 * deadlock across nodes.
 */
async function lockInOrder(tx: PoolClient, w: QueueWrites): Promise<void> {
  const kinds = [w.deletes, w.requeues, w.removes, w.expiries, w.leaseAcks, w.touches, w.leaseReleases].filter((list) => list.length > 0);
  // one statement's rows are another node's only by a rare overlap (the deadlock detector has those)
  if (kinds.length <= 1) return;
  const refs: RowRef[] = kinds.flat();
  await tx.query(
    `SELECT 1 FROM queue_messages m JOIN unnest($1::bigint[], $2::bigint[]) AS r(queue_id, seq) ON m.queue_id = r.queue_id AND m.seq = r.seq
     ORDER BY m.queue_id, m.seq FOR UPDATE OF m`,
    [refs.map((r) => r.queueId), refs.map((r) => r.seq)],
  );
}

/** Adds message rows: seqs from the sequence, or those given (reserved with their unique keys). */
async function insertRows(tx: PoolClient, rows: readonly RowInsert[], seqs: number[] | null): Promise<void> {
  const columns = 'queue_id, rank, not_before, key_1, key_2, group_key, group_order, exchange, routing_key, properties, body, annotations';
  const types = ['bigint', 'bigint', 'bigint', 'text', 'text', 'text', 'bigint', 'bytea', 'bytea', 'bytea', 'bytea', 'text'];
  const values: unknown[] = [
    rows.map((r) => r.queue.dbId),
    rows.map((r) => r.rank),
    rows.map((r) => r.notBefore),
    rows.map((r) => r.key1),
    rows.map((r) => r.key2),
    rows.map((r) => r.groupKey),
    rows.map((r) => r.groupOrder),
    rows.map((r) => r.exchange),
    rows.map((r) => r.routingKey),
    rows.map((r) => r.properties),
    rows.map((r) => r.body),
    rows.map((r) => r.annotations),
  ];
  if (seqs !== null) {
    types.unshift('bigint');
    values.unshift(seqs);
  }
  const unnest = types.map((type, at) => `$${at + 1}::${type}[]`).join(', ');
  await tx.query(`INSERT INTO queue_messages (${seqs !== null ? 'seq, ' : ''}${columns}) SELECT * FROM unnest(${unnest})`, values);
}
