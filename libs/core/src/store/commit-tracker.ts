import type { CoreMetrics } from '../metrics';
import type { CommitSource } from './broker-store';
import { CommitCallback, CommitToken, commitToken, JOINT_SLOT, NO_COMMIT_NEEDED, positionOf, slotOf } from './commit-token';

/** Joint waits kept before the committed ones are swept out. */
const JOINT_SWEEP_AT = 1024;

/**
 * The stores one broker composes, each under its own slot, and the one place that answers for a
 * token of any of them: a token's slot names its store (see CommitToken), so a confirm waits on
 * the store that wrote its message, wherever its queue lives. The first store composed in is the
 * broker's own (definitions, records, the classic queues' log); a second one (PostgreSQL) would
 * be composed in for the queues of its queue type.
 *
 * A publish that reaches queues of two stores waits on both: `join` makes a joint token, kept in
 * a table until it is committed (the only case that allocates; one store never needs it).
 */
export class CommitTracker {
  private readonly stores: CommitSource[] = [];
  /** Joint tokens' parts (one token per store), by joint position. */
  private readonly joints = new Map<number, CommitToken[]>();
  private nextJoint = 1;
  /** The joint `currentToken` made last, handed out again while its parts are still current. */
  private lastCurrent: CommitToken = NO_COMMIT_NEEDED;

  /** Composes a store in; returns its slot. */
  add(store: CommitSource, metrics: CoreMetrics): number {
    const slot = this.stores.length;
    if (slot >= JOINT_SLOT) throw new Error(`a broker composes at most ${JOINT_SLOT} stores`);
    store.attach(slot, metrics);
    this.stores.push(store);
    return slot;
  }

  /** The store whose tokens carry `slot`. */
  store(slot: number): CommitSource {
    const store = this.stores[slot];
    if (store === undefined) throw new Error(`no store in slot ${slot}`);
    return store;
  }

  /** A token covering every write made so far, in every store. */
  currentToken(): CommitToken {
    if (this.stores.length === 1) return this.stores[0]!.currentToken();
    const parts = this.lastCurrent === NO_COMMIT_NEEDED ? undefined : this.joints.get(positionOf(this.lastCurrent));
    if (parts !== undefined && parts.length === this.stores.length && parts.every((part, slot) => part === this.stores[slot]!.currentToken())) {
      return this.lastCurrent;
    }
    let token = NO_COMMIT_NEEDED;
    for (const store of this.stores) token = this.join(token, store.currentToken());
    this.lastCurrent = token;
    return token;
  }

  isCommitted(token: CommitToken): boolean {
    if (token === NO_COMMIT_NEEDED) return true;
    const slot = slotOf(token);
    if (slot !== JOINT_SLOT) return this.store(slot).isCommitted(token);
    const parts = this.joints.get(positionOf(token));
    // a joint token is forgotten once all its parts committed
    return parts === undefined || parts.every((part) => this.store(slotOf(part)).isCommitted(part));
  }

  /** Calls back (never synchronously) once the token is committed (true), or never can be (false). */
  whenCommitted(token: CommitToken, callback: CommitCallback): void {
    if (token === NO_COMMIT_NEEDED) {
      queueMicrotask(() => callback(true));
      return;
    }
    const slot = slotOf(token);
    if (slot !== JOINT_SLOT) {
      this.store(slot).whenCommitted(token, callback);
      return;
    }
    const position = positionOf(token);
    const parts = this.joints.get(position);
    if (parts === undefined) {
      queueMicrotask(() => callback(true));
      return;
    }
    let waiting = parts.length;
    let committed = true;
    for (const part of parts) {
      this.store(slotOf(part)).whenCommitted(part, (ok) => {
        committed &&= ok;
        if (--waiting > 0) return;
        if (committed) this.joints.delete(position);
        callback(committed);
      });
    }
  }

  /**
   * A token committed once both are: the later of two tokens of one store, or a joint token over
   * the stores of both.
   */
  join(a: CommitToken, b: CommitToken): CommitToken {
    if (a === NO_COMMIT_NEEDED) return b;
    if (b === NO_COMMIT_NEEDED) return a;
    if (slotOf(a) === slotOf(b) && slotOf(a) !== JOINT_SLOT) return a > b ? a : b;
    const bySlot = new Map<number, CommitToken>();
    for (const part of [...this.partsOf(a), ...this.partsOf(b)]) {
      const slot = slotOf(part);
      const other = bySlot.get(slot);
      if (other === undefined || part > other) bySlot.set(slot, part);
    }
    if (bySlot.size === 1) return [...bySlot.values()][0]!;
    if (this.joints.size >= JOINT_SWEEP_AT) this.sweepJoints();
    const position = this.nextJoint++;
    this.joints.set(position, [...bySlot.entries()].sort(([x], [y]) => x - y).map(([, part]) => part));
    return commitToken(JOINT_SLOT, position);
  }

  /** Joint waits kept now (for tests: committed ones are forgotten). */
  get jointCount(): number {
    return this.joints.size;
  }

  private partsOf(token: CommitToken): readonly CommitToken[] {
    if (slotOf(token) !== JOINT_SLOT) return [token];
    // a forgotten joint token committed: it adds nothing to wait for
    return this.joints.get(positionOf(token)) ?? [];
  }

  /** Forgets joint tokens whose parts all committed (they read as committed once forgotten). */
  private sweepJoints(): void {
    for (const [position, parts] of this.joints) {
      if (parts.every((part) => this.store(slotOf(part)).isCommitted(part))) this.joints.delete(position);
    }
  }
}
