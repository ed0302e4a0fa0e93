/** One sample of a series, as RabbitMQ's `*_details.samples` entries: the value and when (ms since the epoch). */
export interface Sample {
  sample: number;
  timestamp: number;
}

/**
 * The last `capacity` samples of a few series taken together (a counter's cumulative count or a
 * depth), in fixed typed arrays: its memory is set when it is made and never grows.
 */
export class SampleRing {
  private readonly at: Float64Array;
  private readonly series = new Map<string, Float64Array>();
  /** Where the next sample goes. */
  private next = 0;
  private size = 0;

  constructor(
    readonly capacity: number,
    names: readonly string[],
  ) {
    this.at = new Float64Array(capacity);
    for (const name of names) this.series.set(name, new Float64Array(capacity));
  }

  get length(): number {
    return this.size;
  }

  /**
   * Adds a sample of every series (a series missing from `values` records 0). Samples are kept in
   * time order: one not newer than the newest (the wall clock stepped back) is dropped, a gap.
   */
  push(at: number, values: Readonly<Record<string, number>>): void {
    const newest = this.newest;
    if (newest !== null && at <= newest) return;
    this.at[this.next] = at;
    for (const [name, column] of this.series) column[this.next] = values[name] ?? 0;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** When the newest sample was taken, or null before the first. */
  get newest(): number | null {
    return this.size === 0 ? null : this.at[(this.next - 1 + this.capacity) % this.capacity]!;
  }

  /**
   * The samples of `name` taken after `since`, newest first, thinned to one per `step` ms (the
   * newest of each step; `tolerance` ms of jitter in the sampling timer still counts as a step).
   * Where sampling stopped (the broker was stopped, the event loop stood still) there are none:
   * the gap shows as a gap.
   */
  samples(name: string, since: number, step: number, tolerance: number): Sample[] {
    const column = this.series.get(name);
    if (column === undefined) return [];
    const out: Sample[] = [];
    let kept = Infinity;
    for (let i = 0; i < this.size; i++) {
      const index = (this.next - 1 - i + 2 * this.capacity) % this.capacity;
      const at = this.at[index]!;
      if (at <= since) break;
      if (at > kept - step + tolerance) continue;
      out.push({ sample: column[index]!, timestamp: at });
      kept = at;
    }
    return out;
  }
}
