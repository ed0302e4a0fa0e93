import { Broker, ClusterView, DATABASE_SEEDED, QueueType, QueueTypeOptions } from '#core';
import type { Logger } from '#observability';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClusterOptions } from './cluster-options';
import { DatabaseClusterView } from './cluster-view';
import { Database } from './database/database';
import { Notifications } from './database/notifications';
import { describeDatabaseError } from './database/unavailable';
import { AppliedBarrier } from './definitions/applied-barrier';
import { DefinitionFollower } from './definitions/definition-follower';
import { hostAddresses, nodeFigures } from './node-figures';
import { Membership } from './nodes/membership';
import { Releasers } from './nodes/releasers';
import { migrateSchema } from './schema/migrate';
import { SHARED_QUEUE_TYPES } from './shared-queue-types';
import { PostgresStore } from './store/postgres-store';

/** Why queues that live in one node's memory are refused (the text of the 406). */
const SHARED_ONLY =
  'with STORE=postgres only queue types shared through the database may be declared, and this broker has none yet (the database-backed queue type comes with issue 28 part 2)';

/**
 * One broker node of a cluster that shares one PostgreSQL (STORE=postgres), composed by the
 * application around the core:
 *
 * 1. `openStore` (the core's store factory): connects, creates or migrates the schema under the
 *    migration lock, opens the PostgresStore;
 * 2. the broker opens on it (definitions loaded from the database);
 * 3. `join`: listens for notifications, registers this node, catches up with definition changes
 *    made since the store opened, then heartbeats, judges silent nodes and follows changes;
 * 4. `announce` the doors' ports once they listen;
 * 5. `leave` at shutdown: the store commits what is pending, the node is marked 'left' (its work
 *    released), the connections close.
 *
 * What other parts of cluster mode use: `database` (the pool), `store` (its `notifyOnCommit`),
 * `notifications` (LISTEN, null with DATABASE_NOTIFY=false), `releasers` (what a dead node held
 * goes back), `queueTypes` (the broker's queue types here).
 */
export class Cluster {
  /** This start of the node: the origin of the changes it logs, the owner of what it holds. */
  readonly incarnation = randomUUID();
  readonly database: Database;
  readonly notifications: Notifications | null;
  readonly releasers = new Releasers();
  readonly view: ClusterView;
  private readonly barrier: AppliedBarrier;
  private opened: PostgresStore | null = null;
  private membership: Membership | null = null;
  private follower: DefinitionFollower | null = null;
  private leaving: Promise<void> | null = null;
  private sharedTypes: QueueType[] | null = null;

  constructor(
    readonly options: ClusterOptions,
    private readonly log: Logger,
  ) {
    this.database = new Database({
      url: options.databaseUrl,
      poolSize: options.poolSize,
      // a frozen server must not hold a commit (and the doors behind it) past half a node timeout
      queryTimeoutMs: Math.max(1000, Math.floor(options.nodeTimeoutMs / 2)),
      connectTimeoutMs: Math.max(1000, Math.floor(options.nodeTimeoutMs / 5)),
      applicationName: `broker ${options.nodeName}`,
    });
    this.database.onUnavailable((reason) => this.log.warn({ reason }, 'the database is unavailable: writes answer 503 until it is back'));
    this.database.onAvailable(() => this.log.info('the database is available again'));
    this.notifications = options.notify ? new Notifications(this.database) : null;
    this.barrier = new AppliedBarrier(
      this.database,
      { node: options.nodeName, timeoutMs: options.nodeTimeoutMs, recheckMs: options.notify ? 100 : Math.min(250, Math.max(10, Math.floor(options.pollIntervalMs / 4))) },
      this.notifications,
      log,
    );
    this.view = new DatabaseClusterView(options.nodeName, this.database, options.nodeTimeoutMs, () => [this.membership?.problem ?? null, this.follower?.problem ?? null]);
  }

  /** The broker's queue types in cluster mode: only those shared across nodes may be declared, the first the default. */
  queueTypes(): QueueTypeOptions {
    const types = this.sharedQueueTypes();
    const fallback = types[0];
    if (fallback === undefined) return { sharedOnly: SHARED_ONLY };
    return { types, defaultType: fallback.name, sharedOnly: `with STORE=postgres only queue types shared through the database may be declared (${types.map((t) => t.name).join(', ')})` };
  }

  /** The queue types shared across nodes, made for this node once. */
  sharedQueueTypes(): readonly QueueType[] {
    this.sharedTypes ??= SHARED_QUEUE_TYPES.map((make) => make(this));
    return this.sharedTypes;
  }

  /** Whether queues can be declared at all here (a queue type shared across nodes exists). */
  get sharesQueues(): boolean {
    return SHARED_QUEUE_TYPES.length > 0;
  }

  /** The store, once opened. */
  get store(): PostgresStore {
    if (this.opened === null) throw new Error('the cluster store is not open yet');
    return this.opened;
  }

  /** Migrates the schema (under the migration lock) and opens the store on it. */
  async openStore(): Promise<PostgresStore> {
    const migration = await migrateSchema(this.database, this.options.nodeName);
    if (migration.from !== migration.to) this.log.info(migration, 'database schema migrated');
    // on a new database the node that made the schema seeds it (the default user); the others wait
    // for that, so they do not each make the user with a password hash of their own
    if (migration.from !== 0) await this.waitForSeed();
    const store = await PostgresStore.open(this.database, { origin: this.incarnation, notify: this.options.notify });
    store.shareDefinitions((version) => this.barrier.wait(version));
    this.opened = store;
    return store;
  }

  /** Waits (up to two node timeouts) until the database was seeded by the node that made it. */
  private async waitForSeed(): Promise<void> {
    const deadline = Date.now() + 2 * this.options.nodeTimeoutMs;
    for (;;) {
      const { rows } = await this.database.query('SELECT 1 FROM keyed_records WHERE namespace = $1 AND key = $2', [DATABASE_SEEDED.namespace, Buffer.from(DATABASE_SEEDED.key)]);
      if (rows.length > 0) return;
      if (Date.now() > deadline) {
        this.log.warn('the node that made the database did not seed it in time: this node seeds it too');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Joins the cluster with the broker opened on the store: registered, caught up, following. */
  async join(broker: Broker): Promise<void> {
    const store = this.store;
    const follower = new DefinitionFollower(
      this.database,
      store,
      broker,
      { nodeId: () => this.membership?.id ?? 0, origin: this.incarnation, startVersion: store.startVersion, notify: this.options.notify, pollMs: this.options.pollIntervalMs },
      this.notifications,
      this.log,
    );
    this.follower = follower;
    store.onDefinitionsLost((reason) => follower.requestResync(`a batch of this node's definition changes was not committed: ${reason}`));
    await this.notifications?.start();
    const membership = new Membership(
      this.database,
      { name: this.options.nodeName, incarnation: this.incarnation, host: hostname(), addresses: hostAddresses(), timeoutMs: this.options.nodeTimeoutMs },
      this.releasers,
      () => nodeFigures(broker),
      this.log,
    );
    this.membership = membership;
    // registered before catching up: a change committed from now on waits for this node
    const version = follower.version;
    await membership.register(version);
    follower.registeredAt(version);
    await follower.catchUp();
    follower.start();
    membership.start();
    this.log.info({ node: this.options.nodeName, definitionVersion: follower.version, notify: this.options.notify }, 'joined the cluster');
  }

  /** The ports this node's doors listen on (by door), shown in the node list. */
  async announce(ports: Record<string, number>): Promise<void> {
    await this.membership?.announce(ports);
  }

  /** The membership of this node (heartbeats, silent nodes), once joined. */
  get members(): Membership | null {
    return this.membership;
  }

  /** Commits what is pending, marks this node 'left' (releasing what it held) and closes the connections. */
  leave(): Promise<void> {
    this.leaving ??= (async () => {
      await this.follower?.stop();
      this.barrier.stop();
      await this.opened?.close();
      try {
        await this.membership?.leave();
      } catch (error) {
        this.log.warn({ err: describeDatabaseError(error) }, 'could not mark this node as left: the others will find it silent after the node timeout');
      }
      await this.notifications?.stop();
      await this.database.close();
    })();
    return this.leaving;
  }
}
