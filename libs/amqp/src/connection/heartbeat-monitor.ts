import type { Cancel, Clock } from './clock';

/** What the monitor needs from its connection. */
export interface HeartbeatPeer {
  /**
   * True while we hold the peer's socket paused (blocked, flow control): its heartbeats cannot be
   * read then, so silence is not its fault (RabbitMQ pauses its monitor too).
   */
  readingPaused(): boolean;
  /** Sends a heartbeat frame unless something else was written since the last tick. */
  sendHeartbeatIfIdle(): void;
  /** The peer missed two intervals: drop it. */
  timedOut(): void;
}

/** Silent half-interval ticks after which the peer is considered dead (two heartbeat intervals). */
const SILENT_TICKS_ALLOWED = 4;

/**
 * Heartbeats of one connection, as the spec asks: we send one when we have been idle, and drop a
 * peer from which nothing arrived for two intervals. Ticks run every half interval.
 */
export class HeartbeatMonitor {
  private receivedSinceTick = true;
  private silentTicks = 0;
  private cancel: Cancel | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly peer: HeartbeatPeer,
  ) {}

  /** Starts with the negotiated interval (seconds); 0 means no heartbeats. */
  start(intervalSeconds: number): void {
    this.stop();
    if (intervalSeconds === 0) return;
    this.receivedSinceTick = true;
    this.silentTicks = 0;
    this.cancel = this.clock.every((intervalSeconds * 1000) / 2, () => this.tick());
  }

  /** Anything arrived from the peer. */
  received(): void {
    this.receivedSinceTick = true;
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
  }

  private tick(): void {
    if (this.receivedSinceTick || this.peer.readingPaused()) {
      this.receivedSinceTick = false;
      this.silentTicks = 0;
    } else if (++this.silentTicks >= SILENT_TICKS_ALLOWED) {
      this.stop();
      this.peer.timedOut();
      return;
    }
    this.peer.sendHeartbeatIfIdle();
  }
}
