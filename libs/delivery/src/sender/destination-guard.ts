import { BlockList, isIP } from 'node:net';

export interface DestinationRules {
  /** Also refuse loopback and private ranges (off by default: Dispatcher's users call internal services). */
  refusePrivate: boolean;
  /** When not empty, only these hosts (names, IPs or CIDRs) may be called. */
  allow: readonly string[];
  /** These hosts (names, IPs or CIDRs) are never called. */
  deny: readonly string[];
}

/** Always refused: link-local (cloud metadata lives there), "this network", multicast, broadcast. */
const ALWAYS_REFUSED: readonly [string, number, 'ipv4' | 'ipv6'][] = [
  ['169.254.0.0', 16, 'ipv4'],
  ['0.0.0.0', 8, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['255.255.255.255', 32, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  ['::', 128, 'ipv6'],
];

const PRIVATE: readonly [string, number, 'ipv4' | 'ipv6'][] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
];

function blockListOf(ranges: readonly [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const list = new BlockList();
  for (const [address, prefix, family] of ranges) list.addSubnet(address, prefix, family);
  return list;
}

/** A host rule: a name (exact, case-insensitive), or an address or CIDR. */
class HostRules {
  private readonly names = new Set<string>();
  private readonly addresses = new BlockList();
  private readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      const [address, prefix] = entry.split('/');
      const family = isIP(address ?? '');
      if (family !== 0 && address !== undefined) {
        const type = family === 4 ? 'ipv4' : 'ipv6';
        if (prefix !== undefined) this.addresses.addSubnet(address, Number(prefix), type);
        else this.addresses.addAddress(address, type);
      } else this.names.add(entry);
    }
    this.empty = entries.every((e) => e.trim() === '');
  }

  get isEmpty(): boolean {
    return this.empty;
  }

  matchesName(host: string): boolean {
    return this.names.has(host.toLowerCase());
  }

  matchesAddress(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

const VERDICT_CACHE = 10_000;

/** Unwraps IPv4-mapped IPv6 (`::ffff:10.0.0.1`) so it is judged as the IPv4 address it is. */
const unmapped = (address: string): string => (address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);

/**
 * Which destinations may be called. Names are judged before resolution (allow/deny lists);
 * addresses after resolution, at connect time, so a name that resolves to a refused address
 * (DNS rebinding included) is refused too.
 */
export class DestinationGuard {
  private readonly always = blockListOf(ALWAYS_REFUSED);
  private readonly private = blockListOf(PRIVATE);
  private readonly allow: HostRules;
  private readonly deny: HostRules;
  /** Verdicts on literal addresses and names so far (BlockList checks allocate per call). */
  private readonly verdicts = new Map<string, string | null>();

  constructor(private readonly rules: DestinationRules) {
    this.allow = new HostRules(rules.allow);
    this.deny = new HostRules(rules.deny);
  }

  /** Why a host name may not be called, or null. */
  refuseHost(host: string): string | null {
    let verdict = this.verdicts.get(host);
    if (verdict === undefined) {
      if (this.deny.matchesName(host)) verdict = `host '${host}' is on the deny list`;
      // a literal address is judged now; a name (allowed by name or not) once it is resolved
      else verdict = isIP(host) !== 0 ? this.refuseAddress(host) : null;
      if (this.verdicts.size > VERDICT_CACHE) this.verdicts.clear();
      this.verdicts.set(host, verdict);
    }
    return verdict;
  }

  /** Why a resolved address may not be called (for the host it was resolved from), or null. */
  refuseAddress(rawAddress: string, host?: string): string | null {
    const address = unmapped(rawAddress);
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (this.always.check(address, family)) return `address ${address} is link-local, multicast, broadcast or unspecified`;
    if (this.deny.matchesAddress(address)) return `address ${address} is on the deny list`;
    if (!this.allow.isEmpty && !this.allow.matchesAddress(address) && !(host !== undefined && this.allow.matchesName(host))) {
      return `address ${address}${host ? ` (${host})` : ''} is not on the allow list`;
    }
    if (this.rules.refusePrivate && this.private.check(address, family)) return `address ${address} is loopback or private`;
    return null;
  }
}
