import type { FieldTable } from '../encoding/field-table';
import { preconditionFailed } from '../errors';
import type { QueueType } from './queue-type';
import { builtInQueueTypes, unknownQueueType } from './queue-types';

/** Which queue types a broker offers; absent fields keep the built-in behaviour. */
export interface QueueTypeOptions {
  /** Types besides the built-in ones (a type implemented outside the core, e.g. a database-backed one). */
  types?: readonly QueueType[];
  /** The type of a declaration without x-queue-type (default: classic). */
  defaultType?: string;
  /**
   * Only types whose queues every broker node shares (`QueueType.sharedAcrossNodes`) may be
   * declared: the text says why, in the refusal. Unset: every type may be declared.
   */
  sharedOnly?: string;
}

/**
 * One broker's queue types: the built-in ones and any composed in, the default for declarations
 * that name none, and which of them may be declared here. A broker whose nodes share one database
 * (STORE=postgres) declares only types whose queues live in that database: a queue kept in one
 * node's memory would silently differ from node to node.
 */
export class QueueTypeRegistry {
  private readonly types = new Map<string, QueueType>();
  private fallback: QueueType;
  private readonly sharedOnly: string | null;

  constructor(options: QueueTypeOptions = {}) {
    for (const type of [...builtInQueueTypes(), ...(options.types ?? [])]) this.types.set(type.name, type);
    const fallback = this.types.get(options.defaultType ?? 'classic');
    if (fallback === undefined) throw new Error(`default queue type '${options.defaultType}' is not registered`);
    this.fallback = fallback;
    this.sharedOnly = options.sharedOnly ?? null;
  }

  /** Adds a type, or replaces the one of its name (the default too, when it is that one). */
  register(type: QueueType): void {
    const replaced = this.types.get(type.name);
    this.types.set(type.name, type);
    if (replaced === this.fallback) this.fallback = type;
  }

  /** The type of that name, if this broker has it. */
  get(name: string): QueueType | undefined {
    return this.types.get(name);
  }

  /** The type a declaration's arguments ask for; 406 with RabbitMQ's texts for one this broker has not. */
  readonly typeOf = (queue: string, args: FieldTable): QueueType => {
    const raw = args['x-queue-type'];
    if (raw === undefined || raw === null) return this.fallback;
    const type = typeof raw === 'string' ? this.types.get(raw) : undefined;
    return type ?? unknownQueueType(queue, raw);
  };

  /** The type of a queue with these (already validated) arguments, for policy matching: the default when unknown. */
  declaredType(args: FieldTable): QueueType {
    const raw = args['x-queue-type'];
    return (typeof raw === 'string' ? this.types.get(raw) : undefined) ?? this.fallback;
  }

  /** Throws (406) when a queue of this type may not be declared on this broker. */
  requireDeclarable(type: QueueType, queue: string, vhost: string): void {
    if (this.sharedOnly === null || type.sharedAcrossNodes === true) return;
    throw preconditionFailed(`cannot declare queue '${queue}' in vhost '${vhost}': a ${type.name} queue keeps its messages on one node; ${this.sharedOnly}`);
  }

  /**
   * Whether the broker may keep queues of its own that are not declared (a delayed-message
   * exchange's holding queue): not when every queue must be shared.
   */
  get localQueuesAllowed(): boolean {
    return this.sharedOnly === null;
  }

  /** Why local queues are refused, or null. */
  get sharedOnlyReason(): string | null {
    return this.sharedOnly;
  }
}
