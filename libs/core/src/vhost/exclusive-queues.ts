import type { Queue } from '../queue/queue';

/**
 * The exclusive queues of each owner (connection): a closing connection releases its own
 * queues without walking every queue of the vhost.
 */
export class ExclusiveQueues {
  private readonly byOwner = new Map<string, Set<Queue>>();

  add(owner: string, queue: Queue): void {
    let queues = this.byOwner.get(owner);
    if (queues === undefined) this.byOwner.set(owner, (queues = new Set()));
    queues.add(queue);
  }

  remove(owner: string, queue: Queue): void {
    const queues = this.byOwner.get(owner);
    if (queues === undefined) return;
    queues.delete(queue);
    if (queues.size === 0) this.byOwner.delete(owner);
  }

  /** The owner's queues, forgotten here (the caller deletes them). */
  take(owner: string): Queue[] {
    const queues = this.byOwner.get(owner);
    this.byOwner.delete(owner);
    return queues === undefined ? [] : [...queues];
  }
}
