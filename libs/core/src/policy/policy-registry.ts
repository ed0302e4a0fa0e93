import type { FieldTable } from '../encoding/field-table';
import { notFound } from '../errors';
import { QueueFeatures, readQueueFeatures } from '../queue/queue-options';
import type { QueueTypeRegistry } from '../queue/queue-type-registry';
import type { DefinitionWrites } from '../store/definition-gate';
import { appliesToQueue, Policy, policyArguments, validatePolicy } from './policy';
import { NamePattern, storedNamePattern } from '../auth/name-pattern';

/** The store's record namespace of policies (definitions every broker node shares). */
export const POLICIES = 'policies';
const FOREVER = Number.MAX_SAFE_INTEGER;

interface Compiled {
  policy: Policy;
  matcher: NamePattern;
}

/** The policy that applies to a queue, and the arguments it ends up with. */
export interface AppliedPolicy {
  policy: Policy | null;
  /** The queue's own arguments over the policy's settings: a declared argument wins, as in RabbitMQ. */
  arguments: FieldTable;
}

/**
 * Policies of every vhost, kept durably in the store's keyed records. A change calls the
 * listener with the vhost, whose queues then take their new effective settings.
 */
export class PolicyRegistry {
  private readonly byVhost = new Map<string, Map<string, Compiled>>();
  private listener: (vhost: string) => void = () => {};

  constructor(
    private readonly store: DefinitionWrites,
    private readonly queueTypes: QueueTypeRegistry,
  ) {}

  /** Reads what the store kept (before queues are recovered, so they start with their policies). */
  async load(): Promise<void> {
    for (const [, value] of await this.store.listRecords(POLICIES)) this.remember(JSON.parse(value.toString()) as Policy);
  }

  onChange(listener: (vhost: string) => void): void {
    this.listener = listener;
  }

  /** Creates or replaces a policy (validated first: `invalid-request` with RabbitMQ's kind of reason). */
  put(policy: Policy): void {
    validatePolicy(policy);
    this.remember(policy);
    this.store.putRecord(POLICIES, keyOf(policy.vhost, policy.name), Buffer.from(JSON.stringify(policy)), FOREVER);
    this.listener(policy.vhost);
  }

  delete(vhost: string, name: string): void {
    const policies = this.byVhost.get(vhost);
    if (policies?.delete(name) !== true) throw notFound(`no policy '${name}' in vhost '${vhost}'`);
    this.store.deleteRecord(POLICIES, keyOf(vhost, name));
    this.listener(vhost);
  }

  /** The vhost is gone: its policies go with it. */
  forgetVhost(vhost: string): void {
    for (const name of this.byVhost.get(vhost)?.keys() ?? []) this.store.deleteRecord(POLICIES, keyOf(vhost, name));
    this.byVhost.delete(vhost);
  }

  /**
   * A policy record another broker node committed: kept (a value) or gone (null), here too,
   * without writing it back; the vhost's queues take their new settings.
   */
  applyStored(key: string, value: Buffer | null): void {
    if (value !== null) {
      const policy = JSON.parse(value.toString()) as Policy;
      this.remember(policy);
      this.listener(policy.vhost);
      return;
    }
    for (const [vhost, policies] of this.byVhost) {
      for (const name of policies.keys()) {
        if (keyOf(vhost, name) !== key) continue;
        policies.delete(name);
        this.listener(vhost);
        return;
      }
    }
  }

  get(vhost: string, name: string): Policy | undefined {
    return this.byVhost.get(vhost)?.get(name)?.policy;
  }

  list(vhost?: string): Policy[] {
    const vhosts = vhost === undefined ? [...this.byVhost.values()] : [this.byVhost.get(vhost) ?? new Map<string, Compiled>()];
    return vhosts.flatMap((policies) => [...policies.values()].map((c) => c.policy)).sort((a, b) => a.vhost.localeCompare(b.vhost) || a.name.localeCompare(b.name));
  }

  /** The highest-priority policy matching the queue (ties: the first by name), merged under its arguments. */
  forQueue(vhost: string, queueName: string, args: FieldTable): AppliedPolicy {
    const policies = this.byVhost.get(vhost);
    if (policies === undefined || policies.size === 0) return { policy: null, arguments: args };
    const type = this.queueTypes.declaredType(args);
    let best: Policy | null = null;
    for (const { policy, matcher } of policies.values()) {
      if (!appliesToQueue(policy, matcher, queueName, type)) continue;
      if (best === null || policy.priority > best.priority || (policy.priority === best.priority && policy.name < best.name)) best = policy;
    }
    return best === null ? { policy: null, arguments: args } : { policy: best, arguments: { ...policyArguments(best.definition), ...args } };
  }

  /**
   * A queue's features: its declared arguments (validated: a bad one is the declarer's 406) over
   * the settings of the policy that applies. A policy that cannot combine with the arguments
   * (say, a dead-letter routing key where the queue sets no dead-letter exchange) is not applied.
   */
  featuresFor(vhost: string, queueName: string, args: FieldTable): { policy: string | null; features: QueueFeatures } {
    const own = readQueueFeatures(queueName, args, this.queueTypes.typeOf);
    const applied = this.forQueue(vhost, queueName, args);
    if (applied.policy === null) return { policy: null, features: own };
    try {
      return { policy: applied.policy.name, features: readQueueFeatures(queueName, applied.arguments, this.queueTypes.typeOf) };
    } catch {
      return { policy: null, features: own };
    }
  }

  private remember(policy: Policy): void {
    let policies = this.byVhost.get(policy.vhost);
    if (policies === undefined) this.byVhost.set(policy.vhost, (policies = new Map()));
    policies.set(policy.name, { policy, matcher: storedNamePattern(policy.pattern) });
  }
}

/** The key a policy is stored under (in the POLICIES namespace). */
export const keyOf = (vhost: string, name: string): string => `${vhost}\n${name}`;
