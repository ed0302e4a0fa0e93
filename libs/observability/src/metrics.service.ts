import { Inject, Injectable, Optional } from '@nestjs/common';
import { Broker, CLUSTER_VIEW, ClusterView } from '#core';
import { APP_LOGGER, Logger } from './logging';
import { LoginFailureLog } from './login-failure-log';
import { renderRabbitFamilies } from './rabbit-exposition';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

type CoreCounterName = 'published' | 'routed' | 'unroutable' | 'delivered' | 'acked' | 'requeued' | 'dropped';

const CORE_COUNTERS: [CoreCounterName, string, string][] = [
  ['published', 'broker_messages_published_total', 'Messages published to an exchange'],
  ['routed', 'broker_messages_routed_total', 'Message copies enqueued by routing (one per queue reached)'],
  ['unroutable', 'broker_messages_unroutable_total', 'Messages that reached no queue'],
  ['delivered', 'broker_messages_delivered_total', 'Deliveries to consumers and fetches'],
  ['acked', 'broker_messages_acked_total', 'Deliveries settled positively (incl. auto-ack)'],
  ['requeued', 'broker_messages_requeued_total', 'Deliveries returned to their queue'],
  ['dropped', 'broker_messages_dead_total', 'Deliveries rejected without requeue or discarded'],
];

/**
 * One prom-client registry for the process. Core counters are plain numbers read at scrape time,
 * so the hot paths never touch prom-client; transports can register their own metrics here.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  constructor(
    @Inject(Broker) private readonly broker: Broker,
    @Inject(APP_LOGGER) logger: Logger,
    @Optional() @Inject(CLUSTER_VIEW) cluster?: ClusterView,
  ) {
    // in a cluster every node's series carry its name, so one Prometheus tells them apart
    if (cluster !== undefined) this.registry.setDefaultLabels({ node: cluster.localNode });
    broker.alarms.onChange((reason) => {
      if (reason === null) logger.warn('resource alarm cleared: publishers may go on');
      else logger.warn({ alarm: reason }, 'resource alarm: publishers are blocked');
    });
    const loginFailureLog = new LoginFailureLog(logger);
    broker.users.onLoginFailure((failure) => loginFailureLog.record(failure));
    collectDefaultMetrics({ register: this.registry });
    new Counter({
      name: 'broker_login_failures_total',
      help: 'Refused logins by door (amqp, management, jobs, delivery) and reason (invalid_credentials, loopback_only, backoff, invalid_token, busy)',
      labelNames: ['door', 'reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { door, reason, count } of broker.users.logins.failureCounts()) this.inc({ door, reason }, count);
      },
    });
    const metrics = broker.metrics;
    for (const [field, name, help] of CORE_COUNTERS) {
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(metrics[field]);
        },
      });
    }
    const commitSeconds = new Histogram({
      name: 'broker_store_commit_seconds',
      help: 'Time from handing a batch to the store writer until it is committed',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    const committedOps = new Counter({
      name: 'broker_store_committed_operations_total',
      help: 'Row operations committed by the store',
      registers: [this.registry],
    });
    const transactionSeconds = new Histogram({
      name: 'broker_store_transaction_seconds',
      help: "The store writer's SQLite transaction of a commit alone (with its fsync); the rest of broker_store_commit_seconds is hand-off and queueing",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [this.registry],
    });
    metrics.onCommit((seconds, ops, transaction) => {
      commitSeconds.observe(seconds);
      committedOps.inc(ops);
      transactionSeconds.observe(transaction);
    });
    new Gauge({
      name: 'broker_store_pending_batches',
      help: 'Write batches open or in flight to the store writer',
      registers: [this.registry],
      collect() {
        this.set(broker.snapshot().pendingCommits);
      },
    });
    const batchOps = new Histogram({
      name: 'broker_store_batch_operations',
      help: 'Row operations per store commit',
      buckets: [1, 10, 100, 1000, 10_000, 100_000],
      registers: [this.registry],
    });
    metrics.onCommit((_seconds, ops) => batchOps.observe(ops));
  }

  contentType(): string {
    return this.registry.contentType;
  }

  /** /metrics: our registry, RabbitMQ's families aggregated, and our per-queue families. */
  async render(): Promise<string> {
    return (await this.registry.metrics()) + renderRabbitFamilies(this.broker, { perObject: false, ownQueueFamilies: true });
  }

  /** /metrics/per-object (and /metrics/detailed): RabbitMQ's families with a sample per queue. */
  renderPerObject(vhosts?: string[]): string {
    return renderRabbitFamilies(this.broker, { perObject: true, ownQueueFamilies: false, vhosts });
  }
}
