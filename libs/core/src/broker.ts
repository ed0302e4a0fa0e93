import { BrokerError, ReplyCode } from './errors';
import { CoreMetrics } from './metrics';
import { ResourceAlarms } from './resource-alarms';
import { ENTRY_OVERHEAD_BYTES } from './queue/ready-set';
import type { QueueLimits } from './queue/queue';
import type { BrokerStore } from './store/broker-store';
import { SqliteStore } from './store/sqlite/sqlite-store';
import type { SyncMode } from './store/sqlite/schema';
import type { RecoveredDefinitions } from './store/store-records';
import { VhostContext, VirtualHost } from './vhost/virtual-host';

export interface BrokerOptions {
  /** Directory of the SQLite database. */
  dataDir: string;
  /** SQLite `synchronous`: full (fsync every commit) or normal. */
  sync: SyncMode;
  /** Bytes of ready messages a queue keeps in memory before paging the rest to the store. */
  queueMemoryBudget: number;
  /** Flush a batch early when it holds this many bytes. */
  maxBatchBytes?: number;
  /** Ready messages above which a consumed queue asks its publishers to pause (flow control). */
  queueFlowHigh?: number;
  /** Resident memory above which publishers are blocked; 0 = 40% of the machine's memory. */
  memoryHighWatermarkBytes?: number;
  /** Free disk below which publishers are blocked (default 50 MB, RabbitMQ's). */
  diskFreeLimitBytes?: number;
}

export const DEFAULT_VHOST = '/';

/** A counter that survives restarts (e.g. dispenserd's job_num). */
export class PersistentCounter {
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
}

/**
 * The broker's heart: virtual hosts over one durable store. Transports (AMQP, HTTP jobs,
 * delivery) talk to it; it knows nothing about them.
 */
export class Broker implements VhostContext {
  readonly metrics = new CoreMetrics();
  readonly alarms: ResourceAlarms;
  private readonly vhosts = new Map<string, VirtualHost>();
  private readonly counters = new Map<string, PersistentCounter>();
  private seq = 0;
  private queueId = 0;
  private recoveredCounters = new Map<string, number>();
  /** Wall time spent recovering at start, in seconds. */
  recoverySeconds = 0;
  recoveredMessages = 0;

  private constructor(
    readonly store: BrokerStore,
    private readonly options: BrokerOptions,
  ) {
    store.attachMetrics(this.metrics);
    this.alarms = new ResourceAlarms({
      dataDir: options.dataDir,
      memoryHighWatermarkBytes: options.memoryHighWatermarkBytes ?? 0,
      diskFreeLimitBytes: options.diskFreeLimitBytes ?? 50 * 1024 * 1024,
    });
  }

  static async open(options: BrokerOptions): Promise<Broker> {
    const store = await SqliteStore.open({ dataDir: options.dataDir, sync: options.sync, maxBatchBytes: options.maxBatchBytes });
    const broker = new Broker(store, options);
    const started = process.hrtime.bigint();
    broker.recover(store.recoverDefinitions());
    broker.recoverySeconds = Number(process.hrtime.bigint() - started) / 1e9;
    broker.alarms.start();
    return broker;
  }

  get queueLimits(): QueueLimits {
    const flowHigh = this.options.queueFlowHigh ?? 8192;
    return { memoryBudget: this.options.queueMemoryBudget, flowHigh, flowLow: Math.floor(flowHigh / 2) };
  }

  nextSeq(): number {
    return ++this.seq;
  }

  nextQueueId(): number {
    return ++this.queueId;
  }

  vhost(name: string): VirtualHost | undefined {
    return this.vhosts.get(name);
  }

  getVhost(name: string): VirtualHost {
    const vhost = this.vhosts.get(name);
    if (vhost === undefined) throw new BrokerError(ReplyCode.NotAllowed, `NOT_ALLOWED - vhost '${name}' not found`);
    return vhost;
  }

  get defaultVhost(): VirtualHost {
    return this.getVhost(DEFAULT_VHOST);
  }

  allVhosts(): IterableIterator<VirtualHost> {
    return this.vhosts.values();
  }

  addVhost(name: string): VirtualHost {
    let vhost = this.vhosts.get(name);
    if (vhost === undefined) {
      vhost = new VirtualHost(name, this);
      this.vhosts.set(name, vhost);
      this.store.putVhost(name);
    }
    return vhost;
  }

  counter(name: string): PersistentCounter {
    let counter = this.counters.get(name);
    if (counter === undefined) {
      counter = new PersistentCounter(name, this.recoveredCounters.get(name) ?? 0, this.store);
      this.counters.set(name, counter);
    }
    return counter;
  }

  private recover(state: RecoveredDefinitions): void {
    this.seq = state.maxSeq;
    this.queueId = state.maxQueueId;
    this.recoveredCounters = state.counters;
    for (const name of state.vhosts) this.vhosts.set(name, new VirtualHost(name, this));
    if (!this.vhosts.has(DEFAULT_VHOST)) this.addVhost(DEFAULT_VHOST);
    const vhostOf = (name: string): VirtualHost => {
      let vhost = this.vhosts.get(name);
      if (vhost === undefined) {
        vhost = new VirtualHost(name, this);
        this.vhosts.set(name, vhost);
      }
      return vhost;
    };
    for (const e of state.exchanges) vhostOf(e.vhost).restoreExchange(e.name, e.type, e.autoDelete, e.internal, e.arguments);
    const queuesById = new Map<number, ReturnType<VirtualHost['restoreQueue']>>();
    for (const q of state.queues) queuesById.set(q.id, vhostOf(q.vhost).restoreQueue(q.id, q.name, q.autoDelete, q.arguments));
    for (const b of state.bindings) {
      vhostOf(b.vhost).restoreBinding(b.destinationKind, b.destination, b.source, b.routingKey, b.arguments);
    }
    const budget = this.options.queueMemoryBudget;
    for (const bucket of state.buckets) {
      const queue = queuesById.get(bucket.queueId);
      if (queue === undefined) continue;
      const averageCost = ENTRY_OVERHEAD_BYTES + bucket.bytes / bucket.count;
      const limit = Math.min(bucket.count, Math.max(1, Math.floor((budget * 0.75) / averageCost)));
      const head = this.store.readPaged(queue, bucket.rank, 0, limit);
      let headBytes = 0;
      for (const entry of head) headBytes += entry.message.body.length;
      const last = head[head.length - 1];
      queue.ready.recover(bucket.rank, head, last ? last.seq : 0, bucket.count - head.length, bucket.bytes - headBytes);
      this.recoveredMessages += bucket.count;
    }
  }

  /** Commits what is pending and closes the store. */
  async close(): Promise<void> {
    this.alarms.stop();
    await this.store.close();
  }
}
