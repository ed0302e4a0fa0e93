/**
 * A point in one store's write order. Everything written to that store before the token was taken
 * is durable once the token is committed. A token knows its store: its low bits are the store's
 * slot in the broker's composition (see CommitTracker), the rest its position, which only grows
 * (SQLite: its write batches). A number, so taking one per publish allocates nothing, and two
 * tokens of one store compare as their positions do.
 */
export type CommitToken = number & { readonly __commitToken: unique symbol };

/** The token of "nothing to wait for": always committed, whatever the store. */
export const NO_COMMIT_NEEDED = 0 as CommitToken;

export type CommitCallback = (committed: boolean) => void;

/**
 * Stores one broker composes at most, counting the slot kept for joint tokens (a point in several
 * stores at once, see CommitTracker.join).
 */
export const STORE_SLOTS = 8;
/** The slot of joint tokens: their position numbers a joint wait, not a write. */
export const JOINT_SLOT = STORE_SLOTS - 1;

/** The token of `position` in the store at `slot`. */
export function commitToken(slot: number, position: number): CommitToken {
  return (position * STORE_SLOTS + slot) as CommitToken;
}

/** The slot of the store a token belongs to. */
export function slotOf(token: CommitToken): number {
  return token % STORE_SLOTS;
}

/** The position a token names in its store's write order. */
export function positionOf(token: CommitToken): number {
  return (token - (token % STORE_SLOTS)) / STORE_SLOTS;
}
