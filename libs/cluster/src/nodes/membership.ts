import type { NodeFigures } from '#core';
import type { Logger } from '#observability';
import type { PoolClient } from 'pg';
import type { Database } from '../database/database';
import { describeDatabaseError } from '../database/unavailable';
import { DeadNode, Releasers } from './releasers';

export interface MembershipOptions {
  name: string;
  incarnation: string;
  host: string;
  addresses: string[];
  /** Silent this long: dead. The node heartbeats every third of it. */
  timeoutMs: number;
}

/** How often the change log and long-gone nodes are pruned (by whichever node's heartbeat comes first). */
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * This node's row in `nodes`: registered at start, heartbeated every third of the node timeout
 * (with the figures /api/nodes shows), marked 'left' at a clean stop. Each heartbeat also looks
 * for nodes silent for the timeout: the first live node to see one marks it dead and runs the
 * releasers, in one transaction (the conditional UPDATE's row lock lets exactly one node do it).
 * A node judges others only once its own database connection has been up for a whole timeout, so
 * nodes coming back from a database outage do not declare each other dead.
 */
export class Membership {
  /** This node's row id (0 until registered). */
  id = 0;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private lastPrune = 0;
  private lost: string | null = null;
  private readonly rejoinListeners: (() => void)[] = [];
  private readonly deadListeners: ((nodes: DeadNode[]) => void)[] = [];

  constructor(
    private readonly database: Database,
    private readonly options: MembershipOptions,
    private readonly releasers: Releasers,
    private readonly figures: () => NodeFigures,
    private readonly log: Logger,
  ) {}

  /** Why this node no longer counts as a member (another incarnation took its name), or null. */
  get problem(): string | null {
    return this.lost;
  }

  /**
   * Registers this incarnation. A row of the same name still heartbeating (another node with this
   * name, or this node's previous incarnation within the timeout) is waited out for up to two
   * timeouts; a previous incarnation that stopped heartbeating is taken over, its work released first.
   */
  async register(appliedVersion: number): Promise<void> {
    const deadline = Date.now() + 2 * this.options.timeoutMs;
    for (;;) {
      const outcome = await this.tryRegister(appliedVersion).catch((error: unknown) => {
        // two nodes inserting one new name at once: the loser looks again
        if ((error as { code?: string }).code === '23505') return 'busy' as const;
        throw error;
      });
      if (outcome !== 'busy') return;
      if (Date.now() > deadline) {
        throw new Error(`node name '${this.options.name}' is held by a node that is still heartbeating: give every node its own NODE_NAME`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.timeoutMs / 3));
    }
  }

  private tryRegister(appliedVersion: number): Promise<'registered' | 'busy'> {
    const { name, incarnation, host, addresses, timeoutMs } = this.options;
    return this.database.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number; incarnation: string; state: string; silent_ms: number }>(
        `SELECT id, incarnation, state, (extract(epoch FROM now() - last_heartbeat) * 1000)::float8 AS silent_ms FROM nodes WHERE name = $1 FOR UPDATE`,
        [name],
      );
      const row = rows[0];
      if (row !== undefined && row.state === 'running' && row.incarnation !== incarnation) {
        if (row.silent_ms < timeoutMs) return 'busy';
        // this node's previous incarnation died and no one noticed yet: its work goes back first
        await this.releasers.releaseFor({ id: row.id, name, incarnation: row.incarnation }, tx);
        this.log.warn({ node: name, silentMs: Math.round(row.silent_ms) }, 'took over from this node name\'s previous incarnation, which stopped heartbeating; released what it held');
      }
      const values = [name, incarnation, host, JSON.stringify(addresses), appliedVersion];
      const { rows: registered } =
        row === undefined
          ? await tx.query<{ id: number }>(
              `INSERT INTO nodes (name, incarnation, state, host, addresses, started_at, last_heartbeat, applied_version)
               VALUES ($1, $2, 'running', $3, $4, now(), now(), $5) RETURNING id`,
              values,
            )
          : await tx.query<{ id: number }>(
              `UPDATE nodes SET incarnation = $2, state = 'running', host = $3, addresses = $4, ports = '{}', started_at = now(), last_heartbeat = now(),
                 applied_version = $5, figures = NULL, ended_at = NULL, ended_by = NULL
               WHERE name = $1 RETURNING id`,
              values,
            );
      this.id = registered[0]!.id;
      return 'registered';
    });
  }

  /** Starts heartbeating (and judging silent nodes). */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.options.timeoutMs / 3)));
    this.timer.unref();
  }

  /** The ports this node's doors listen on, once they are bound. */
  async announce(ports: Record<string, number>): Promise<void> {
    await this.database.query('UPDATE nodes SET ports = $3 WHERE id = $1 AND incarnation = $2', [this.id, this.options.incarnation, JSON.stringify(ports)]);
  }

  /** Called when this node finds it was declared dead (it was silent too long) and rejoins: what it held was released. */
  onRejoin(listener: () => void): void {
    this.rejoinListeners.push(listener);
  }

  /** Called with the nodes this node declared dead (after their work was released). */
  onDeclaredDead(listener: (nodes: DeadNode[]) => void): void {
    this.deadListeners.push(listener);
  }

  /** One heartbeat (and a look for silent nodes); one at a time. */
  beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    if (this.lost !== null || this.id === 0) return;
    try {
      const { rows } = await this.database.query<{ state: string }>(
        'UPDATE nodes SET last_heartbeat = now(), figures = $3 WHERE id = $1 AND incarnation = $2 RETURNING state',
        [this.id, this.options.incarnation, JSON.stringify(this.figures())],
      );
      const state = rows[0]?.state;
      if (state === undefined) {
        this.lost = `another incarnation took over the node name '${this.options.name}': stop this node`;
        this.log.error({ node: this.options.name }, this.lost);
        return;
      }
      if (state !== 'running') await this.rejoin();
      if (this.database.availableFor() >= this.options.timeoutMs) await this.declareSilentNodesDead();
      if (Date.now() - this.lastPrune >= PRUNE_INTERVAL_MS) await this.prune();
    } catch (error) {
      // the database is unavailable (Database marked it) or the query failed: the next beat tries again
      this.log.debug({ err: describeDatabaseError(error) }, 'heartbeat failed');
    }
  }

  private async rejoin(): Promise<void> {
    await this.database.query(`UPDATE nodes SET state = 'running', ended_at = NULL, ended_by = NULL WHERE id = $1 AND incarnation = $2`, [this.id, this.options.incarnation]);
    this.log.warn({ node: this.options.name }, 'this node was declared dead (silent for longer than CLUSTER_NODE_TIMEOUT_MS) and rejoined: what it held was released to the other nodes');
    for (const listener of this.rejoinListeners) listener();
  }

  /** Marks every node silent for the timeout dead and runs the releasers for each, in one transaction. */
  async declareSilentNodesDead(): Promise<DeadNode[]> {
    const dead = await this.database.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number; name: string; incarnation: string }>(
        `UPDATE nodes SET state = 'dead', ended_at = now(), ended_by = $1
         WHERE state = 'running' AND id <> $2 AND last_heartbeat < now() - $3::float8 * interval '1 millisecond'
         RETURNING id, name, incarnation`,
        [this.options.name, this.id, this.options.timeoutMs],
      );
      for (const node of rows) await this.releasers.releaseFor(node, tx);
      return rows;
    });
    for (const node of dead) this.log.warn({ node: node.name, timeoutMs: this.options.timeoutMs }, 'node declared dead (no heartbeat within the node timeout); released what it held');
    if (dead.length > 0) for (const listener of this.deadListeners) listener(dead);
    return dead;
  }

  /**
   * Drops definition changes every running node applied over an hour ago (a node behind the
   * pruned point reloads every definition), and nodes gone for over a day.
   */
  private async prune(): Promise<void> {
    this.lastPrune = Date.now();
    await this.database.transaction(async (tx: PoolClient) => {
      await tx.query(`
        WITH horizon AS (
          SELECT LEAST(
            (SELECT COALESCE(min(applied_version), 0) FROM nodes WHERE state = 'running'),
            (SELECT COALESCE(max(version), 0) FROM definition_changes WHERE committed_at < now() - interval '1 hour')) AS v),
        pruned AS (DELETE FROM definition_changes WHERE version <= (SELECT v FROM horizon))
        UPDATE definition_log SET pruned_through = GREATEST(pruned_through, (SELECT v FROM horizon))`);
      await tx.query(`DELETE FROM nodes WHERE state <> 'running' AND ended_at < now() - interval '1 day'`);
    });
  }

  /** Stops heartbeating and marks the node 'left', releasing what it still held. */
  async leave(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    if (this.id === 0 || this.lost !== null) return;
    const { name, incarnation } = this.options;
    await this.database.transaction(async (tx) => {
      const { rowCount } = await tx.query(`UPDATE nodes SET state = 'left', ended_at = now(), ended_by = $3 WHERE id = $1 AND incarnation = $2`, [this.id, incarnation, name]);
      if ((rowCount ?? 0) > 0) await this.releasers.releaseFor({ id: this.id, name, incarnation }, tx);
    });
  }
}
