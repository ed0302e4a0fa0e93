import { networkInterfaces } from 'node:os';

/** One socket the broker accepts connections on. */
export interface ListenerEndpoint {
  /** The door behind it: 'amqp', 'amqps', 'jobs', 'dispatch', 'management'. */
  readonly door: string;
  /** The address it is bound to, as configured ('0.0.0.0', '::', '127.0.0.1', a name …). */
  readonly host: string;
  /** The port actually bound (a port asked as 0 is known only once bound). */
  readonly port: number;
}

/** IPv4-mapped IPv6 (`::ffff:127.0.0.1`) as the IPv4 address it is; anything else as given, lower case. */
function plainAddress(address: string): string {
  const lower = address.toLowerCase();
  const v4 = lower.startsWith('::ffff:') ? lower.slice(7) : '';
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(v4) ? v4 : lower;
}

/**
 * Whether `address` is one of this machine's own: loopback (127.0.0.0/8, ::1), unspecified
 * (0.0.0.0, ::, which connect to the local machine), or an address of one of its network
 * interfaces. Asked again on every call: interfaces come and go.
 */
export function isLocalAddress(address: string): boolean {
  const plain = plainAddress(address);
  if (plain.startsWith('127.') || plain === '0.0.0.0' || plain === '::1' || plain === '::') return true;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const own of addresses ?? []) if (plainAddress(own.address) === plain) return true;
  }
  return false;
}

/**
 * The broker's own listeners, filled by the application as each door is bound, and declared
 * complete once all are. Outbound connections (the delivery door) ask it whether they would reach
 * this broker itself. Until it is complete, whoever asks waits (see whenComplete): a delivery
 * recovered at start may be sent before the last door is bound.
 */
export class ListenerRegistry {
  private readonly endpoints: ListenerEndpoint[] = [];
  private readonly byPort = new Map<number, ListenerEndpoint>();
  private markComplete!: () => void;
  private isComplete = false;
  private readonly completed = new Promise<void>((resolve) => {
    this.markComplete = resolve;
  });

  /** Records a bound listener; a port of 0 (a door that is off) is ignored. */
  add(endpoint: ListenerEndpoint): void {
    if (endpoint.port <= 0) return;
    this.endpoints.push(endpoint);
    if (!this.byPort.has(endpoint.port)) this.byPort.set(endpoint.port, endpoint);
  }

  /** Every listener is recorded. */
  complete(): void {
    this.isComplete = true;
    this.markComplete();
  }

  get completeNow(): boolean {
    return this.isComplete;
  }

  /** Resolves once every listener is recorded. */
  whenComplete(): Promise<void> {
    return this.completed;
  }

  list(): readonly ListenerEndpoint[] {
    return this.endpoints;
  }

  /**
   * The listener a connection to `address`:`port` would reach: one of the broker's ports on any
   * address of this machine (not only the one it is bound to: a port bound to 0.0.0.0 answers on
   * every local address, and refusing the others too costs nothing). Null when it is not ours.
   */
  reachedBy(address: string, port: number): ListenerEndpoint | null {
    const endpoint = this.byPort.get(port);
    if (endpoint === undefined) return null;
    return isLocalAddress(address) ? endpoint : null;
  }
}
