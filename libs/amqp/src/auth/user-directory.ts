import bcrypt from 'bcryptjs';
import { createHash } from 'node:crypto';

/** A user as configured: bcrypt hash of the password. */
export interface UserRecord {
  name: string;
  passwordHash: string;
}

/**
 * The users allowed to connect. Passwords are kept only as bcrypt hashes; a successful check is
 * remembered (by a SHA-256 of name and password) so reconnect storms do not burn CPU on bcrypt.
 */
export class UserDirectory {
  private readonly users = new Map<string, string>();
  private readonly verified = new Set<string>();

  constructor(users: UserRecord[]) {
    for (const user of users) this.users.set(user.name, user.passwordHash);
  }

  has(name: string): boolean {
    return this.users.has(name);
  }

  async verify(name: string, password: string): Promise<boolean> {
    const hash = this.users.get(name);
    if (hash === undefined) return false;
    const key = createHash('sha256').update(name).update('\0').update(password).update('\0').update(hash).digest('hex');
    if (this.verified.has(key)) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) this.verified.add(key);
    return ok;
  }
}

/**
 * Reads dispatchd's user configuration form `{ name: { password_bcrypt_base64 } }` (a base64 of the
 * bcrypt hash), also accepting `password_bcrypt` (the hash itself).
 */
export function usersFromConfig(config: unknown): UserRecord[] {
  if (config === undefined || config === null) return [];
  if (typeof config !== 'object' || Array.isArray(config)) throw new Error('users: expected an object of users');
  const out: UserRecord[] = [];
  for (const [name, value] of Object.entries(config as Record<string, unknown>)) {
    if (value === null || typeof value !== 'object') throw new Error(`users.${name}: expected an object`);
    const entry = value as Record<string, unknown>;
    let hash: string | undefined;
    if (typeof entry.password_bcrypt_base64 === 'string') {
      hash = Buffer.from(entry.password_bcrypt_base64, 'base64').toString('utf8');
    } else if (typeof entry.password_bcrypt === 'string') hash = entry.password_bcrypt;
    if (hash === undefined || !/^\$2[abxy]?\$\d{2}\$/.test(hash)) {
      throw new Error(`users.${name}: needs password_bcrypt_base64 (or password_bcrypt) holding a bcrypt hash`);
    }
    out.push({ name, passwordHash: hash });
  }
  return out;
}
