import type { FieldTable } from '../encoding/field-table';
import type { CoreMetrics } from '../metrics';
import type { PolicyRegistry } from '../policy/policy-registry';
import type { QueueLimits } from '../queue/queue-type';
import type { QueueTypeRegistry } from '../queue/queue-type-registry';
import type { BrokerStore } from '../store/broker-store';
import type { DefinitionWrites } from '../store/definition-gate';

/** What a virtual host needs from the broker around it. */
export interface VhostContext {
  /** The store: commit tokens, and the local entry log of the queues that use one. */
  readonly store: BrokerStore;
  /** Where definitions are written (muted while a change from another node is applied). */
  readonly definitions: DefinitionWrites;
  /** The queue types declarations may ask for. */
  readonly queueTypes: QueueTypeRegistry;
  readonly metrics: CoreMetrics;
  nextSeq(): number;
  nextQueueId(): number;
  readonly queueLimits: QueueLimits;
  /** Queues at most in the vhost (the smaller of the broker's MAX_QUEUES_PER_VHOST and the vhost's max-queues), or null for no limit. */
  queueLimit(vhost: string): number | null;
  readonly policies: PolicyRegistry;
  /** The broker's resource alarms: what is on (ResourceAlarms.active), or null. */
  readonly alarms: { readonly active: string | null };
}

export interface ExchangeDeclaration {
  name: string;
  type: string;
  passive?: boolean;
  durable?: boolean;
  autoDelete?: boolean;
  internal?: boolean;
  arguments?: FieldTable;
  /** Declared by the broker itself (a door's own exchange): it may use the reserved `amq.` prefix. */
  system?: boolean;
}

export interface QueueDeclaration {
  /** Empty: the server picks a name (amq.gen-…). */
  name: string;
  passive?: boolean;
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  arguments?: FieldTable;
  /** Connection (or other owner) declaring it; owns it when exclusive. */
  owner?: string | null;
  /**
   * Called with the final name (a server-made one for an empty name) before anything changes: a
   * door's permission check throws to refuse the declare.
   */
  authorize?: (name: string) => void;
}

export interface QueueDeleteConditions {
  ifUnused?: boolean;
  ifEmpty?: boolean;
  owner?: string | null;
}
