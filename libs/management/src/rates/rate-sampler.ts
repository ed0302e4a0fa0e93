import type { Broker, CoreCounters } from '#core';
import type { ClusterCounters } from './cluster-counters';
import type { SampleWindow } from './history-query';
import { Sample as HistorySample, SampleRing } from './sample-ring';

/** Sampling interval of the rates, as RabbitMQ's management plugin (5 s). */
export const SAMPLE_INTERVAL_MS = 5000;

/**
 * Samples kept per series: 5 s samples for an hour (RabbitMQ keeps 5 s samples for the last
 * minutes by default; the admin page's longest range is an hour). A ring of every global counter
 * and depth is ~100 KB.
 */
export const HISTORY_SAMPLES = 720;
/**
 * A queue's history is kept once its samples are asked for (its page is opened), for an hour after
 * the last time they were, and for at most this many queues (the least recently asked go first):
 * 10,000 queues with an hour each would hold ~400 MB; this bounds it at ~8 MB.
 */
export const WATCHED_QUEUES_MAX = 200;
const WATCH_FOR_MS = 3_600_000;
/** Jitter of the sampling timer that still counts as one interval when samples are thinned. */
const JITTER_MS = SAMPLE_INTERVAL_MS / 2;

const DEPTH_SERIES = ['messages', 'messages_ready', 'messages_unacknowledged'] as const;
export type DepthSeries = (typeof DEPTH_SERIES)[number];
const QUEUE_COUNTERS = ['publish', 'deliver_get', 'ack'] as const;
export type QueueSeries = DepthSeries | (typeof QUEUE_COUNTERS)[number];

interface Sample {
  at: number;
  values: Record<string, number>;
}

interface WatchedQueue {
  ring: SampleRing;
  askedAt: number;
}

/** Per-second rates of a set of counters, from the last two samples. */
class SampledRates {
  private previous: Sample | null = null;
  private current: Sample | null = null;

  add(at: number, values: Record<string, number>): void {
    this.previous = this.current;
    this.current = { at, values };
  }

  rate(name: string): number {
    const { previous, current } = this;
    if (previous === null || current === null || current.at <= previous.at) return 0;
    return (((current.values[name] ?? 0) - (previous.values[name] ?? 0)) * 1000) / (current.at - previous.at);
  }
}

/** Per-second rates of a message depth (a queue's, a vhost's, the broker's). */
export interface DepthRates {
  messages: number;
  ready: number;
  unacked: number;
}

/** What the overview's message_stats report, and the counters behind each. */
export const GLOBAL_COUNTERS = ['publish', 'deliver_get', 'deliver', 'deliver_no_ack', 'get', 'get_no_ack', 'get_empty', 'ack', 'redeliver', 'confirm', 'return_unroutable', 'drop_unroutable'] as const;
export type GlobalCounter = (typeof GLOBAL_COUNTERS)[number];

export function globalCounters(core: CoreCounters, doors: Record<string, Record<string, number>>): Record<GlobalCounter, number> {
  const amqp = doors.amqp ?? {};
  return {
    publish: core.published,
    deliver_get: core.delivered,
    deliver: core.deliveredManualAck,
    deliver_no_ack: core.deliveredAutoAck,
    get: core.fetchedManualAck,
    get_no_ack: core.fetchedAutoAck,
    get_empty: core.fetchedEmpty,
    ack: core.acked,
    redeliver: core.redelivered,
    confirm: amqp.confirmed ?? 0,
    return_unroutable: amqp.returned ?? 0,
    drop_unroutable: Math.max(0, core.unroutable - (amqp.returned ?? 0)),
  };
}

/**
 * Samples the broker's counters and depths every 5 s, as RabbitMQ's management plugin does, and
 * turns them into `*_details.rate` figures: nothing is added to the hot paths, the counters are
 * the ones the core bumps anyway. Queue snapshots taken here also feed the queues' own rate meters.
 */
export class RateSampler {
  private readonly global = new SampledRates();
  private readonly depths = new Map<string, SampledRates>();
  private readonly globalHistory = new SampleRing(HISTORY_SAMPLES, [...GLOBAL_COUNTERS, ...DEPTH_SERIES]);
  /** Per vhost, its depths (so a user who sees some vhosts gets the history of theirs). */
  private readonly vhostHistory = new Map<string, SampleRing>();
  private readonly watched = new Map<string, WatchedQueue>();
  private timer: NodeJS.Timeout | null = null;
  /** The message counters of the last sample: this node's, or in a cluster the cluster's. */
  private lastCounters: Record<GlobalCounter, number> | null = null;
  private ticking = false;

  /** `cluster`: the counters are the cluster's (every node's), as RabbitMQ's overview shows them. */
  constructor(
    private readonly broker: Broker,
    private readonly cluster: ClusterCounters | null = null,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
    this.tick();
  }

  /** A sample; in a cluster once the other nodes' last heartbeats are read (one read at a time). */
  private tick(): void {
    const cluster = this.cluster;
    if (cluster === null) {
      this.sample();
      return;
    }
    if (this.ticking) return;
    this.ticking = true;
    void cluster.refresh().then(() => {
      this.ticking = false;
      if (this.timer !== null) this.sample();
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes a sample now (the timer does it every 5 s; tests may too). */
  sample(now: number = Date.now()): void {
    const snapshot = this.broker.snapshot();
    const local = globalCounters(snapshot.counters, this.broker.sessions.counters());
    const counters = this.cluster === null ? local : this.cluster.fold(local);
    this.lastCounters = counters;
    const globalValues = {
      ...counters,
      ...depthValues(
        snapshot.vhosts.reduce((n, v) => n + v.messagesReady, 0),
        snapshot.vhosts.reduce((n, v) => n + v.messagesUnacknowledged, 0),
      ),
    };
    this.global.add(now, globalValues);
    this.globalHistory.push(now, globalValues);
    const seen = new Set<string>();
    for (const vhost of snapshot.vhosts) {
      const depths = depthValues(vhost.messagesReady, vhost.messagesUnacknowledged);
      this.depthRates(`vhost\u0000${vhost.name}`, seen).add(now, depths);
      this.vhostRing(vhost.name).push(now, depths);
      for (const queue of this.broker.getVhost(vhost.name).queueSnapshots()) {
        const key = queueKey(vhost.name, queue.name);
        const values = depthValues(queue.messagesReady, queue.messagesUnacknowledged);
        this.depthRates(key, seen).add(now, values);
        this.watched.get(key)?.ring.push(now, { ...values, publish: queue.stats.published, deliver_get: queue.stats.delivered, ack: queue.stats.acked });
      }
    }
    for (const key of this.depths.keys()) if (!seen.has(key)) this.depths.delete(key);
    for (const name of this.vhostHistory.keys()) if (!seen.has(`vhost\u0000${name}`)) this.vhostHistory.delete(name);
    for (const [key, watch] of this.watched) if (!seen.has(key) || now - watch.askedAt > WATCH_FOR_MS) this.watched.delete(key);
  }

  // ---- history ---------------------------------------------------------------------------------

  /** Samples of a global counter or depth over the window, newest first. */
  globalSamples(name: string, window: SampleWindow, now: number = Date.now()): HistorySample[] {
    return this.globalHistory.samples(name, now - window.age, window.incr, JITTER_MS);
  }

  /** Samples of the summed depths of these vhosts (a vhost without a sample at a time counts 0 there). */
  vhostsDepthSamples(vhosts: readonly string[], name: DepthSeries, window: SampleWindow, now: number = Date.now()): HistorySample[] {
    const sums = new Map<number, number>();
    // each tick samples every vhost with the same timestamp, so the series line up
    for (const vhost of vhosts) {
      for (const s of this.vhostHistory.get(vhost)?.samples(name, now - window.age, window.incr, JITTER_MS) ?? []) sums.set(s.timestamp, (sums.get(s.timestamp) ?? 0) + s.sample);
    }
    return [...sums].map(([timestamp, sample]) => ({ sample, timestamp })).sort((a, b) => b.timestamp - a.timestamp);
  }

  /**
   * Samples of a queue's depth or counter, newest first. Asking keeps (or starts) its history: a
   * queue's samples begin with the first tick after its samples were first asked for.
   */
  queueSamples(vhost: string, queue: string, name: QueueSeries, window: SampleWindow, now: number = Date.now()): HistorySample[] {
    return this.watchQueue(vhost, queue, now).samples(name, now - window.age, window.incr, JITTER_MS);
  }

  /** How many queues have their history kept (at most WATCHED_QUEUES_MAX). */
  get watchedQueues(): number {
    return this.watched.size;
  }

  private watchQueue(vhost: string, queue: string, now: number): SampleRing {
    const key = queueKey(vhost, queue);
    let watch = this.watched.get(key);
    if (watch === undefined) {
      if (this.watched.size >= WATCHED_QUEUES_MAX) {
        let oldest: string | null = null;
        let oldestAt = Infinity;
        for (const [k, w] of this.watched) if (w.askedAt < oldestAt) [oldest, oldestAt] = [k, w.askedAt];
        if (oldest !== null) this.watched.delete(oldest);
      }
      watch = { ring: new SampleRing(HISTORY_SAMPLES, [...DEPTH_SERIES, ...QUEUE_COUNTERS]), askedAt: now };
      this.watched.set(key, watch);
    }
    watch.askedAt = now;
    return watch.ring;
  }

  private vhostRing(name: string): SampleRing {
    let ring = this.vhostHistory.get(name);
    if (ring === undefined) {
      ring = new SampleRing(HISTORY_SAMPLES, DEPTH_SERIES);
      this.vhostHistory.set(name, ring);
    }
    return ring;
  }

  /**
   * The message counters the overview shows: this node's now; in a cluster, the cluster's as of
   * the last sample (the other nodes' are only known by their heartbeats).
   */
  globalCounters(): Record<GlobalCounter, number> {
    if (this.cluster !== null && this.lastCounters !== null) return this.lastCounters;
    return globalCounters(this.broker.metrics.snapshot(), this.broker.sessions.counters());
  }

  globalRate(name: string): number {
    return this.global.rate(name);
  }

  queueDepthRates(vhost: string, queue: string): DepthRates {
    return depthRatesOf(this.depths.get(queueKey(vhost, queue)));
  }

  vhostDepthRates(vhost: string): DepthRates {
    return depthRatesOf(this.depths.get(`vhost\u0000${vhost}`));
  }

  totalDepthRates(): DepthRates {
    return depthRatesOf(this.global);
  }

  private depthRates(key: string, seen: Set<string>): SampledRates {
    seen.add(key);
    let rates = this.depths.get(key);
    if (rates === undefined) {
      rates = new SampledRates();
      this.depths.set(key, rates);
    }
    return rates;
  }
}

const queueKey = (vhost: string, queue: string): string => `queue\u0000${vhost}\u0000${queue}`;

const depthValues = (ready: number, unacked: number): Record<string, number> => ({ messages: ready + unacked, messages_ready: ready, messages_unacknowledged: unacked });

const depthRatesOf = (rates: SampledRates | undefined): DepthRates =>
  rates === undefined
    ? { messages: 0, ready: 0, unacked: 0 }
    : { messages: rates.rate('messages'), ready: rates.rate('messages_ready'), unacked: rates.rate('messages_unacknowledged') };
