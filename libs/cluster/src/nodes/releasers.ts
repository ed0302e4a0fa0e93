import type { PoolClient } from 'pg';

/** A node whose work is given back: found dead by another node, taken over by its next incarnation, or leaving. */
export interface DeadNode {
  /** Its row id in `nodes` (stable across its incarnations). */
  id: number;
  name: string;
  /** The incarnation that held the work. */
  incarnation: string;
}

/**
 * Gives back what a node held (job leases, deliveries in flight) so the other nodes finish the
 * work. Runs inside the transaction that marks the node dead (`tx`): what it releases and the mark
 * commit together, or neither does and another round tries again. Must be idempotent.
 */
export type Releaser = (node: DeadNode, tx: PoolClient) => Promise<void>;

/** The releasers composed in (the database-backed queue type registers its own). */
export class Releasers {
  private readonly list: { name: string; release: Releaser }[] = [];

  /** Adds a releaser; `name` says in logs and errors which one it is. */
  add(name: string, release: Releaser): void {
    this.list.push({ name, release });
  }

  async releaseFor(node: DeadNode, tx: PoolClient): Promise<void> {
    for (const { name, release } of this.list) {
      try {
        await release(node, tx);
      } catch (error) {
        throw new Error(`releaser '${name}' failed for node '${node.name}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
  }
}
