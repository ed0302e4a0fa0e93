import type { AuthenticationOptions } from './auth/authenticator';
import { DefaultUser, UserDefinition, UserRegistry } from './auth/user-registry';
import { applyDefinitionChange } from './cluster/apply-definition-change';
import type { DefinitionChange } from './cluster/definition-change';
import { notFound, storeUnavailable } from './errors';
import type { BrokerSnapshot, VhostSnapshot } from './introspection/snapshots';
import { ListenerRegistry } from './listeners/listener-registry';
import { CoreMetrics } from './metrics';
import { PolicyRegistry } from './policy/policy-registry';
import { QueueTypeOptions, QueueTypeRegistry } from './queue/queue-type-registry';
import { ResourceAlarms } from './resource-alarms';
import { recoverBroker } from './recovery';
import { SessionRegistries } from './sessions/session-registry';
import type { BrokerStore } from './store/broker-store';
import { CommitCallback, CommitToken, NO_COMMIT_NEEDED } from './store/commit-token';
import { CommitTracker } from './store/commit-tracker';
import { DefinitionGate } from './store/definition-gate';
import { VhostLimitRegistry } from './vhost/vhost-limits';
import { VhostContext, VirtualHost } from './vhost/virtual-host';

export interface BrokerOptions {
  /** Bytes of ready messages a queue keeps in memory before paging the rest to the store. */
  queueMemoryBudget: number;
  /** Ready messages above which a consumed queue asks its publishers to pause (flow control). */
  queueFlowHigh?: number;
  /** Directory whose file system is watched for free space (the store's); none: no disk alarm. */
  dataDir?: string;
  /** Resident memory above which publishers are blocked; 0 = 40% of the machine's memory. */
  memoryHighWatermarkBytes?: number;
  /** Free disk below which publishers are blocked (default 50 MB, RabbitMQ's). */
  diskFreeLimitBytes?: number;
  /** Users of the configuration file: stored when their entry is new or changed (see UserRegistry.seed). */
  users?: UserDefinition[];
  /** The user a new database starts with (RabbitMQ's default_user, guest); created on the first start only. */
  defaultUser?: DefaultUser;
  /** Password checks: cache, worker threads, back-off of failing sources. */
  authentication?: AuthenticationOptions;
  /** Users who may authenticate only from the local machine (RabbitMQ's loopback_users). */
  loopbackUsers?: string[];
  /** Queues at most per vhost; 0 or absent = no limit. */
  maxQueuesPerVhost?: number;
  /** Queue types besides the built-in ones, the default type, and which may be declared (absent: built-in, classic, all). */
  queueTypes?: QueueTypeOptions;
}

export const DEFAULT_VHOST = '/';

/** A counter that survives restarts (e.g. dispenserd's job_num). */
export class PersistentCounter {
  /** The last number of the range reserved for this node (allocate with a shared store). */
  private rangeEnd = 0;
  private reserving: Promise<void> | null = null;
  /** Callers of allocateInOrder waiting for the next reservation. */
  private orderedWaiters: { resolve(value: number): void; reject(error: unknown): void }[] = [];
  private reservingInOrder = false;

  constructor(
    private readonly name: string,
    private value: number,
    private readonly store: BrokerStore,
  ) {}

  get current(): number {
    return this.value;
  }

  next(): number {
    this.value++;
    this.store.setCounter(this.name, this.value);
    return this.value;
  }

  /**
   * The next number, unique across every node sharing the store: at once (as `next`), or with a
   * store several nodes share, from a range this node reserved (numbers are unique, not in order
   * across nodes; a range is reserved when the last one is used up).
   */
  allocate(): number | Promise<number> {
    if (this.store.reserveCounterRange === undefined) return this.next();
    if (this.value < this.rangeEnd) return ++this.value;
    this.reserving ??= this.store.reserveCounterRange(this.name, COUNTER_RANGE).then(
      (last) => {
        this.reserving = null;
        this.value = last - COUNTER_RANGE;
        this.rangeEnd = last;
      },
      (error: unknown) => {
        this.reserving = null;
        throw error;
      },
    );
    return this.reserving.then(() => this.allocate());
  }

  /**
   * The next number, unique across the nodes sharing the store and in the order they were asked
   * for across them (a number handed out after another was, on any node, is larger: a delivery's
   * acceptance order): at once (as `next`), or with a store several nodes share, from a reservation
   * of exactly as many numbers as callers are waiting (one round trip serves them all).
   */
  allocateInOrder(): number | Promise<number> {
    if (this.store.reserveCounterRange === undefined) return this.next();
    return new Promise((resolve, reject) => {
      this.orderedWaiters.push({ resolve, reject });
      if (this.reservingInOrder) return;
      this.reservingInOrder = true;
      // the callers of this turn share the first reservation
      queueMicrotask(() => void this.reserveForWaiters());
    });
  }

  private async reserveForWaiters(): Promise<void> {
    while (this.orderedWaiters.length > 0) {
      const waiting = this.orderedWaiters;
      this.orderedWaiters = [];
      try {
        const last = await this.store.reserveCounterRange!(this.name, waiting.length);
        waiting.forEach((waiter, at) => waiter.resolve(last - waiting.length + 1 + at));
      } catch (error) {
        for (const waiter of waiting) waiter.reject(error);
      }
    }
    this.reservingInOrder = false;
  }
}

/** The stricter of two limits, null meaning none. */
const smallerLimit = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/** Numbers a node reserves at once from a counter shared with other nodes. */
const COUNTER_RANGE = 1000;

/**
 * The broker's heart: virtual hosts over one durable store, which the application injects. Front
 * doors (AMQP, HTTP jobs, delivery, management) use this class, the virtual hosts and queues it
 * hands out, and the snapshots it describes itself with; it knows nothing about them.
 */
export class Broker {
  readonly metrics = new CoreMetrics();
  readonly alarms: ResourceAlarms;
  /** The doors' own registries (AMQP connections, …), listed and closed by the management layer. */
  readonly sessions = new SessionRegistries();
  /** The sockets the doors listen on, registered by the application (outbound calls must not reach them). */
  readonly listeners = new ListenerRegistry();
  /** Users and permissions (definitions kept in the store). */
  readonly users: UserRegistry;
  /** Policies: queue settings applied by name pattern (definitions kept in the store). */
  readonly policies: PolicyRegistry;
  /** Per-vhost limits, RabbitMQ's max-connections and max-queues (definitions kept in the store). */
  readonly vhostLimits: VhostLimitRegistry;
  /** The queue types declarations may ask for. */
  readonly queueTypes: QueueTypeRegistry;
  /** Where every definition write goes (muted while a change from another node is applied). */
  private readonly definitions: DefinitionGate;
  private readonly vhosts = new Map<string, VirtualHost>();
  private readonly counters = new Map<string, PersistentCounter>();
  private recoveredCounters = new Map<string, number>();
  private seq = 0;
  private queueId = 0;
  /** Answers for the commit tokens of every store composed in (today the one store). */
  private readonly commits = new CommitTracker();
  /** The promise handed to everyone awaiting the open batch (see whenDurable). */
  private sharedDurable: { token: CommitToken; promise: Promise<void> } | null = null;
  private readonly startedAt = Date.now();
  /** Wall time spent recovering at start, in seconds. */
  recoverySeconds = 0;
  recoveredMessages = 0;

  /** What the virtual hosts share: the store, metrics, id allocation and queue limits. */
  private readonly context: VhostContext;

  private constructor(
    private readonly store: BrokerStore,
    options: BrokerOptions,
  ) {
    this.commits.add(store, this.metrics);
    this.definitions = new DefinitionGate(store);
    this.queueTypes = new QueueTypeRegistry(options.queueTypes);
    this.users = new UserRegistry(this.definitions, options.authentication);
    this.policies = new PolicyRegistry(this.definitions, this.queueTypes);
    this.policies.onChange((vhost) => this.vhosts.get(vhost)?.reapplyPolicies());
    this.vhostLimits = new VhostLimitRegistry(this.definitions);
    const brokerQueueLimit = (options.maxQueuesPerVhost ?? 0) > 0 ? options.maxQueuesPerVhost! : null;
    const flowHigh = options.queueFlowHigh ?? 8192;
    this.alarms = new ResourceAlarms({
      dataDir: options.dataDir ?? null,
      memoryHighWatermarkBytes: options.memoryHighWatermarkBytes ?? 0,
      diskFreeLimitBytes: options.diskFreeLimitBytes ?? 50 * 1024 * 1024,
    });
    this.context = {
      store,
      definitions: this.definitions,
      queueTypes: this.queueTypes,
      metrics: this.metrics,
      queueLimits: { memoryBudget: options.queueMemoryBudget, flowHigh, flowLow: Math.floor(flowHigh / 2) },
      nextSeq: () => ++this.seq,
      nextQueueId: () => ++this.queueId,
      queueLimit: (vhost) => smallerLimit(brokerQueueLimit, this.vhostLimits.limit(vhost, 'max-queues')),
      policies: this.policies,
      alarms: this.alarms,
    };
  }

  /** Builds the broker over `store`, recovering what the store kept, and starts its alarms. */
  static async open(store: BrokerStore, options: BrokerOptions): Promise<Broker> {
    const broker = new Broker(store, options);
    const started = process.hrtime.bigint();
    await broker.policies.load();
    await broker.vhostLimits.load();
    const recovered = recoverBroker(await store.recover(), {
      store,
      memoryBudget: options.queueMemoryBudget,
      vhost: (name) => broker.vhostForRecovery(name),
    });
    broker.seq = recovered.maxSeq;
    broker.queueId = recovered.maxQueueId;
    broker.recoveredCounters = recovered.counters;
    broker.recoveredMessages = recovered.messages;
    if (!broker.vhosts.has(DEFAULT_VHOST)) broker.addVhost(DEFAULT_VHOST);
    await broker.users.load();
    await broker.users.seed(options.defaultUser ?? null, options.users ?? [], DEFAULT_VHOST);
    broker.users.restrictToLoopback(options.loopbackUsers ?? []);
    broker.recoverySeconds = Number(process.hrtime.bigint() - started) / 1e9;
    broker.alarms.start();
    return broker;
  }

  // ---- virtual hosts ---------------------------------------------------------------------------

  vhost(name: string): VirtualHost | undefined {
    return this.vhosts.get(name);
  }

  /** The named vhost; `not-found` when it does not exist. */
  getVhost(name: string): VirtualHost {
    const vhost = this.vhosts.get(name);
    if (vhost === undefined) throw notFound(`vhost '${name}' not found`);
    return vhost;
  }

  get defaultVhost(): VirtualHost {
    return this.getVhost(DEFAULT_VHOST);
  }

  vhostNames(): string[] {
    return [...this.vhosts.keys()];
  }

  /** Creates the vhost (durably) unless it exists; returns it either way. */
  addVhost(name: string): VirtualHost {
    let vhost = this.vhosts.get(name);
    if (vhost === undefined) {
      vhost = new VirtualHost(name, this.context);
      this.vhosts.set(name, vhost);
      this.definitions.putVhost(name);
    }
    return vhost;
  }

  /**
   * Deletes a vhost with all its queues, exchanges, bindings and permissions. Doors close their
   * sessions on it (the management layer asks them to through `sessions`).
   */
  deleteVhost(name: string): void {
    const vhost = this.getVhost(name);
    vhost.deleteAll();
    this.vhosts.delete(name);
    this.definitions.deleteVhost(name);
    this.users.forgetVhost(name);
    this.policies.forgetVhost(name);
    this.vhostLimits.forgetVhost(name);
  }

  private vhostForRecovery(name: string): VirtualHost {
    let vhost = this.vhosts.get(name);
    if (vhost === undefined) {
      vhost = new VirtualHost(name, this.context);
      this.vhosts.set(name, vhost);
    }
    return vhost;
  }

  /**
   * Brings this broker in line with a definition change another broker node committed to the
   * store they share (STORE=postgres), without writing anything back: the change is in the store
   * already. Idempotent: a change already true here changes nothing.
   */
  applyDefinitionChange(change: DefinitionChange): void {
    this.definitions.mute(() =>
      applyDefinitionChange(
        {
          vhost: (name) => this.vhosts.get(name),
          addVhost: (name) => this.addVhost(name),
          deleteVhost: (name) => this.deleteVhost(name),
          nextQueueId: () => ++this.queueId,
          users: this.users,
          policies: this.policies,
          vhostLimits: this.vhostLimits,
        },
        change,
      ),
    );
  }

  counter(name: string): PersistentCounter {
    let counter = this.counters.get(name);
    if (counter === undefined) {
      counter = new PersistentCounter(name, this.recoveredCounters.get(name) ?? 0, this.store);
      this.counters.set(name, counter);
    }
    return counter;
  }

  // ---- keyed records (idempotency keys, finished deliveries) ----------------------------------

  /**
   * Durably keeps `value` under (namespace, key) until `expiresAt`; committed with everything else.
   * Returns the token to wait on (`whenDurable`) before saying it is kept.
   */
  putRecord(namespace: string, key: string, value: Buffer, expiresAt: number): CommitToken {
    return this.store.putRecord(namespace, key, value, expiresAt);
  }

  /**
   * The committed, unexpired record, or undefined (recent uncommitted writes are not seen). Async:
   * a networked store asks its database.
   */
  readRecord(namespace: string, key: string): Promise<Buffer | undefined> {
    return this.store.readRecord(namespace, key);
  }

  /** Every committed, unexpired record of a namespace, by key. Async. */
  listRecords(namespace: string): Promise<[string, Buffer][]> {
    return this.store.listRecords(namespace);
  }

  // ---- durability ------------------------------------------------------------------------------

  /** A token covering everything accepted so far, in every store; `whenDurable` says when it is on disk. */
  durabilityToken(): CommitToken {
    return this.commits.currentToken();
  }

  /**
   * Calls back once what the token covers is durable (true), or can never be (false: its store
   * failed). A token of any store composed in: its slot names the store that answers. The
   * callback form is for hot paths (publisher confirms); doors that await use `whenDurable`.
   */
  onDurable(token: CommitToken, callback: CommitCallback): void {
    if (token === NO_COMMIT_NEEDED) queueMicrotask(() => callback(true));
    else this.commits.whenCommitted(token, callback);
  }

  /** Resolves once the token (default: everything so far) is durable; rejects with `store-unavailable`. */
  whenDurable(token: CommitToken = this.durabilityToken()): Promise<void> {
    // everyone waiting on the same batch shares one promise (a busy job door asks hundreds of times per batch)
    const shared = this.sharedDurable;
    if (shared !== null && shared.token === token) return shared.promise;
    const promise = new Promise<void>((resolve, reject) =>
      this.onDurable(token, (ok) => (ok ? resolve() : reject(storeUnavailable('the store could not commit; nothing since its last commit is durable')))),
    );
    this.sharedDurable = { token, promise };
    return promise;
  }

  /** The store is open and has not failed. */
  get storeOpen(): boolean {
    return this.store.healthy;
  }

  /** Store write pressure: publishers should pause while this is true, until `onStoreRelief` calls back. */
  get storeBacklogged(): boolean {
    return this.store.backlogged;
  }

  onStoreRelief(listener: () => void): void {
    this.store.onDrain(listener);
  }

  // ---- introspection ---------------------------------------------------------------------------

  /** A read-only picture of the whole broker (vhosts with their totals), for management views. */
  snapshot(): BrokerSnapshot {
    const vhosts: VhostSnapshot[] = [];
    for (const vhost of this.vhosts.values()) vhosts.push(vhost.snapshot());
    return {
      startedAt: this.startedAt,
      vhosts,
      counters: this.metrics.snapshot(),
      pendingCommits: this.store.pendingCommits,
      alarm: this.alarms.active,
      recoveredMessages: this.recoveredMessages,
      recoverySeconds: this.recoverySeconds,
    };
  }

  /** Commits what is pending and closes the store. */
  async close(): Promise<void> {
    this.alarms.stop();
    await this.users.close();
    await this.store.close();
  }
}
