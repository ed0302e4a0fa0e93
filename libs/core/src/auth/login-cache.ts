import { createHmac, randomBytes } from 'node:crypto';

/**
 * Successful password checks, remembered for a while (RabbitMQ's auth backend cache), so reconnect
 * storms do not pay bcrypt again. Bounded: past `maxEntries` the oldest go first. Entries are keyed
 * by an HMAC (with a key made at start) of name, password and stored hash: a changed password or
 * hash no longer matches, and the memory holds no plain or quickly searchable password.
 */
export class LoginCache {
  private readonly entries = new Map<string, number>();
  private readonly secret = randomBytes(32);

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  keyOf(name: string, password: string, passwordHash: string): string {
    return createHmac('sha256', this.secret).update(name).update('\0').update(password).update('\0').update(passwordHash).digest('base64');
  }

  has(key: string, now = Date.now()): boolean {
    const expiresAt = this.entries.get(key);
    if (expiresAt === undefined) return false;
    if (expiresAt > now) return true;
    this.entries.delete(key);
    return false;
  }

  remember(key: string, now = Date.now()): void {
    if (!this.enabled) return;
    this.entries.delete(key);
    this.entries.set(key, now + this.ttlMs);
    // insertion order is expiry order (one TTL for all): the first entries are the oldest
    for (const [oldest, expiresAt] of this.entries) {
      if (this.entries.size <= this.maxEntries && expiresAt > now) break;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
