import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '#observability';
import type { DeliveryEvents } from './domain/delivery-service';
import type { DeliveryIndex, DeliveryRecord, DeliveryState } from './domain/delivery-index';
import type { SentAttempt } from './sender/http-sender';
import type { CircuitBreaker } from './domain/circuit-breaker';

/** The class of an attempt's outcome, as a metric label: `2xx` … `5xx`, or the transport error. */
export const outcomeClass = (sent: SentAttempt): string =>
  'status' in sent.result ? `${Math.floor(sent.result.status / 100)}xx` : sent.result.error;

/** The delivery door's metrics (in the process's one registry) and its log lines of note. */
export class DeliveryMetrics implements DeliveryEvents {
  private readonly acceptedTotal: Counter;
  private readonly attemptsTotal: Counter<'outcome'>;
  private readonly deliveredTotal: Counter;
  private readonly deadTotal: Counter;
  private readonly replayedTotal: Counter;
  private readonly deferredTotal: Counter;
  private readonly attemptSeconds: Histogram;

  constructor(
    registry: Registry,
    backlog: () => { index: DeliveryIndex; circuit: CircuitBreaker } | null,
    private readonly logger: Logger,
  ) {
    const registers = [registry];
    this.acceptedTotal = new Counter({ name: 'broker_deliveries_accepted_total', help: 'Deliveries accepted (answered 202)', registers });
    this.attemptsTotal = new Counter({ name: 'broker_delivery_attempts_total', help: 'Delivery attempts by outcome class', labelNames: ['outcome'], registers });
    this.deliveredTotal = new Counter({ name: 'broker_deliveries_delivered_total', help: 'Deliveries delivered', registers });
    this.deadTotal = new Counter({ name: 'broker_deliveries_dead_total', help: 'Deliveries that became dead letters', registers });
    this.replayedTotal = new Counter({ name: 'broker_deliveries_replayed_total', help: 'Dead letters replayed', registers });
    this.deferredTotal = new Counter({
      name: 'broker_delivery_deferrals_total',
      help: 'Deliveries put back in the pending queue for later, unsent: their host was busy, its circuit open, or not their ordering turn',
      registers,
    });
    this.attemptSeconds = new Histogram({
      name: 'broker_delivery_attempt_seconds',
      help: 'Duration of delivery attempts',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    new Gauge({
      name: 'broker_deliveries',
      help: 'Deliveries held, by state (finished ones as far as the in-memory recent list reaches)',
      labelNames: ['state'],
      registers,
      collect() {
        const source = backlog();
        if (source === null) return;
        const counts = source.index.counts();
        for (const state of Object.keys(counts) as DeliveryState[]) this.set({ state }, counts[state]);
      },
    });
    new Gauge({
      name: 'broker_delivery_open_circuits',
      help: 'Destination hosts whose circuit is open (deliveries paused)',
      registers,
      collect() {
        this.set(backlog()?.circuit.openCount ?? 0);
      },
    });
  }

  accepted(): void {
    this.acceptedTotal.inc();
  }

  attempted(sent: SentAttempt): void {
    this.attemptsTotal.inc({ outcome: outcomeClass(sent) });
    this.attemptSeconds.observe(sent.attempt.ms / 1000);
  }

  delivered(): void {
    this.deliveredTotal.inc();
  }

  dead(record: DeliveryRecord): void {
    this.deadTotal.inc();
    this.logger.info({ uuid: record.id, host: record.host, attempts: record.attempts.length, reason: record.deadReason }, 'delivery dead-lettered');
  }

  deferred(): void {
    this.deferredTotal.inc();
  }

  replayed(count: number): void {
    this.replayedTotal.inc(count);
  }
}
