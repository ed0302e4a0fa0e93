import type { QueueEntry } from './queue-entry';
import type { RankBucket } from './rank-index';

/** Rough per-entry memory beyond the body (entry, message, properties objects). */
export const ENTRY_OVERHEAD_BYTES = 320;
/** Rough extra memory of a decoded headers table or of annotations (measured ~300 B for a job's five headers). */
const HEADERS_OVERHEAD_BYTES = 320;

/** Estimated memory of a ready entry: body, fixed overhead, and decoded headers or annotations if any. */
export const entryCost = (entry: QueueEntry): number =>
  entry.message.body.length +
  ENTRY_OVERHEAD_BYTES +
  (entry.message.properties.headers !== undefined || entry.message.annotations !== null ? HEADERS_OVERHEAD_BYTES : 0);

/**
 * Every counter of a queue's ready entries, changed only through the moves an entry can make
 * (arrive in memory or paged, page out, page in, leave), so the totals and the per-bucket paged
 * figures cannot drift apart.
 */
export class ReadyAccounting {
  /** Ready entries, in memory or paged. */
  count = 0;
  /** Body bytes of all ready entries. */
  bytes = 0;
  /** Estimated memory of the in-memory entries (see entryCost). */
  memoryBytes = 0;
  pagedCount = 0;
  pagedBytes = 0;

  arrivedInMemory(entry: QueueEntry): void {
    this.count++;
    this.bytes += entry.message.body.length;
    this.memoryBytes += entryCost(entry);
  }

  arrivedPaged(bucket: RankBucket, entry: QueueEntry): void {
    const size = entry.message.body.length;
    this.count++;
    this.bytes += size;
    this.addPaged(bucket, 1, size);
  }

  leftMemory(entry: QueueEntry): void {
    this.count--;
    this.bytes -= entry.message.body.length;
    this.memoryBytes -= entryCost(entry);
  }

  leftPaged(bucket: RankBucket, entry: QueueEntry): void {
    const size = entry.message.body.length;
    this.count--;
    this.bytes -= size;
    this.addPaged(bucket, -1, -size);
  }

  pagedOut(bucket: RankBucket, entry: QueueEntry): void {
    this.memoryBytes -= entryCost(entry);
    this.addPaged(bucket, 1, entry.message.body.length);
  }

  pagedIn(bucket: RankBucket, entry: QueueEntry): void {
    this.memoryBytes += entryCost(entry);
    this.addPaged(bucket, -1, -entry.message.body.length);
  }

  /** The store has no more rows for the bucket: what it was thought to hold is gone. */
  droppedStale(bucket: RankBucket): void {
    this.count -= bucket.paged;
    this.bytes -= bucket.pagedBytes;
    this.addPaged(bucket, -bucket.paged, -bucket.pagedBytes);
  }

  /** Recovered state of one bucket: `head` in memory, the rest paged. */
  recovered(bucket: RankBucket, head: readonly QueueEntry[], pagedCount: number, pagedBytes: number): void {
    for (const entry of head) this.arrivedInMemory(entry);
    this.count += pagedCount;
    this.bytes += pagedBytes;
    this.addPaged(bucket, pagedCount, pagedBytes);
  }

  /** Average memory an entry read back from the store will cost. */
  averagePagedCost(): number {
    return ENTRY_OVERHEAD_BYTES + (this.pagedCount > 0 ? this.pagedBytes / this.pagedCount : 0);
  }

  clear(buckets: readonly RankBucket[]): void {
    for (const bucket of buckets) {
      bucket.paged = 0;
      bucket.pagedBytes = 0;
    }
    this.count = 0;
    this.bytes = 0;
    this.memoryBytes = 0;
    this.pagedCount = 0;
    this.pagedBytes = 0;
  }

  private addPaged(bucket: RankBucket, count: number, bytes: number): void {
    bucket.paged += count;
    bucket.pagedBytes += bytes;
    this.pagedCount += count;
    this.pagedBytes += bytes;
  }
}
