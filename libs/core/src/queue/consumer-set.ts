import type { ConsumerSnapshot } from '../introspection/snapshots';
import type { Consumer } from './consumer';
import type { QueueEntry } from './queue-entry';

interface PriorityGroup {
  readonly priority: number;
  readonly members: Consumer[];
  /** Round-robin cursor: index of the member to try first next time. */
  next: number;
}

/**
 * A queue's consumers in priority groups (highest first), round-robin inside a group.
 * Picking is O(consumers) in the worst case (all without credit) and O(1) in the common case.
 *
 * With a single active consumer (x-single-active-consumer) only one consumer gets messages; when
 * it goes away the next takes over: the highest priority first, then the earliest registered.
 * A consumer registering later, even with a higher priority, waits for the active one to leave.
 */
export class ConsumerSet {
  private groups: PriorityGroup[] = [];
  private total = 0;
  /** The consumer that gets the messages in single-active mode; null otherwise or when empty. */
  private activeConsumer: Consumer | null = null;

  constructor(private readonly singleActive = false) {}

  /** Whether this consumer gets messages now (in single-active mode, only the active one). */
  /** The consumers as management shows them (with their single-active-consumer state). */
  snapshots(vhost: string, queue: string): ConsumerSnapshot[] {
    return this.all().map((consumer) => ({
      vhost,
      queue,
      tag: consumer.tag,
      priority: consumer.priority,
      exclusive: consumer.exclusive,
      ackRequired: !consumer.autoAck,
      owner: consumer.owner ?? null,
      prefetchCount: consumer.prefetchCount ?? 0,
      arguments: consumer.arguments ?? {},
      active: this.isActive(consumer),
      activityStatus: !this.singleActive ? 'up' : this.isActive(consumer) ? 'single_active' : 'waiting',
    }));
  }

  isActive(consumer: Consumer): boolean {
    return !this.singleActive || this.activeConsumer === consumer;
  }

  get size(): number {
    return this.total;
  }

  add(consumer: Consumer): void {
    let index = 0;
    while (index < this.groups.length && this.groups[index]!.priority > consumer.priority) index++;
    let group = this.groups[index];
    if (group === undefined || group.priority !== consumer.priority) {
      group = { priority: consumer.priority, members: [], next: 0 };
      this.groups.splice(index, 0, group);
    }
    group.members.push(consumer);
    this.total++;
    if (this.singleActive && this.activeConsumer === null) this.activeConsumer = consumer;
  }

  remove(consumer: Consumer): boolean {
    for (let g = 0; g < this.groups.length; g++) {
      const group = this.groups[g]!;
      const at = group.members.indexOf(consumer);
      if (at < 0) continue;
      group.members.splice(at, 1);
      if (at < group.next) group.next--;
      if (group.next >= group.members.length) group.next = 0;
      if (group.members.length === 0) this.groups.splice(g, 1);
      this.total--;
      if (this.activeConsumer === consumer) this.activeConsumer = this.groups[0]?.members[0] ?? null;
      return true;
    }
    return false;
  }

  hasExclusive(): boolean {
    for (const group of this.groups) for (const c of group.members) if (c.exclusive) return true;
    return false;
  }

  all(): Consumer[] {
    const out: Consumer[] = [];
    for (const group of this.groups) out.push(...group.members);
    return out;
  }

  /** The next consumer, in priority then round-robin order, that has credit for `entry`. */
  pick(entry: QueueEntry): Consumer | undefined {
    if (this.singleActive) {
      const active = this.activeConsumer;
      return active !== null && active.hasCredit(entry) ? active : undefined;
    }
    const groups = this.groups;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g]!;
      const members = group.members;
      const n = members.length;
      for (let i = 0; i < n; i++) {
        let at = group.next + i;
        if (at >= n) at -= n;
        const consumer = members[at]!;
        if (consumer.hasCredit(entry)) {
          group.next = at + 1 === n ? 0 : at + 1;
          return consumer;
        }
      }
    }
    return undefined;
  }
}
