import { SqliteStore } from '#core';

/**
 * How many times paged rows were read back from a SQLite store (SqliteStore.readPaged, in any
 * store of this process) while `during` ran: a lookup by key must read none.
 */
export async function pagedReads(during: () => Promise<void>): Promise<number> {
  const original = SqliteStore.prototype.readPaged;
  let reads = 0;
  SqliteStore.prototype.readPaged = function (this: SqliteStore, ...args) {
    reads++;
    return original.apply(this, args);
  };
  try {
    await during();
    return reads;
  } finally {
    SqliteStore.prototype.readPaged = original;
  }
}
