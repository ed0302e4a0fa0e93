import type { Broker, CommitToken, Queue } from '#core';
import { encodeConnectionBlockedFrame, encodeConnectionUnblockedFrame } from '../codec/methods.generated';
import type { Cancel, Clock } from './clock';
import type { FrameOutput } from './frame-output';
import { UncommittedLimits, UncommittedPublishes } from './uncommitted-publishes';

/**
 * Longest a publisher stays paused by one overloaded queue. The pause normally ends when the queue
 * drains; the cap keeps a connection that also consumes from that queue from stalling itself.
 */
const FLOW_PAUSE_MAX_MS = 250;

/**
 * A connection paused for flow within this long shows the state `flow` (as RabbitMQ's credit flow
 * does): pauses come and go several times a second, and a sample would rarely meet one.
 */
const FLOW_STATE_HOLD_MS = 1000;

/** What the management API shows of a connection's throttling. */
export type ThrottleState = 'running' | 'flow' | 'blocked';

/** What the throttle needs from its connection. */
export interface ThrottledReader {
  /** Stops reading the socket. */
  pauseReading(): void;
  /** Reading may go on as far as the throttle is concerned (other holds may remain). */
  readingAllowed(): void;
  /** Whether the client understands connection.blocked (its capabilities). */
  supportsBlocked(): boolean;
  /** Whether the connection is open (blocked/unblocked frames are sent only then). */
  isOpen(): boolean;
}

/**
 * The four reasons a publishing connection stops being read, each with its own end:
 * - a resource alarm (RabbitMQ's memory/disk alarm): the connection is blocked once it publishes
 *   during the alarm, told with connection.blocked, and read again when the alarm clears;
 * - its own uncommitted publishes: the publishes (or their bytes) the store has not committed yet
 *   are over a limit; read again once commits bring them back within;
 * - store backpressure: the writer is behind; read again when it drains;
 * - queue flow control: a queue it published to is overloaded; read again on relief (capped).
 */
export class PublisherThrottle {
  /** The active alarm, or null. */
  private alarm: string | null = null;
  /** This connection published during the alarm, was told and paused. */
  private blockedByAlarm = false;
  private pausedForStore = false;
  private pausedForCommits = false;
  private flowPause: Cancel | null = null;
  /** When a flow pause (any but the alarm's) last started. */
  private lastFlowAt = -Infinity;
  private readonly uncommittedPublishes: UncommittedPublishes;

  constructor(
    private readonly broker: Broker,
    private readonly output: FrameOutput,
    private readonly clock: Clock,
    private readonly reader: ThrottledReader,
    /** Publishes not committed yet at most before reading pauses. */
    uncommittedLimits: UncommittedLimits,
  ) {
    this.uncommittedPublishes = new UncommittedPublishes(broker, uncommittedLimits, () => this.commitsCaughtUp());
  }

  /** True while any of the four pauses the connection's reading. */
  get pausing(): boolean {
    return this.blockedByAlarm || this.pausedForStore || this.pausedForCommits || this.flowPause !== null;
  }

  /** `blocked` by an alarm, `flow` while paused (or lately paused) for any other reason, else `running`. */
  get state(): ThrottleState {
    if (this.blockedByAlarm) return 'blocked';
    if (this.pausedForStore || this.pausedForCommits || this.flowPause !== null) return 'flow';
    return performance.now() - this.lastFlowAt < FLOW_STATE_HOLD_MS ? 'flow' : 'running';
  }

  /** Publishes of this connection the store has not committed yet, and their body bytes. */
  get uncommitted(): { messages: number; bytes: number } {
    return { messages: this.uncommittedPublishes.messages, bytes: this.uncommittedPublishes.bytes };
  }

  /**
   * A publish was accepted (`bodyBytes` long, waiting for `commitToken` to be durable): apply
   * whatever holds now apply.
   */
  publishAccepted(overloaded: Queue | null, commitToken: CommitToken, bodyBytes: number): void {
    if (this.alarm !== null) this.blockForAlarm();
    this.uncommittedPublishes.add(commitToken, bodyBytes);
    if (!this.pausedForCommits && this.uncommittedPublishes.overLimit) {
      this.pausedForCommits = true;
      this.noteFlow();
      this.reader.pauseReading();
    }
    if (!this.pausedForStore && this.broker.storeBacklogged) {
      this.pausedForStore = true;
      this.noteFlow();
      this.reader.pauseReading();
      this.broker.onStoreRelief(() => {
        this.pausedForStore = false;
        this.reader.readingAllowed();
      });
    }
    if (overloaded !== null && this.flowPause === null) this.pauseForFlow(overloaded);
  }

  /**
   * A resource alarm started (reason) or cleared (null). As in RabbitMQ, only connections that
   * publish during the alarm are blocked; consumer-only connections carry on.
   */
  setAlarm(reason: string | null): void {
    if (reason === this.alarm) return;
    this.alarm = reason;
    if (reason === null && this.blockedByAlarm) {
      this.blockedByAlarm = false;
      if (this.reader.supportsBlocked() && this.reader.isOpen()) {
        encodeConnectionUnblockedFrame(this.output.writer, 0, {});
        this.output.schedule();
      }
      this.reader.readingAllowed();
    }
  }

  /** The connection is gone: drop pending timers. */
  stop(): void {
    this.flowPause?.();
    this.flowPause = null;
  }

  private blockForAlarm(): void {
    if (this.blockedByAlarm || this.alarm === null) return;
    this.blockedByAlarm = true;
    if (this.reader.supportsBlocked()) {
      encodeConnectionBlockedFrame(this.output.writer, 0, { reason: this.alarm });
      this.output.schedule();
    }
    this.reader.pauseReading();
  }

  private commitsCaughtUp(): void {
    if (!this.pausedForCommits) return;
    this.pausedForCommits = false;
    this.reader.readingAllowed();
  }

  private noteFlow(): void {
    this.lastFlowAt = performance.now();
  }

  private pauseForFlow(overloaded: Queue): void {
    this.noteFlow();
    this.reader.pauseReading();
    let cancelTimer: Cancel | null = null;
    const resume = (): void => {
      if (this.flowPause !== end) return;
      this.flowPause = null;
      cancelTimer?.();
      this.reader.readingAllowed();
    };
    const end: Cancel = () => cancelTimer?.();
    this.flowPause = end;
    overloaded.onRelief(resume);
    cancelTimer = this.clock.after(FLOW_PAUSE_MAX_MS, resume);
  }
}
