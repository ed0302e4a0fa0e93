/**
 * Jobs scheduled and received per lane since the process started: plain numbers bumped on the
 * door's paths and read by /metrics at scrape time (the lane names are the operators' own, so
 * the maps only grow with lanes actually used).
 */
export class LaneCounters {
  private readonly scheduledByLane = new Map<string, number>();
  private readonly receivedByLane = new Map<string, number>();

  /** A new job was kept in its lane (a duplicate by idempotency key is not a new job). */
  scheduled(lane: string): void {
    this.scheduledByLane.set(lane, (this.scheduledByLane.get(lane) ?? 0) + 1);
  }

  /** A job reached a receiver (its answer was written). */
  received(lane: string): void {
    this.receivedByLane.set(lane, (this.receivedByLane.get(lane) ?? 0) + 1);
  }

  scheduledCounts(): ReadonlyMap<string, number> {
    return this.scheduledByLane;
  }

  receivedCounts(): ReadonlyMap<string, number> {
    return this.receivedByLane;
  }
}
