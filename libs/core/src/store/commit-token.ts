/**
 * A point in the store's write order. Everything written before the token was taken is durable
 * once the token is committed. Tokens only grow; the store decides what they count (SQLite: its
 * write batches). A number, so taking one per publish allocates nothing.
 */
export type CommitToken = number & { readonly __commitToken: unique symbol };

/** The token of "nothing to wait for": always committed. */
export const NO_COMMIT_NEEDED = 0 as CommitToken;

export type CommitCallback = (committed: boolean) => void;
