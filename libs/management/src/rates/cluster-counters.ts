import type { ClusterNode, ClusterView } from '#core';
import { GLOBAL_COUNTERS, GlobalCounter, globalCounters } from './rate-sampler';

export type CounterValues = Record<GlobalCounter, number>;

const zero = (): CounterValues => Object.fromEntries(GLOBAL_COUNTERS.map((name) => [name, 0])) as CounterValues;

/**
 * The cluster's message counters, as RabbitMQ's overview shows them for a whole cluster: this
 * node's read now, every other node's as its last heartbeat reported them. Each node's counters
 * start at zero when it starts, so the sum of the readings would fall when a node restarts; the
 * totals here grow by each node run's increase since its previous reading instead (a run is a node
 * name and its start time: a restarted node's counts are all new), and never fall. Counting starts
 * with this node (as RabbitMQ's statistics start with its management plugin): what a node that was
 * already running had counted before this node first saw it is its starting point, not an
 * increase, so no rate jumps when the node list first arrives.
 */
export class ClusterCounters {
  private readonly totals = zero();
  private readonly previous = new Map<string, CounterValues>();
  /** The other nodes as last read from the database (refreshed between samples). */
  private others: ClusterNode[] = [];
  private readonly since = Date.now();

  constructor(private readonly view: ClusterView) {}

  /** Reads the node list again, for the next fold; never fails (a failed read keeps the last list). */
  async refresh(): Promise<void> {
    try {
      this.others = (await this.view.nodes()).filter((node) => node.name !== this.view.localNode);
    } catch {
      // the database is away: the other nodes' counters stand still until it is back
    }
  }

  /** The cluster-wide totals with this node's counters `local` read now. */
  fold(local: CounterValues): CounterValues {
    const seen = new Set<string>();
    this.add(this.view.localNode, local, seen, false);
    for (const node of this.others) {
      const counters = node.figures?.counters;
      if (counters !== undefined) this.add(`${node.name}\u0000${node.startedAt}`, globalCounters(counters.core, counters.doors), seen, node.startedAt < this.since);
    }
    // runs that ended (and left the node list) count no more
    for (const run of this.previous.keys()) if (!seen.has(run)) this.previous.delete(run);
    return { ...this.totals };
  }

  private add(run: string, reading: CounterValues, seen: Set<string>, ranBefore: boolean): void {
    seen.add(run);
    const before = this.previous.get(run);
    this.previous.set(run, reading);
    if (before === undefined && ranBefore) return;
    for (const name of GLOBAL_COUNTERS) {
      // a counter never falls within a run; should one, what it reads now is what is new
      const now = reading[name] ?? 0;
      const last = before?.[name] ?? 0;
      this.totals[name] += now >= last ? now - last : now;
    }
  }
}
