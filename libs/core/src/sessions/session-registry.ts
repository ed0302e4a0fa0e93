/** One channel of a session (AMQP channels; other doors have none). */
export interface ChannelSnapshot {
  number: number;
  consumers: number;
  unacknowledged: number;
  prefetchCount: number;
  confirm: boolean;
  transactional: boolean;
  /** Messages published on it so far (a channel that publishes is a publisher). */
  publishes: number;
}

/** A client session of some door: an AMQP connection, a long-lived HTTP receiver, … */
export interface SessionSnapshot {
  /** Unique across the broker, e.g. `amqp-12`. */
  id: string;
  /** The door it came through (`amqp`, `jobs`, …). */
  door: string;
  user: string;
  vhost: string | null;
  /** Remote address and port. */
  peer: string;
  connectedAt: number;
  state: string;
  channels: ChannelSnapshot[];
  /** Door-specific facts (addresses, negotiated limits), shown as they are. */
  details: Record<string, string | number | boolean>;
  /** What the client said about itself (AMQP client properties), as plain JSON. */
  clientProperties: Record<string, unknown>;
}

/** What a door exposes of its sessions: listing, and closing one by id (e.g. from the admin page). */
export interface SessionRegistry {
  readonly door: string;
  list(): SessionSnapshot[];
  /** Closes the session with this reason; false when the door has no such session. */
  close(id: string, reason: string): boolean;
  /** The door's cumulative counters (connections opened, publishes confirmed, …). */
  counters(): Record<string, number>;
}

/** The broker's list of door registries. */
export class SessionRegistries {
  private readonly registries = new Set<SessionRegistry>();

  register(registry: SessionRegistry): void {
    this.registries.add(registry);
  }

  unregister(registry: SessionRegistry): void {
    this.registries.delete(registry);
  }

  list(): SessionSnapshot[] {
    const out: SessionSnapshot[] = [];
    for (const registry of this.registries) out.push(...registry.list());
    return out;
  }

  close(id: string, reason: string): boolean {
    for (const registry of this.registries) if (registry.close(id, reason)) return true;
    return false;
  }

  /** Each door's counters, by door. */
  counters(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const registry of this.registries) out[registry.door] = registry.counters();
    return out;
  }
}
