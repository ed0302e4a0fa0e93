import type { Queue } from '../queue/queue';
import type { Overflow } from '../queue/queue-options';
import { CommitToken, NO_COMMIT_NEEDED } from '../store/commit-token';

/**
 * What became of one publish, decided once by the intake (intake.ts) and read by every door in
 * one place: AMQP confirms, returns and flow; the job door's `ok` or 503; the delivery door's 202
 * or 503; the management publish's answer. Immutable: a door may keep it across awaits.
 *
 * Every variant has the same fields in the same order (one hidden class, so a door's reads stay
 * monomorphic); `kind` says which of them mean something.
 */
export type PublishOutcome = RoutedOutcome | UnroutableOutcome | RefusedOutcome;

/** Enqueued on `routed` queues (a delayed message held by its exchange counts as one). */
export interface RoutedOutcome {
  readonly kind: 'routed';
  readonly routed: number;
  /**
   * What to wait for before the publish may be acknowledged as durable (Broker.onDurable):
   * NO_COMMIT_NEEDED unless it was written to the store (persistent message, durable queue).
   */
  readonly commitToken: CommitToken;
  /** A queue it reached is overloaded (flow control): the publisher should pause until its relief. */
  readonly overloaded: Queue | null;
  readonly refusal: null;
}

/** No queue matched. */
export interface UnroutableOutcome {
  readonly kind: 'unroutable';
  readonly routed: 0;
  readonly commitToken: typeof NO_COMMIT_NEEDED;
  readonly overloaded: null;
  readonly refusal: null;
}

/**
 * Not accepted: a queue it was routed to refused it (the publisher must not be told it is kept:
 * AMQP basic.nack, HTTP 503), or the broker refused it before routing (a resource alarm, for
 * doors that refuse rather than block their publishers). Queues that did take it keep it.
 */
export interface RefusedOutcome {
  readonly kind: 'refused';
  /** Queues it was routed to, the refusing ones included (0: refused before routing). */
  readonly routed: number;
  /** What the queues that did take it wait for (their copies are kept all the same). */
  readonly commitToken: CommitToken;
  readonly overloaded: Queue | null;
  readonly refusal: Refusal;
}

export type Refusal = LengthLimitRefusal | AlarmRefusal;

/** A queue at its x-max-length / x-max-length-bytes with x-overflow reject-publish(-dlx). */
export interface LengthLimitRefusal {
  readonly reason: 'length-limit';
  readonly queue: Queue;
  readonly overflow: Overflow;
}

/** A resource alarm is on (memory or disk): `alarm` says which, as ResourceAlarms.active. */
export interface AlarmRefusal {
  readonly reason: 'resource-alarm';
  readonly alarm: string;
}

function outcome<T extends PublishOutcome>(
  kind: T['kind'],
  routed: number,
  commitToken: CommitToken,
  overloaded: Queue | null,
  refusal: Refusal | null,
): T {
  return Object.freeze({ kind, routed, commitToken, overloaded, refusal }) as T;
}

export const UNROUTABLE: UnroutableOutcome = outcome<UnroutableOutcome>('unroutable', 0, NO_COMMIT_NEEDED, null, null);

/** Shared outcomes of the commonest publishes: routed to a few queues, nothing to wait for, no flow. */
const ROUTED_IN_MEMORY: readonly RoutedOutcome[] = Array.from({ length: 17 }, (_, routed) =>
  outcome<RoutedOutcome>('routed', routed, NO_COMMIT_NEEDED, null, null),
);

/**
 * Hands out routed outcomes without allocating one per publish: shared ones when nothing is to be
 * waited for, else the last one again while it says the same (one per store batch, and one per
 * overloaded queue while a burst already read from a socket runs into flow control).
 */
export class RoutedOutcomes {
  private last: RoutedOutcome = ROUTED_IN_MEMORY[1]!;

  of(routed: number, commitToken: CommitToken, overloaded: Queue | null): RoutedOutcome {
    if (commitToken === NO_COMMIT_NEEDED && overloaded === null) {
      return ROUTED_IN_MEMORY[routed] ?? outcome<RoutedOutcome>('routed', routed, commitToken, null, null);
    }
    const last = this.last;
    if (last.commitToken === commitToken && last.routed === routed && last.overloaded === overloaded) return last;
    return (this.last = outcome<RoutedOutcome>('routed', routed, commitToken, overloaded, null));
  }
}

export function refusedOutcome(refusal: Refusal, routed = 0, commitToken: CommitToken = NO_COMMIT_NEEDED, overloaded: Queue | null = null): RefusedOutcome {
  return outcome<RefusedOutcome>('refused', routed, commitToken, overloaded, refusal);
}
