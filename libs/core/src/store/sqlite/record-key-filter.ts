/** Bits per key: with 7 probes, about 1 % of absent keys are taken for present ones. */
const BITS_PER_KEY = 10;
const PROBES = 7;
const MIN_CAPACITY = 65_536;
/** Past this many live keys the filter is dropped (it would take more than ~5 MB): every read asks SQLite. */
export const MAX_FILTERED_KEYS = 4_000_000;

/**
 * Which keyed records may exist (a Bloom filter over namespace and key): a read of a key that was
 * never written — a new delivery UUID, a new idempotency key — is answered "absent" without a
 * SQLite lookup, which cost the delivery door ~15 µs of its one main thread per request.
 * It never says "absent" for a key that was written (expired and deleted keys stay in it until
 * the next rebuild, and cost only their lookup). Until `rebuild` is called, and once the live
 * keys outgrow MAX_FILTERED_KEYS, it holds nothing back.
 */
export class RecordKeyFilter {
  private bits: Uint32Array | null = null;
  private size = 0;
  private capacity = 0;
  private added = 0;

  /** Whether a key added since the last rebuild would now exceed what the filter was sized for. */
  get full(): boolean {
    return this.bits !== null && this.added >= this.capacity;
  }

  /** Starts again from the keys that live now; `count` of them (none kept past the limit). */
  rebuild(count: number, keys: Iterable<readonly [string, string]>): void {
    if (count > MAX_FILTERED_KEYS) {
      this.bits = null;
      return;
    }
    this.capacity = Math.max(MIN_CAPACITY, count * 2);
    this.size = this.capacity * BITS_PER_KEY;
    this.bits = new Uint32Array(Math.ceil(this.size / 32));
    this.added = 0;
    for (const [namespace, key] of keys) this.add(namespace, key);
  }

  add(namespace: string, key: string): void {
    const bits = this.bits;
    if (bits === null) return;
    this.added++;
    const [first, step] = hashes(namespace, key);
    for (let i = 0, h = first; i < PROBES; i++, h = (h + step) >>> 0) {
      const bit = h % this.size;
      bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  /** False only for a key never added since the last rebuild (nor live at it). */
  mayHold(namespace: string, key: string): boolean {
    const bits = this.bits;
    if (bits === null) return true;
    const [first, step] = hashes(namespace, key);
    for (let i = 0, h = first; i < PROBES; i++, h = (h + step) >>> 0) {
      const bit = h % this.size;
      if ((bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** Two 32-bit FNV-1a-style hashes of namespace and key (double hashing: probe i is first + i × step). */
function hashes(namespace: string, key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x2f0e1d3c;
  const length = namespace.length + 1 + key.length;
  for (let i = 0; i < length; i++) {
    // namespace, a separator (so ("ab", "c") and ("a", "bc") differ), key
    const c = i < namespace.length ? namespace.charCodeAt(i) : i === namespace.length ? 0xffff : key.charCodeAt(i - namespace.length - 1);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  b ^= b >>> 15;
  return [a >>> 0, (b | 1) >>> 0];
}
