import type { Broker } from '#core';
import type { Logger } from '#observability';
import type { Database } from '../database/database';
import { CHANNELS, Notifications } from '../database/notifications';
import { describeDatabaseError } from '../database/unavailable';
import { decodeChange, definitionKey, StoredChange } from '../store/change-codec';
import type { PostgresStore } from '../store/postgres-store';
import { resyncDefinitions } from './definition-resync';

export interface FollowerOptions {
  /** This node's row id (where it records the version it applied). */
  nodeId: () => number;
  /** This node's incarnation: its own changes are applied already. */
  origin: string;
  /** The version the broker's loaded definitions reflect at least. */
  startVersion: number;
  /** NOTIFY the writers waiting for this node after applying (false: they poll). */
  notify: boolean;
  /** Looking for changes without a notification: every this many ms. */
  pollMs: number;
}

/** Versions read from the log at most per query. */
const VERSIONS_PER_READ = 200;

/**
 * Keeps this node's definitions (the core's topology and registries: its cache) in line with the
 * change log other nodes write: on a NOTIFY, after the LISTEN connection came back, and on a poll
 * timer (the only way with DATABASE_NOTIFY=false), it applies every change after the version it
 * has, in order (Broker.applyDefinitionChange: nothing is written back), then records the version
 * in its `nodes` row and says so (NOTIFY) to writers waiting for it. When it cannot follow the
 * log (changes it needed were pruned, or a batch of its own definition changes was lost, so its
 * memory holds changes the database may not) it reloads every definition and replaces its own.
 */
export class DefinitionFollower {
  private applied: number;
  /** The version last recorded in this node's row. */
  private reported = -1;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private resyncReason: string | null = null;
  private stopped = false;

  constructor(
    private readonly database: Database,
    private readonly store: PostgresStore,
    private readonly broker: Broker,
    private readonly options: FollowerOptions,
    notifications: Notifications | null,
    private readonly log: Logger,
  ) {
    this.applied = options.startVersion;
    notifications?.on(CHANNELS.definitions, () => void this.catchUp());
    notifications?.onReconnect(() => void this.catchUp());
    database.onAvailable(() => void this.catchUp());
  }

  /** The version this node's definitions reflect. */
  get version(): number {
    return this.applied;
  }

  /** Why this node's definitions may be out of date until the next catch-up, or null. */
  get problem(): string | null {
    return this.resyncReason === null ? null : `definitions are being reloaded from the database (${this.resyncReason})`;
  }

  /** Starts the poll timer. */
  start(): void {
    this.timer = setInterval(() => void this.catchUp(), this.options.pollMs);
    this.timer.unref();
  }

  /** The next catch-up reloads every definition (this node's memory may hold changes the database has not). */
  requestResync(reason: string): void {
    this.resyncReason ??= reason;
    void this.catchUp();
  }

  /** Applies every change committed so far; one run at a time (a call during a run makes it run again). */
  catchUp(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.followOnce();
        } catch (error) {
          // the database went away: the next notification, reconnect or poll tries again
          this.log.debug({ err: describeDatabaseError(error) }, 'could not follow definition changes');
          return;
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async followOnce(): Promise<void> {
    const { rows } = await this.database.query<{ version: string; pruned_through: string }>('SELECT version, pruned_through FROM definition_log');
    const head = Number(rows[0]?.version ?? 0);
    const prunedThrough = Number(rows[0]?.pruned_through ?? 0);
    if (this.resyncReason === null && this.applied < prunedThrough) this.resyncReason = `changes after version ${this.applied} were pruned`;
    if (this.resyncReason !== null) {
      const reason = this.resyncReason;
      this.applied = await resyncDefinitions(this.database, this.broker, this.log);
      this.resyncReason = null;
      this.log.warn({ reason, version: this.applied }, 'definitions reloaded from the database');
    }
    while (this.applied < head && !this.stopped) {
      const until = Math.min(head, this.applied + VERSIONS_PER_READ);
      const changes = await this.database.query<{ version: string; origin: string; change: StoredChange }>(
        'SELECT version, origin, change FROM definition_changes WHERE version > $1 AND version <= $2 ORDER BY version, ordinal',
        [this.applied, until],
      );
      for (const row of changes.rows) {
        if (row.origin === this.options.origin) continue;
        this.apply(row.change, Number(row.version));
      }
      this.applied = until;
    }
    this.store.forgetOwnWritesThrough(this.applied);
    if (this.applied !== this.reported) await this.report();
  }

  /**
   * Applies another node's change, unless this node wrote the same definition later (its own
   * write is pending or committed after it): the database ends with this node's write, and so does
   * its memory. Two nodes changing one definition at once end up agreeing with the database.
   */
  private apply(stored: StoredChange, version: number): void {
    try {
      const change = decodeChange(stored);
      if (this.store.wroteAfter(definitionKey(change, 'identity' in stored ? stored.identity : ''), version)) return;
      this.broker.applyDefinitionChange(change);
    } catch (error) {
      // one change this node cannot apply must not stop it from following the others
      this.log.error({ err: error, version, change: stored.kind }, 'could not apply a definition change another node committed');
    }
  }

  /** The node registered with this version in its row. */
  registeredAt(version: number): void {
    this.reported = version;
  }

  /** Records the applied version in this node's row and wakes writers waiting for it. */
  private async report(): Promise<void> {
    const id = this.options.nodeId();
    if (id === 0) return;
    const version = this.applied;
    await this.database.query(
      this.options.notify
        ? `WITH reported AS (UPDATE nodes SET applied_version = $2 WHERE id = $1 AND incarnation = $3 RETURNING id) SELECT pg_notify('${CHANNELS.applied}', $4) FROM reported`
        : 'UPDATE nodes SET applied_version = $2 WHERE id = $1 AND incarnation = $3',
      this.options.notify ? [id, version, this.options.origin, String(version)] : [id, version, this.options.origin],
    );
    this.reported = version;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.running;
  }
}
