import { invalidRequest, notFound } from '../errors';
import type { DefinitionWrites } from '../store/definition-gate';

/** The store's record namespace of vhost limits (definitions every broker node shares). */
export const VHOST_LIMITS = 'definitions.vhost-limits';
const FOREVER = Number.MAX_SAFE_INTEGER;

/** The limits RabbitMQ knows for a virtual host (rabbitmqctl set_vhost_limits). */
export const VHOST_LIMIT_NAMES = ['max-connections', 'max-queues'] as const;
export type VhostLimitName = (typeof VHOST_LIMIT_NAMES)[number];

/** A vhost's limits as RabbitMQ shows them: only the ones set; a negative value means no limit. */
export type VhostLimitValues = Partial<Record<VhostLimitName, number>>;

export const isVhostLimitName = (name: string): name is VhostLimitName => (VHOST_LIMIT_NAMES as readonly string[]).includes(name);

/**
 * Per-vhost limits, as RabbitMQ's `vhost-limits` runtime parameter: `max-connections` (AMQP
 * connections open to the vhost) and `max-queues` (queues in it). Kept durably in the store's
 * keyed records, one record per vhost holding every limit it sets (RabbitMQ's shape). -1 (any
 * negative) is no limit; 0 is allowed and admits nothing, as in RabbitMQ.
 */
export class VhostLimitRegistry {
  private readonly byVhost = new Map<string, VhostLimitValues>();

  constructor(private readonly store: DefinitionWrites) {}

  /** Reads what the store kept. */
  async load(): Promise<void> {
    for (const [vhost, value] of await this.store.listRecords(VHOST_LIMITS)) this.byVhost.set(vhost, parseStored(value));
  }

  /** Every vhost with a limit set, by name. */
  list(): { vhost: string; value: VhostLimitValues }[] {
    return [...this.byVhost.entries()].map(([vhost, value]) => ({ vhost, value: { ...value } })).sort((a, b) => a.vhost.localeCompare(b.vhost));
  }

  /** The limits set on the vhost ({} when none). */
  get(vhost: string): VhostLimitValues {
    return { ...this.byVhost.get(vhost) };
  }

  /** The limit in force, or null when there is none (unset or negative). */
  limit(vhost: string, name: VhostLimitName): number | null {
    const value = this.byVhost.get(vhost)?.[name];
    return value === undefined || value < 0 ? null : value;
  }

  /** Sets one limit (`invalid-request` for an unknown name or a value that is not an integer). */
  set(vhost: string, name: string, value: unknown): void {
    this.write(vhost, { ...this.byVhost.get(vhost), [checkedName(name)]: checkedValue(name, value) });
  }

  /**
   * Replaces every limit of the vhost (a definitions import, as RabbitMQ's set_vhost_limits: the
   * limits left out are cleared); all are checked before any is kept.
   */
  replace(vhost: string, limits: Record<string, unknown>): void {
    const checked: VhostLimitValues = {};
    for (const [name, value] of Object.entries(limits)) checked[checkedName(name)] = checkedValue(name, value);
    this.write(vhost, checked);
  }

  /** Clears one limit; clearing one that is not set changes nothing (as RabbitMQ's clear_limit). */
  clear(vhost: string, name: string): void {
    if (!isVhostLimitName(name)) throw notFound(`no vhost limit '${name}'`);
    const current = this.byVhost.get(vhost);
    if (current?.[name] === undefined) return;
    const rest = { ...current };
    delete rest[name];
    this.write(vhost, rest);
  }

  /** The vhost is gone: its limits go with it. */
  forgetVhost(vhost: string): void {
    if (this.byVhost.delete(vhost)) this.store.deleteRecord(VHOST_LIMITS, vhost);
  }

  /** A limits record another broker node committed: kept (a value) or gone (null), here too, without writing it back. */
  applyStored(vhost: string, value: Buffer | null): void {
    if (value === null) this.byVhost.delete(vhost);
    else this.byVhost.set(vhost, parseStored(value));
  }

  private write(vhost: string, limits: VhostLimitValues): void {
    if (Object.keys(limits).length === 0) {
      this.byVhost.delete(vhost);
      this.store.deleteRecord(VHOST_LIMITS, vhost);
      return;
    }
    this.byVhost.set(vhost, limits);
    this.store.putRecord(VHOST_LIMITS, vhost, Buffer.from(JSON.stringify(limits)), FOREVER);
  }
}

function checkedName(name: string): VhostLimitName {
  if (!isVhostLimitName(name)) throw invalidRequest(`unknown vhost limit '${name}': the limits are ${VHOST_LIMIT_NAMES.join(', ')}`);
  return name;
}

function checkedValue(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalidRequest(`${name} should be an integer (-1 for no limit), actually was ${JSON.stringify(value) ?? 'nothing'}`);
  }
  return value;
}

/** A stored record, keeping only the known names with integer values (a record is the broker's own, but may come from a newer node). */
function parseStored(value: Buffer): VhostLimitValues {
  const parsed = JSON.parse(value.toString()) as Record<string, unknown>;
  const limits: VhostLimitValues = {};
  for (const name of VHOST_LIMIT_NAMES) {
    const limit = parsed[name];
    if (typeof limit === 'number' && Number.isSafeInteger(limit)) limits[name] = limit;
  }
  return limits;
}
