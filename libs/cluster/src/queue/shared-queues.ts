import type { PoolClient } from 'pg';
import type { Cluster } from '../cluster';
import type { QueryResult, QueryResultRow } from 'pg';
import { CHANNELS } from '../database/notifications';
import { asStoreError } from '../database/unavailable';
import type { DeadNode } from '../nodes/releasers';
import type { DatabaseQueue } from './database-queue';
import { MessageRow, ROW_COLUMNS, M_ROW_COLUMNS } from './message-rows';
import { LeaseOp, QueueBatchPart, RowInsert, UniqueInsert } from './queue-batch';
import type { SharedEntry } from './shared-entry';

/** How often a node deletes unique keys past their window. */
const KEY_PRUNE_INTERVAL_MS = 60_000;

/** Rows a listing reads per round trip. */
const LIST_PAGE = 1000;

/**
 * One node's side of the shared queues: the batch part their writes commit in, the claims, the
 * wakeups (a NOTIFY per commit that made rows ready, else the poll), the poll itself (counts,
 * leases past their deadline), and the release of what a dead node held. Each queue object
 * (DatabaseQueue) is this node's view of one queue; the rows are everyone's.
 */
export class SharedQueues {
  /** What this node's claims write into `holder`: this start of the node. */
  readonly holder: string;
  private readonly part: QueueBatchPart;
  private readonly live = new Set<DatabaseQueue>();
  private readonly byDbId = new Map<number, DatabaseQueue>();
  private started = false;
  private poller: NodeJS.Timeout | null = null;
  private polling = false;
  /** When expired unique keys were deleted last (by this node's poll). */
  private prunedAt = Date.now();
  /** The batch a wakeup NOTIFY was asked for last (one per commit), and the queues it names. */
  private notifiedBatch = -1;
  private notifiedQueues = new Set<number | null>();

  constructor(private readonly cluster: Cluster) {
    this.holder = cluster.incarnation;
    this.part = new QueueBatchPart(this.holder);
    cluster.releasers.add('shared queue rows', (node, tx) => this.release(node, tx));
  }

  private get store() {
    return this.cluster.store;
  }

  private get database() {
    return this.cluster.database;
  }

  /** A queue object was made on this node (the store is open by then). */
  adopt(queue: DatabaseQueue): void {
    this.start();
    this.live.add(queue);
  }

  forget(queue: DatabaseQueue): void {
    this.live.delete(queue);
    if (queue.dbId !== null && this.byDbId.get(queue.dbId) === queue) this.byDbId.delete(queue.dbId);
  }

  identified(queue: DatabaseQueue, id: number): void {
    queue.dbId = id;
    if (!queue.deleted) this.byDbId.set(id, queue);
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.store.addPart(this.part);
    const notifications = this.cluster.notifications;
    if (notifications !== null) {
      notifications.on(CHANNELS.queues, (payload) => this.notified(payload));
      notifications.onReconnect(() => this.wakeAll());
    }
    this.poller = setInterval(() => void this.poll(), this.cluster.options.pollIntervalMs);
    this.poller.unref();
  }

  // ---- writes into the store's open batch ------------------------------------------------------

  private writes(bytes: number) {
    const writes = this.part.writes(this.store.openBatchNo);
    this.store.wroteToOpenBatch(bytes);
    return writes;
  }

  /** Rows of `queue` become ready when this batch commits: wake its consumers here, and the other nodes by one NOTIFY per commit. */
  private readied(writes: ReturnType<QueueBatchPart['writes']>, queue: DatabaseQueue): void {
    writes.woken.add(queue);
    const no = this.store.openBatchNo;
    if (this.notifiedBatch !== no) {
      this.notifiedBatch = no;
      this.notifiedQueues = new Set();
    }
    if (this.notifiedQueues.has(queue.dbId)) return;
    this.notifiedQueues.add(queue.dbId);
    // the last payload of a commit wins: it names every queue of the batch (an id not known yet: all)
    const ids = this.notifiedQueues.has(null) ? '*' : [...this.notifiedQueues].join(',');
    this.store.notifyOnCommit(CHANNELS.queues, `${this.holder} ${ids}`);
  }

  /**
   * A NOTIFY of another node: the queues it names have rows ready ('*': any queue). This node's
   * own commits woke its queues already (QueueBatchPart.settled), so its own notifications are
   * not acted on, and a queue nobody waits on here does not claim.
   */
  private notified(payload: string): void {
    const [from, ids] = payload.split(' ');
    if (from === this.holder) return;
    if (ids === undefined || ids === '*') {
      this.wakeAll();
      return;
    }
    for (const id of ids.split(',')) this.byDbId.get(Number(id))?.wake();
  }

  insert(row: RowInsert): void {
    const writes = this.writes(row.body.length + row.properties.length + 64);
    writes.inserts.push(row);
    this.readied(writes, row.queue as DatabaseQueue);
  }

  insertUnique(row: UniqueInsert): void {
    const writes = this.writes(row.body.length + row.properties.length + 64);
    writes.uniques.push(row);
    this.readied(writes, row.queue as DatabaseQueue);
  }

  delete(entry: SharedEntry): void {
    if (entry.dbQueueId === 0) return;
    this.writes(16).deletes.push({ queueId: entry.dbQueueId, seq: entry.seq });
  }

  requeue(entry: SharedEntry): void {
    if (entry.dbQueueId === 0) return;
    const writes = this.writes(16);
    writes.requeues.push({ queueId: entry.dbQueueId, seq: entry.seq });
    this.readied(writes, entry.queue as DatabaseQueue);
  }

  remove(entry: SharedEntry): void {
    this.writes(16).removes.push({ queueId: entry.dbQueueId, seq: entry.seq });
  }

  purge(queue: DatabaseQueue): void {
    if (queue.dbId !== null) this.writes(16).purges.push(queue.dbId);
  }

  /** A lease operation (LeaseBook), settled once its batch committed. */
  lease(kind: 'expiries' | 'leaseAcks' | 'leaseReleases' | 'touches', op: LeaseOp, readies?: DatabaseQueue): void {
    const writes = this.writes(32);
    writes[kind].push(op);
    if (readies !== undefined) this.readied(writes, readies);
  }

  /** The store batch writes go into now. */
  get openBatchNo(): number {
    return this.store.openBatchNo;
  }

  /** Resolves once everything written so far is committed (a lookup then reads what this node wrote). */
  committed(): Promise<void> {
    return new Promise((resolve) => this.store.whenCommitted(this.store.currentToken(), () => resolve()));
  }

  // ---- claims and reads ------------------------------------------------------------------------

  /** The queue's database id (looked up once). */
  async idOf(queue: DatabaseQueue): Promise<number | null> {
    if (queue.dbId !== null) return queue.dbId;
    const { rows } = await this.read<{ id: string }>('SELECT id FROM queues WHERE vhost = $1 AND name = $2', [queue.vhost, queue.name]);
    if (rows[0] !== undefined) this.identified(queue, Number(rows[0].id));
    return queue.dbId;
  }

  /**
   * Takes up to `limit` ready rows of the queue for this node: due ones, in rank then arrival
   * order, skipping rows other nodes are claiming at this moment. Each is counted as taken once
   * more (its lease id changes with it).
   */
  async claim(queue: DatabaseQueue, limit: number): Promise<MessageRow[]> {
    const id = await this.idOf(queue);
    if (id === null) return [];
    // a row of a group waits while one of its group is out or comes before it (groupBy)
    const grouped =
      queue.grouping === null
        ? ''
        : `AND (r.group_key IS NULL OR NOT EXISTS (SELECT 1 FROM queue_messages g WHERE g.queue_id = $1 AND g.group_key = r.group_key
             AND (g.holder IS NOT NULL OR g.group_order < r.group_order OR (g.group_order = r.group_order AND g.seq < r.seq))))`;
    // committed without waiting for the WAL flush: a claim lost in a database crash leaves its
    // rows ready again, which is what a node's death does too (redelivered: at least once)
    const { rows } = await this.read<MessageRow>(
      `WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true)),
       next AS (
         SELECT seq FROM queue_messages r WHERE queue_id = $1 AND holder IS NULL AND not_before <= $2 ${grouped}
         ORDER BY rank, seq LIMIT $3 FOR UPDATE SKIP LOCKED)
       UPDATE queue_messages m SET holder = $4, deliveries = m.deliveries + 1
       FROM next, no_flush_wait WHERE m.queue_id = $1 AND m.seq = next.seq
       RETURNING ${M_ROW_COLUMNS}`,
      [id, Date.now(), limit, this.holder],
    );
    return rows;
  }

  /** The latest row of the queue whose key column (0: key_1, 1: key_2) is `key`. */
  async findRow(queue: DatabaseQueue, column: number, key: string): Promise<MessageRow | undefined> {
    const id = await this.idOf(queue);
    if (id === null) return undefined;
    const { rows } = await this.read<MessageRow>(
      `SELECT ${ROW_COLUMNS} FROM queue_messages WHERE queue_id = $1 AND key_${column + 1} = $2 ORDER BY seq DESC LIMIT 1`,
      [id, key],
    );
    return rows[0];
  }

  /** The row a lease names, as it stands (any holder). */
  async leasedRow(queueId: number, seq: number, deliveries: number): Promise<MessageRow | undefined> {
    const { rows } = await this.read<MessageRow>(
      `SELECT ${ROW_COLUMNS} FROM queue_messages WHERE queue_id = $1 AND seq = $2 AND deliveries = $3 AND holder IS NOT NULL AND (lease_until IS NULL OR lease_until >= $4)`,
      [queueId, seq, deliveries, Date.now()],
    );
    return rows[0];
  }

  /** Visits the queue's ready rows in claim order (due ones first), then its delayed ones by due time. */
  async listRows(queue: DatabaseQueue, visit: (row: MessageRow) => boolean): Promise<void> {
    const id = await this.idOf(queue);
    if (id === null) return;
    const now = Date.now();
    for (const [where, order] of [
      ['not_before <= $2', 'rank, seq'],
      ['not_before > $2', 'not_before, seq'],
    ] as const) {
      let offset = 0;
      for (;;) {
        const { rows } = await this.read<MessageRow>(
          `SELECT ${ROW_COLUMNS} FROM queue_messages WHERE queue_id = $1 AND holder IS NULL AND ${where} ORDER BY ${order} LIMIT ${LIST_PAGE} OFFSET $3`,
          [id, now, offset],
        );
        for (const row of rows) if (!visit(row)) return;
        if (rows.length < LIST_PAGE) break;
        offset += rows.length;
      }
    }
  }

  /** The live queue object of a database id on this node (looked up by name when this node has not met the id yet). */
  async queueOfId(id: number): Promise<DatabaseQueue | undefined> {
    const known = this.byDbId.get(id);
    if (known !== undefined) return known;
    const { rows } = await this.read<{ vhost: string; name: string }>('SELECT vhost, name FROM queues WHERE id = $1', [id]);
    const row = rows[0];
    if (row === undefined) return undefined;
    for (const queue of this.live) {
      if (queue.vhost === row.vhost && queue.name === row.name) {
        this.identified(queue, id);
        return queue;
      }
    }
    return undefined;
  }

  /** A read or claim for a caller: a database out of reach is `store-unavailable` (503), said at once while it is known down. */
  private async read<R extends QueryResultRow>(text: string, values: unknown[]): Promise<QueryResult<R>> {
    const reason = this.database.unavailableReason;
    if (reason !== null) throw asStoreError(Object.assign(new Error(reason), { code: '08006' }));
    try {
      return await this.database.query<R>(text, values);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  // ---- wakeups, the poll, dead nodes ------------------------------------------------------------

  private wakeAll(): void {
    for (const queue of this.live) queue.wake();
  }

  /**
   * Every poll interval: leases past their deadline go back (any node may do it, the first one
   * does), the counts of this node's queues are read again, and queues with waiting consumers
   * claim (what NOTIFY did not tell: DATABASE_NOTIFY=false, a lost notification, a due row).
   */
  private async poll(): Promise<void> {
    if (this.polling || !this.database.available || this.live.size === 0) return;
    this.polling = true;
    try {
      const now = Date.now();
      // rows a batch is settling right now are skipped (the batch may be acking them): the next poll looks again
      if (now - this.prunedAt >= KEY_PRUNE_INTERVAL_MS) {
        this.prunedAt = now;
        await this.database.query('DELETE FROM queue_unique_keys WHERE expires_at < $1', [now]);
      }
      const expired = await this.database.query(
        `UPDATE queue_messages m SET holder = NULL, lease_until = NULL FROM (
           SELECT queue_id, seq FROM queue_messages WHERE lease_until < $1 FOR UPDATE SKIP LOCKED) AS x
         WHERE m.queue_id = x.queue_id AND m.seq = x.seq`,
        [now],
      );
      if ((expired.rowCount ?? 0) > 0) this.store.notifyOnCommit(CHANNELS.queues, `${this.holder} *`);
      const ids: number[] = [];
      for (const queue of this.live) {
        const id = queue.dbId ?? (await this.idOf(queue));
        if (id !== null) ids.push(id);
      }
      const countedAt = Date.now();
      const { rows } = await this.database.query<{ queue_id: string; ready: number; delayed: number; unacked: number; bytes: number; next_due: string | null }>(
        `SELECT queue_id,
           count(*) FILTER (WHERE holder IS NULL AND not_before <= $2)::int AS ready,
           count(*) FILTER (WHERE holder IS NULL AND not_before > $2)::int AS delayed,
           count(*) FILTER (WHERE holder IS NOT NULL)::int AS unacked,
           coalesce(sum(octet_length(body)) FILTER (WHERE holder IS NULL AND not_before <= $2), 0)::float8 AS bytes,
           min(not_before) FILTER (WHERE holder IS NULL AND not_before > $2) AS next_due
         FROM queue_messages WHERE queue_id = ANY($1::bigint[]) GROUP BY queue_id`,
        [ids, now],
      );
      const counted = new Map(rows.map((row) => [Number(row.queue_id), row]));
      for (const id of ids) {
        const queue = this.byDbId.get(id);
        const row = counted.get(id);
        queue?.counted({ ready: row?.ready ?? 0, delayed: row?.delayed ?? 0, unacked: row?.unacked ?? 0, readyBytes: row?.bytes ?? 0 }, row?.next_due ? Number(row.next_due) : 0, countedAt);
      }
      this.wakeAll();
    } catch {
      // the database is unavailable (Database marked it): the next round looks again
    } finally {
      this.polling = false;
    }
  }

  /** A dead node's rows go back to ready (redelivered: they count as taken once more when claimed). */
  private async release(node: DeadNode, tx: PoolClient): Promise<void> {
    const { rowCount } = await tx.query('UPDATE queue_messages SET holder = NULL, lease_until = NULL WHERE holder = $1', [node.incarnation]);
    if ((rowCount ?? 0) > 0) {
      await tx.query('SELECT pg_notify($1, $2)', [CHANNELS.queues, `${node.incarnation} *`]);
      // this node hears its own NOTIFY; without them it claims at its next poll
    }
  }
}
