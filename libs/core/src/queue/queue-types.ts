import type { FieldTable } from '../encoding/field-table';
import { preconditionFailed } from '../errors';
import type { QueueType } from './queue-type';
import { CLASSIC_QUEUE } from './types/classic-queue-type';
import { QUORUM_QUEUE } from './types/quorum-queue-type';

/**
 * The built-in queue types a declaration may ask for by x-queue-type (absent: classic). Adding a
 * type is one file implementing QueueType (and the Queue its `create` builds) plus one line here;
 * a type implemented outside the core (it needs a driver the core must not know) is composed into
 * a broker instead (BrokerOptions.queueTypes, see QueueTypeRegistry).
 */
const QUEUE_TYPES: ReadonlyMap<string, QueueType> = new Map([
  ['classic', CLASSIC_QUEUE],
  ['quorum', QUORUM_QUEUE],
]);

/** The built-in types (a broker's QueueTypeRegistry starts with these). */
export function builtInQueueTypes(): QueueType[] {
  return [...QUEUE_TYPES.values()];
}

/** The type a declaration's arguments ask for among the built-in ones; 406 with RabbitMQ's texts for one this broker has not. */
export function queueTypeOf(queue: string, args: FieldTable): QueueType {
  const raw = args['x-queue-type'];
  if (raw === undefined || raw === null) return CLASSIC_QUEUE;
  const type = typeof raw === 'string' ? QUEUE_TYPES.get(raw) : undefined;
  return type ?? unknownQueueType(queue, raw);
}

/** 406 for an x-queue-type this broker has not, with RabbitMQ's texts. */
export function unknownQueueType(queue: string, raw: unknown): never {
  if (raw === 'stream') {
    throw preconditionFailed(`queue '${queue}': x-queue-type 'stream' is not supported by this broker; declare a classic or quorum queue`);
  }
  throw preconditionFailed(`invalid arg 'x-queue-type' for queue '${queue}': expected 'classic', 'quorum' or 'stream', got ${typeof raw === 'string' ? `'${raw}'` : typeof raw}`);
}
