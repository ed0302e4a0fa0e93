import { randomBytes } from 'node:crypto';
import type { FieldTable } from '../encoding/field-table';
import { accessRefused, notFound, preconditionFailed, resourceLocked } from '../errors';
import type { Queue } from '../queue/queue';
import type { QueueFeatures, QueueOptions } from '../queue/queue-options';
import type { QueueOwner } from '../queue/queue-type';
import { requireEncodableArguments, requireShortString, reservedName } from './declaration-checks';
import { requireEquivalent, requireEquivalentArgs } from './equivalence';
import type { ExchangeTopology } from './exchange-topology';
import { ExclusiveQueues } from './exclusive-queues';
import type { QueueDeclaration, QueueDeleteConditions, VhostContext } from './vhost-requests';

/**
 * A virtual host's queues: declares with RabbitMQ's checks (names, arguments, the queue type's own
 * rules, equivalence, the vhost's queue limit), exclusive ownership, deletes, policies and
 * recovery. Each queue is built by its type (queue-types.ts) and used only through the Queue seam.
 */
export class QueueTopology {
  /** By name: what the default exchange routes to and what listings show. */
  readonly all = new Map<string, Queue>();
  private readonly exclusive = new ExclusiveQueues();
  /** Set once the exchanges exist (they need this map for the default exchange). */
  exchanges!: ExchangeTopology;

  constructor(
    private readonly vhost: string,
    private readonly context: VhostContext,
    private readonly owner: QueueOwner,
  ) {}

  /** Looks a queue up for use by `owner`: 404 when missing, 405 when exclusive to someone else. */
  get(name: string, owner: string | null): Queue {
    const queue = this.all.get(name);
    if (queue === undefined) throw notFound(`no queue '${name}' in vhost '${this.vhost}'`);
    this.checkOwner(queue, owner);
    return queue;
  }

  private checkOwner(queue: Queue, owner: string | null): void {
    const exclusiveOwner = queue.options.exclusiveOwner;
    if (exclusiveOwner !== null && exclusiveOwner !== owner) {
      throw resourceLocked(
        `cannot obtain exclusive access to locked queue '${queue.name}' in vhost '${this.vhost}'. ` +
          'It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.',
      );
    }
  }

  declare(request: QueueDeclaration): Queue {
    this.context.metrics.queuesDeclared++;
    const owner = request.owner ?? null;
    let name = request.name;
    if (request.passive) {
      const queue = this.all.get(name);
      if (queue === undefined) throw notFound(`no queue '${name}' in vhost '${this.vhost}'`);
      this.checkOwner(queue, owner);
      // a passive declare only looks (monitoring must not keep an x-expires queue alive)
      return queue;
    }
    if (name === '') name = `amq.gen-${randomBytes(16).toString('base64url')}`;
    else if (reservedName(name)) throw accessRefused(`queue name '${name}' contains reserved prefix 'amq.*'`);
    requireShortString('queue', name);
    request.authorize?.(name);
    const durable = request.durable ?? false;
    const exclusive = request.exclusive ?? false;
    const autoDelete = request.autoDelete ?? false;
    const args = request.arguments ?? {};
    requireEncodableArguments(args);
    const existing = this.all.get(name);
    if (existing !== undefined) {
      this.checkOwner(existing, exclusive ? owner : null);
      requireEquivalent('queue', name, this.vhost, 'durable', durable, existing.options.durable);
      requireEquivalent('queue', name, this.vhost, 'exclusive', exclusive, existing.options.exclusiveOwner !== null);
      requireEquivalent('queue', name, this.vhost, 'auto_delete', autoDelete, existing.options.autoDelete);
      requireEquivalentArgs('queue', name, this.vhost, args, existing.options.arguments);
      existing.touch();
      return existing;
    }
    const { policy, features } = this.featuresOf(name, args);
    this.context.queueTypes.requireDeclarable(features.type, name, this.vhost);
    features.type.checkProperties(name, this.vhost, { durable, exclusive, autoDelete });
    const max = this.context.queueLimit(this.vhost);
    if (max !== null && this.all.size >= max) {
      // RabbitMQ's text and kind for its vhost queue limit
      throw preconditionFailed(`cannot declare queue '${name}': queue limit in vhost '${this.vhost}' (${max}) is reached`);
    }
    const exclusiveOwner = exclusive ? owner : null;
    const queue = this.build(this.context.nextQueueId(), name, { durable, exclusiveOwner, autoDelete, arguments: args }, policy, features);
    this.all.set(name, queue);
    if (exclusive && owner !== null) this.exclusive.add(owner, queue);
    this.context.metrics.queuesCreated++;
    if (durable && !exclusive) {
      this.context.definitions.putQueue({ id: queue.id, vhost: this.vhost, name, autoDelete, arguments: args });
    }
    return queue;
  }

  /** Re-creates a recovered durable queue without writing it back. */
  restore(id: number, name: string, autoDelete: boolean, args: FieldTable): Queue {
    const { policy, features } = this.featuresOf(name, args);
    const queue = this.build(id, name, { durable: true, exclusiveOwner: null, autoDelete, arguments: args }, policy, features);
    this.all.set(name, queue);
    return queue;
  }

  /** The one place a queue is built: by its type, with the policy that applies. */
  private build(id: number, name: string, options: QueueOptions, policy: string | null, features: QueueFeatures): Queue {
    const { store, metrics, queueLimits } = this.context;
    const queue = features.type.create({ id, vhost: this.vhost, name, options, features, owner: this.owner, store, metrics, limits: queueLimits });
    if (policy !== null) queue.applyPolicy(policy, features);
    return queue;
  }

  /** Declared arguments (checked: a bad one is the declarer's 406) under the policy that applies. */
  private featuresOf(name: string, args: FieldTable): { policy: string | null; features: QueueFeatures } {
    return this.context.policies.featuresFor(this.vhost, name, args);
  }

  /** Policies changed: every queue takes its new effective settings. */
  reapplyPolicies(): void {
    for (const queue of this.all.values()) {
      const { policy, features } = this.featuresOf(queue.name, queue.options.arguments);
      queue.applyPolicy(policy, features);
    }
  }

  /** Deletes a queue; returns the number of ready messages it held. Missing queue: 0. */
  delete(name: string, conditions: QueueDeleteConditions): number {
    const queue = this.all.get(name);
    if (queue === undefined) return 0;
    this.checkOwner(queue, conditions.owner ?? null);
    if (conditions.ifUnused && queue.consumerCount > 0) {
      throw preconditionFailed(`queue '${name}' in vhost '${this.vhost}' in use`);
    }
    if (conditions.ifEmpty && queue.messageCount > 0) {
      throw preconditionFailed(`queue '${name}' in vhost '${this.vhost}' is not empty`);
    }
    return this.remove(queue);
  }

  /** Removes a queue with its bindings (auto-deleting exchanges left without any) and its store rows. */
  remove(queue: Queue): number {
    this.all.delete(queue.name);
    const owner = queue.options.exclusiveOwner;
    if (owner !== null) this.exclusive.remove(owner, queue);
    this.context.metrics.queuesDeleted++;
    const count = queue.delete();
    for (const exchange of queue.inbound.sources()) {
      if (exchange.unbindDestination(queue).length > 0) this.exchanges.removeIfUnused(exchange);
    }
    this.context.definitions.deleteQueue(queue.id, this.vhost, queue.name);
    return count;
  }

  /** An auto-delete or expired queue is unused: it goes, unless it was replaced meanwhile. */
  removeIfCurrent(queue: Queue): void {
    if (this.all.get(queue.name) === queue) this.remove(queue);
  }

  /** An owner (connection) went away: its exclusive queues go with it. */
  releaseOwner(owner: string): void {
    for (const queue of this.exclusive.take(owner)) this.remove(queue);
  }

  /** The vhost is being deleted: every queue goes, durably. */
  removeAll(): void {
    for (const queue of [...this.all.values()]) this.remove(queue);
  }

  /** The queues whose name starts with `prefix`. */
  list(prefix: string): Queue[] {
    const out: Queue[] = [];
    for (const queue of this.all.values()) if (queue.name.startsWith(prefix)) out.push(queue);
    return out;
  }
}
