import { CommitToken, NO_COMMIT_NEEDED } from '#core';
import type { Durability } from '../channel/channel-host';

/** How much a connection may have waiting for the store's commit before it is not read; 0: no limit. */
export interface UncommittedLimits {
  /**
   * Publishes at most. Each holds a message, its queue entry and a place in the store's open batch
   * on the heap until its batch is sealed: thousands more of them outlive V8's young generation.
   */
  messages: number;
  /** Body bytes at most (large bodies live outside the heap; this bounds them). */
  bytes: number;
}

/** Publishes of this connection that wait for the same commit (one store batch). */
interface CommitGroup {
  messages: number;
  bytes: number;
}

/**
 * What a connection published that the store has not committed yet (RabbitMQ's credit flow,
 * counted up to the commit instead of between processes). A publisher that never waits for its
 * confirms would otherwise fill the store's open batch, and the heap, as fast as the socket
 * delivers; the connection stops reading while this is over a limit, so TCP slows the client down
 * and nothing is refused.
 *
 * One durability callback per commit token (per batch, not per publish) keeps the count.
 */
export class UncommittedPublishes {
  private pendingMessages = 0;
  private pendingBytes = 0;
  private lastToken: CommitToken = NO_COMMIT_NEEDED;
  private lastGroup: CommitGroup | null = null;
  private readonly counting: boolean;

  constructor(
    private readonly durability: Durability,
    private readonly limits: UncommittedLimits,
    /** The count went from over a limit to within both. */
    private readonly belowLimit: () => void,
  ) {
    this.counting = limits.messages > 0 || limits.bytes > 0;
  }

  /** Publishes waiting for their commit (answered: committed, or failed for good). */
  get messages(): number {
    return this.pendingMessages;
  }

  /** Their body bytes. */
  get bytes(): number {
    return this.pendingBytes;
  }

  get overLimit(): boolean {
    const { messages, bytes } = this.limits;
    return (messages > 0 && this.pendingMessages > messages) || (bytes > 0 && this.pendingBytes > bytes);
  }

  /** A publish that waits for `token` (NO_COMMIT_NEEDED: it waits for nothing, and is not counted). */
  add(token: CommitToken, bodyBytes: number): void {
    if (token === NO_COMMIT_NEEDED || !this.counting) return;
    this.pendingMessages++;
    this.pendingBytes += bodyBytes;
    if (token === this.lastToken && this.lastGroup !== null) {
      this.lastGroup.messages++;
      this.lastGroup.bytes += bodyBytes;
      return;
    }
    const group: CommitGroup = { messages: 1, bytes: bodyBytes };
    this.lastToken = token;
    this.lastGroup = group;
    // a failed commit answers too: those publishes are not waited for any more either
    this.durability.onDurable(token, () => this.answered(group));
  }

  private answered(group: CommitGroup): void {
    const wasOver = this.overLimit;
    this.pendingMessages -= group.messages;
    this.pendingBytes -= group.bytes;
    if (group === this.lastGroup) {
      this.lastGroup = null;
      this.lastToken = NO_COMMIT_NEEDED;
    }
    if (wasOver && !this.overLimit) this.belowLimit();
  }
}
