import { CommitToken, NO_COMMIT_NEEDED } from '#core';
import type { Durability } from '../channel/channel-host';

/**
 * What one publish is charged beyond its body: the message, its queue entry and its place in the
 * store's open batch cost about this much of the heap until the batch is written.
 */
export const PUBLISH_OVERHEAD_BYTES = 512;

/** Publishes of this connection that wait for the same commit (one store batch). */
interface CommitGroup {
  bytes: number;
}

/**
 * The bytes a connection published that the store has not committed yet (RabbitMQ's credit flow,
 * counted in bytes up to the commit instead of in messages between processes). A publisher that
 * never waits for its confirms would otherwise fill the store's open batch, and the heap, as fast
 * as the socket delivers; the connection stops reading while this is over its limit, so TCP slows
 * the client down and nothing is refused.
 *
 * One durability callback per commit token (per batch, not per publish) keeps the count.
 */
export class UncommittedPublishes {
  private pendingBytes = 0;
  private lastToken: CommitToken = NO_COMMIT_NEEDED;
  private lastGroup: CommitGroup | null = null;

  constructor(
    private readonly durability: Durability,
    /** Bytes at most before the connection pauses; 0: no limit. */
    private readonly limit: number,
    /** The count went from over the limit to within it. */
    private readonly belowLimit: () => void,
  ) {}

  /** Bytes published and not committed yet (answered: committed, or failed for good). */
  get bytes(): number {
    return this.pendingBytes;
  }

  get overLimit(): boolean {
    return this.limit > 0 && this.pendingBytes > this.limit;
  }

  /** A publish that waits for `token` (NO_COMMIT_NEEDED: it waits for nothing, and is not counted). */
  add(token: CommitToken, bodyBytes: number): void {
    if (token === NO_COMMIT_NEEDED || this.limit === 0) return;
    const bytes = bodyBytes + PUBLISH_OVERHEAD_BYTES;
    this.pendingBytes += bytes;
    if (token === this.lastToken && this.lastGroup !== null) {
      this.lastGroup.bytes += bytes;
      return;
    }
    const group: CommitGroup = { bytes };
    this.lastToken = token;
    this.lastGroup = group;
    // a failed commit answers too: those bytes are not waited for any more either
    this.durability.onDurable(token, () => this.answered(group));
  }

  private answered(group: CommitGroup): void {
    const wasOver = this.overLimit;
    this.pendingBytes -= group.bytes;
    if (group === this.lastGroup) {
      this.lastGroup = null;
      this.lastToken = NO_COMMIT_NEEDED;
    }
    if (wasOver && !this.overLimit) this.belowLimit();
  }
}
