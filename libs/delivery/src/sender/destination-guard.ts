import { BlockList, isIP } from 'node:net';
import type { ListenerEndpoint } from '#core';

export interface DestinationRules {
  /** Call loopback addresses (127.0.0.0/8, ::1); off by default, on for development and tests. */
  allowLoopback: boolean;
  /** Also refuse private ranges, and loopback even when allowed (off by default: Dispatcher's users call internal services). */
  refusePrivate: boolean;
  /** When not empty, only these hosts (names, IPs or CIDRs) may be called. */
  allow: readonly string[];
  /** These hosts (names, IPs or CIDRs) are never called. */
  deny: readonly string[];
}

/** What the guard needs to know of the broker's own listeners (the core's ListenerRegistry). */
export interface OwnListeners {
  reachedBy(address: string, port: number): ListenerEndpoint | null;
}

type Range = readonly [string, number, 'ipv4' | 'ipv6'];

/**
 * Always refused: link-local (cloud metadata lives there), the metadata addresses outside it
 * (AWS over IPv6, Alibaba), "this network" (0.0.0.0 connects to the local machine), multicast,
 * broadcast.
 */
const ALWAYS_REFUSED: readonly Range[] = [
  ['169.254.0.0', 16, 'ipv4'],
  ['100.100.100.200', 32, 'ipv4'],
  ['0.0.0.0', 8, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['255.255.255.255', 32, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
  ['fd00:ec2::254', 128, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  ['::', 128, 'ipv6'],
];

const LOOPBACK: readonly Range[] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
];

const PRIVATE: readonly Range[] = [
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
];

function blockListOf(ranges: readonly Range[]): BlockList {
  const list = new BlockList();
  for (const [address, prefix, family] of ranges) list.addSubnet(address, prefix, family);
  return list;
}

/** `fe80::1%eth0` without its zone (every zoned address is link-local, refused anyway). */
const withoutZone = (address: string): string => address.split('%')[0]!;

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 4 ? 'ipv4' : 'ipv6');

/** An IPv6 address as its eight 16-bit groups; null when it is not one. */
function groupsOf(address: string): number[] | null {
  let text = withoutZone(address.toLowerCase());
  if (isIP(text) !== 6) return null;
  // a dotted IPv4 tail (::ffff:1.2.3.4) is two groups
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail !== null) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = parse(head);
  if (rest === undefined) return left;
  const right = parse(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const dotted = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one a packet would reach:
 * IPv4-mapped (::ffff:a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96),
 * 6to4 (2002::/16, bits 16..47) and IPv4-compatible (::a.b.c.d, not :: or ::1). Null otherwise.
 */
export function embeddedIPv4(address: string): string | null {
  const g = groupsOf(address);
  if (g === null) return null;
  const zeros = (from: number, to: number): boolean => g.slice(from, to).every((group) => group === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return dotted(g[6]!, g[7]!);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return dotted(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return dotted(g[6]!, g[7]!);
  if (g[0] === 0x2002) return dotted(g[1]!, g[2]!);
  if (zeros(0, 6) && (g[6] !== 0 || g[7]! > 1)) return dotted(g[6]!, g[7]!);
  return null;
}

/** A host rule: a name (exact, case-insensitive), or an address or CIDR. */
class HostRules {
  private readonly names = new Set<string>();
  private readonly addresses = new BlockList();
  private readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
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

  /** Whether the address, or the IPv4 address it embeds, is named. */
  matchesAddress(address: string, embedded: string | null): boolean {
    if (isIP(address) !== 0 && this.addresses.check(address, familyOf(address))) return true;
    return embedded !== null && this.addresses.check(embedded, 'ipv4');
  }
}

const VERDICT_CACHE = 10_000;

/**
 * Which destinations may be called. Names are judged before resolution (allow/deny lists);
 * addresses after resolution and again on every socket, at connect time (see HttpSender), so a
 * name that resolves to a refused address (DNS rebinding included), an IP literal and every
 * redirect hop are refused alike. An IPv6 address that embeds an IPv4 one is judged as both.
 */
export class DestinationGuard {
  private readonly always = blockListOf(ALWAYS_REFUSED);
  private readonly loopback = blockListOf(LOOPBACK);
  private readonly private = blockListOf(PRIVATE);
  private readonly allow: HostRules;
  private readonly deny: HostRules;
  /** Verdicts on literal addresses and names so far (BlockList checks allocate per call). */
  private readonly verdicts = new Map<string, string | null>();

  constructor(
    private readonly rules: DestinationRules,
    private readonly ownListeners: OwnListeners,
  ) {
    this.allow = new HostRules(rules.allow);
    this.deny = new HostRules(rules.deny);
  }

  /** Why a host name (or literal address) may not be called, or null. */
  refuseHost(rawHost: string): string | null {
    const host = rawHost.replace(/^\[(.*)\]$/, '$1');
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
    const raw = withoutZone(rawAddress.toLowerCase());
    if (isIP(raw) === 0) return `'${rawAddress}' is not an address`;
    const embedded = embeddedIPv4(raw);
    const address = embedded ?? raw;
    const shown = embedded !== null ? `${address} (as ${raw})` : address;
    const inRange = (list: BlockList): boolean => list.check(address, familyOf(address)) || (embedded !== null && list.check(raw, 'ipv6'));
    if (inRange(this.always)) return `address ${shown} is link-local, cloud metadata, multicast, broadcast or unspecified`;
    if (this.deny.matchesAddress(raw, embedded)) return `address ${shown} is on the deny list`;
    if (!this.allow.isEmpty && !this.allow.matchesAddress(raw, embedded) && !(host !== undefined && this.allow.matchesName(host))) {
      return `address ${shown}${host !== undefined && host !== rawAddress ? ` (${host})` : ''} is not on the allow list`;
    }
    if (inRange(this.loopback)) {
      if (this.rules.refusePrivate) return `address ${shown} is loopback (DISPATCH_REFUSE_PRIVATE is on)`;
      if (!this.rules.allowLoopback) return `address ${shown} is loopback (DISPATCH_ALLOW_LOOPBACK is off)`;
    }
    if (this.rules.refusePrivate && inRange(this.private)) return `address ${shown} is private`;
    return null;
  }

  /**
   * Why the peer of a connected socket may not be called, or null: everything refuseAddress
   * says, and, whatever the lists and switches say, never one of this broker's own listeners
   * on any local address (a caller must not borrow the broker's place on the machine, e.g. to
   * reach the management API as a loopback-only user).
   */
  refusePeer(rawAddress: string, port: number, host?: string): string | null {
    const raw = withoutZone(rawAddress.toLowerCase());
    const embedded = isIP(raw) === 0 ? null : embeddedIPv4(raw);
    const own = this.ownListeners.reachedBy(embedded ?? raw, port) ?? (embedded !== null ? this.ownListeners.reachedBy(raw, port) : null);
    if (own !== null) return `address ${rawAddress} port ${port} is this broker's own ${own.door} listener`;
    return this.refuseAddress(rawAddress, host);
  }
}
