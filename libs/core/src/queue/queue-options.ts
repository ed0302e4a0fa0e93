import type { FieldTable } from '../encoding/field-table';
import { preconditionFailed } from '../errors';

export interface QueueOptions {
  durable: boolean;
  /** Connection that owns an exclusive queue, or null. */
  exclusiveOwner: string | null;
  autoDelete: boolean;
  arguments: FieldTable;
}

/** Queue features read from the declare arguments (x-*). */
export interface QueueFeatures {
  /** x-max-priority: 0 means a plain FIFO queue. */
  maxPriority: number;
}

const MAX_PRIORITY_LIMIT = 255;

export function readQueueFeatures(name: string, args: FieldTable): QueueFeatures {
  let maxPriority = 0;
  const raw = args['x-max-priority'];
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) {
      throw preconditionFailed(`invalid arg 'x-max-priority' for queue '${name}': expected a non-negative integer`);
    }
    if (raw > MAX_PRIORITY_LIMIT) {
      throw preconditionFailed(
        `invalid arg 'x-max-priority' for queue '${name}': ${raw} is greater than the maximum of ${MAX_PRIORITY_LIMIT}`,
      );
    }
    maxPriority = raw;
  }
  return { maxPriority };
}
