import type { Broker, CoreCounters } from '#core';

/** Sampling interval of the rates, as RabbitMQ's management plugin (5 s). */
export const SAMPLE_INTERVAL_MS = 5000;

interface Sample {
  at: number;
  values: Record<string, number>;
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
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly broker: Broker) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes a sample now (the timer does it every 5 s; tests may too). */
  sample(now: number = Date.now()): void {
    const snapshot = this.broker.snapshot();
    this.global.add(now, {
      ...globalCounters(snapshot.counters, this.broker.sessions.counters()),
      ...depthValues(
        snapshot.vhosts.reduce((n, v) => n + v.messagesReady, 0),
        snapshot.vhosts.reduce((n, v) => n + v.messagesUnacknowledged, 0),
      ),
    });
    const seen = new Set<string>();
    for (const vhost of snapshot.vhosts) {
      this.depthRates(`vhost\u0000${vhost.name}`, seen).add(now, depthValues(vhost.messagesReady, vhost.messagesUnacknowledged));
      for (const queue of this.broker.getVhost(vhost.name).queueSnapshots()) {
        this.depthRates(`queue\u0000${vhost.name}\u0000${queue.name}`, seen).add(now, depthValues(queue.messagesReady, queue.messagesUnacknowledged));
      }
    }
    for (const key of this.depths.keys()) if (!seen.has(key)) this.depths.delete(key);
  }

  globalRate(name: string): number {
    return this.global.rate(name);
  }

  queueDepthRates(vhost: string, queue: string): DepthRates {
    return depthRatesOf(this.depths.get(`queue\u0000${vhost}\u0000${queue}`));
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

const depthValues = (ready: number, unacked: number): Record<string, number> => ({ messages: ready + unacked, messages_ready: ready, messages_unacknowledged: unacked });

const depthRatesOf = (rates: SampledRates | undefined): DepthRates =>
  rates === undefined
    ? { messages: 0, ready: 0, unacked: 0 }
    : { messages: rates.rate('messages'), ready: rates.rate('messages_ready'), unacked: rates.rate('messages_unacknowledged') };
