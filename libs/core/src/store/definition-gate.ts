import type { DefinitionStore } from './broker-store';
import { CommitToken, NO_COMMIT_NEEDED } from './commit-token';
import type { BindingRecord, ExchangeRecord, QueueRecord } from './store-records';

/** The definition writes (and the record reads) of the store, as the broker's parts make them. */
export type DefinitionWrites = Pick<
  DefinitionStore,
  'putVhost' | 'deleteVhost' | 'putExchange' | 'deleteExchange' | 'putQueue' | 'deleteQueue' | 'putBinding' | 'deleteBinding' | 'putRecord' | 'deleteRecord' | 'listRecords'
>;

/**
 * Every definition write of the broker's parts (topology, users, permissions, policies) goes
 * through this gate to the store. While a change committed by another broker node is applied
 * (Broker.applyDefinitionChange), the gate is muted: the change is in the store already, so what
 * applying it writes (the change itself and its cascades: bindings, auto-deleted exchanges) is
 * dropped instead of being written back.
 */
export class DefinitionGate implements DefinitionWrites {
  private muted = 0;

  constructor(private readonly store: DefinitionStore) {}

  /** Runs `apply` with every definition write dropped. */
  mute<T>(apply: () => T): T {
    this.muted++;
    try {
      return apply();
    } finally {
      this.muted--;
    }
  }

  putVhost(name: string): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.putVhost(name);
  }

  deleteVhost(name: string): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.deleteVhost(name);
  }

  putExchange(record: ExchangeRecord): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.putExchange(record);
  }

  deleteExchange(vhost: string, name: string): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.deleteExchange(vhost, name);
  }

  putQueue(record: QueueRecord): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.putQueue(record);
  }

  deleteQueue(id: number, vhost: string, name: string): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.deleteQueue(id, vhost, name);
  }

  putBinding(record: BindingRecord, identity: string): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.putBinding(record, identity);
  }

  deleteBinding(vhost: string, source: string, identity: string): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.deleteBinding(vhost, source, identity);
  }

  putRecord(namespace: string, key: string, value: Buffer, expiresAt: number): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.putRecord(namespace, key, value, expiresAt);
  }

  deleteRecord(namespace: string, key: string): CommitToken {
    return this.muted > 0 ? NO_COMMIT_NEEDED : this.store.deleteRecord(namespace, key);
  }

  listRecords(namespace: string): Promise<[string, Buffer][]> {
    return this.store.listRecords(namespace);
  }
}
