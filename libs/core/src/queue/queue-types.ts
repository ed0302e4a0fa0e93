import type { FieldTable } from '../encoding/field-table';
import { preconditionFailed } from '../errors';
import type { QueueType } from './queue-type';
import { CLASSIC_QUEUE } from './types/classic-queue-type';
import { QUORUM_QUEUE } from './types/quorum-queue-type';

/**
 * The queue types a declaration may ask for by x-queue-type (absent: classic). Adding a type is
 * one file implementing QueueType (and the Queue its `create` builds) plus one line here.
 */
const QUEUE_TYPES: ReadonlyMap<string, QueueType> = new Map([
  ['classic', CLASSIC_QUEUE],
  ['quorum', QUORUM_QUEUE],
]);

/** The type a declaration's arguments ask for; 406 with RabbitMQ's texts for one this broker has not. */
export function queueTypeOf(queue: string, args: FieldTable): QueueType {
  const raw = args['x-queue-type'];
  if (raw === undefined || raw === null) return CLASSIC_QUEUE;
  const type = typeof raw === 'string' ? QUEUE_TYPES.get(raw) : undefined;
  if (type !== undefined) return type;
  if (raw === 'stream') {
    throw preconditionFailed(`queue '${queue}': x-queue-type 'stream' is not supported by this broker; declare a classic or quorum queue`);
  }
  throw preconditionFailed(`invalid arg 'x-queue-type' for queue '${queue}': expected 'classic', 'quorum' or 'stream', got ${typeof raw === 'string' ? `'${raw}'` : typeof raw}`);
}

/** The type of a queue with these (already validated) arguments, for policy matching: classic when unknown. */
export function declaredQueueType(args: FieldTable): QueueType {
  const raw = args['x-queue-type'];
  return (typeof raw === 'string' ? QUEUE_TYPES.get(raw) : undefined) ?? CLASSIC_QUEUE;
}
