import bcrypt from 'bcryptjs';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isLoopbackAddress } from './loopback';
import { invalidRequest, notFound } from '../errors';
import type { BrokerStore } from '../store/broker-store';

/**
 * How a password hash was made: bcrypt (ours), or one of RabbitMQ's salted hashes, so users
 * imported from a RabbitMQ definitions export keep their passwords.
 */
export type HashingAlgorithm = 'bcrypt' | 'rabbit_password_hashing_sha256' | 'rabbit_password_hashing_sha512' | 'rabbit_password_hashing_md5';
export const HASHING_ALGORITHMS: readonly HashingAlgorithm[] = ['bcrypt', 'rabbit_password_hashing_sha256', 'rabbit_password_hashing_sha512', 'rabbit_password_hashing_md5'];

/** A broker user: a password hash and RabbitMQ-style tags (administrator, management, …). */
export interface UserDefinition {
  name: string;
  passwordHash: string;
  /** Absent in definitions written before RabbitMQ hashes were accepted: bcrypt. */
  hashingAlgorithm?: HashingAlgorithm;
  tags: string[];
}

/** What a user may do in a vhost: regular expressions over resource names, as RabbitMQ's. */
export interface PermissionDefinition {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

/** RabbitMQ's three kinds of access to a resource. */
export type Access = 'configure' | 'write' | 'read';

const USERS = 'definitions.users';
const PERMISSIONS = 'definitions.permissions';
/** Definitions never expire. */
const FOREVER = Number.MAX_SAFE_INTEGER;
const BCRYPT_HASH = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;
const BCRYPT_ROUNDS = 10;

/**
 * Users and permissions, kept as definitions in the store. Users from the configuration (the
 * default guest, dispatchd's `users`) are defaults: a user defined through the management API
 * with the same name replaces them. A successful password check is remembered (by a SHA-256 of
 * name, password and hash) so reconnect storms do not burn CPU on bcrypt.
 */
export class UserRegistry {
  private readonly users = new Map<string, UserDefinition>();
  private readonly permissions = new Map<string, PermissionDefinition>();
  private readonly verified = new Set<string>();
  private readonly patterns = new Map<string, RegExp>();
  /** Bumped on every change of users or permissions, so callers may cache decisions until it moves. */
  generation = 0;
  private loopbackOnly: ReadonlySet<string> = new Set();

  constructor(private readonly store: BrokerStore) {}

  /** RabbitMQ's loopback_users: these may authenticate only from the local machine (guest by default). */
  restrictToLoopback(names: readonly string[]): void {
    this.loopbackOnly = new Set(names);
  }

  /** Whether the user may authenticate from this peer address. */
  mayConnectFrom(name: string, remoteAddress: string | undefined): boolean {
    return !this.loopbackOnly.has(name) || isLoopbackAddress(remoteAddress);
  }

  /** Loads the stored definitions, then adds the configured users (and their permissions on `/`) that are not defined there. */
  load(configured: readonly UserDefinition[], defaultVhost: string): void {
    for (const [, value] of this.store.listRecords(USERS)) {
      const user = JSON.parse(value.toString('utf8')) as UserDefinition;
      this.users.set(user.name, user);
    }
    for (const [, value] of this.store.listRecords(PERMISSIONS)) {
      const permission = JSON.parse(value.toString('utf8')) as PermissionDefinition;
      this.permissions.set(permissionKey(permission.vhost, permission.user), permission);
    }
    for (const user of configured) {
      if (this.users.has(user.name)) continue;
      this.users.set(user.name, user);
      const key = permissionKey(defaultVhost, user.name);
      if (!this.permissions.has(key)) this.permissions.set(key, { user: user.name, vhost: defaultVhost, configure: '.*', write: '.*', read: '.*' });
    }
  }

  list(): UserDefinition[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): UserDefinition | undefined {
    return this.users.get(name);
  }

  /**
   * Creates or replaces a user from a password (hashed here with bcrypt) or an existing hash
   * (bcrypt, or RabbitMQ's; an empty hash makes a user that cannot log in with a password).
   * Returns whether it is new.
   */
  put(name: string, secret: { password: string } | { passwordHash: string; algorithm: HashingAlgorithm }, tags: string[]): boolean {
    if (name === '') throw invalidRequest('a user needs a name');
    let passwordHash: string;
    let hashingAlgorithm: HashingAlgorithm = 'bcrypt';
    if ('password' in secret) passwordHash = bcrypt.hashSync(secret.password, BCRYPT_ROUNDS);
    else {
      hashingAlgorithm = secret.algorithm;
      passwordHash = secret.passwordHash;
      if (!HASHING_ALGORITHMS.includes(hashingAlgorithm)) throw invalidRequest(`unknown hashing_algorithm '${String(hashingAlgorithm)}'`);
      if (passwordHash !== '' && hashingAlgorithm === 'bcrypt' && !BCRYPT_HASH.test(passwordHash)) {
        throw invalidRequest('password_hash must be a bcrypt hash ($2a$/$2b$/$2y$…) for hashing_algorithm bcrypt');
      }
      if (passwordHash !== '' && hashingAlgorithm !== 'bcrypt' && Buffer.from(passwordHash, 'base64').length <= 4) {
        throw invalidRequest(`password_hash is not a base64 ${hashingAlgorithm} hash`);
      }
    }
    const created = !this.users.has(name);
    const user: UserDefinition = { name, passwordHash, hashingAlgorithm, tags: [...new Set(tags.filter((t) => t !== ''))] };
    this.users.set(name, user);
    this.store.putRecord(USERS, name, Buffer.from(JSON.stringify(user)), FOREVER);
    this.generation++;
    return created;
  }

  /** Deletes a user and its permissions. */
  delete(name: string): void {
    if (!this.users.delete(name)) throw notFound(`no user '${name}'`);
    this.store.deleteRecord(USERS, name);
    this.generation++;
    for (const permission of [...this.permissions.values()]) if (permission.user === name) this.clearPermission(permission.vhost, name);
  }

  /** The user if the password is right, else null. */
  async verify(name: string, password: string): Promise<UserDefinition | null> {
    const user = this.users.get(name);
    if (user === undefined) return null;
    const key = createHash('sha256').update(name).update('\0').update(password).update('\0').update(user.passwordHash).digest('hex');
    if (this.verified.has(key)) return user;
    if (!(await passwordMatches(user, password))) return null;
    this.verified.add(key);
    return user;
  }

  // ---- permissions -----------------------------------------------------------------------------

  listPermissions(): PermissionDefinition[] {
    return [...this.permissions.values()];
  }

  permission(vhost: string, user: string): PermissionDefinition | undefined {
    return this.permissions.get(permissionKey(vhost, user));
  }

  /** Sets a user's permissions in a vhost; returns whether they are new. */
  setPermission(permission: PermissionDefinition): boolean {
    if (!this.users.has(permission.user)) throw notFound(`no user '${permission.user}'`);
    for (const field of ['configure', 'write', 'read'] as const) {
      try {
        new RegExp(permission[field]);
      } catch {
        throw invalidRequest(`${field} is not a valid regular expression: ${permission[field]}`);
      }
    }
    const key = permissionKey(permission.vhost, permission.user);
    const created = !this.permissions.has(key);
    this.permissions.set(key, { ...permission });
    this.store.putRecord(PERMISSIONS, key, Buffer.from(JSON.stringify(permission)), FOREVER);
    this.generation++;
    return created;
  }

  clearPermission(vhost: string, user: string): void {
    const key = permissionKey(vhost, user);
    if (!this.permissions.delete(key)) throw notFound(`no permissions for user '${user}' in vhost '${vhost}'`);
    this.store.deleteRecord(PERMISSIONS, key);
    this.generation++;
  }

  /** Whether the user may use the vhost at all (has permissions in it). */
  mayUseVhost(user: string, vhost: string): boolean {
    return this.permissions.has(permissionKey(vhost, user));
  }

  /**
   * Whether the user's `access` pattern in the vhost matches the resource name, as RabbitMQ
   * decides it: a regular expression searched in the name (anchor it with ^…$ to match whole
   * names); the empty pattern, like '^$', allows nothing.
   */
  allows(user: string, vhost: string, access: Access, resource: string): boolean {
    const permission = this.permissions.get(permissionKey(vhost, user));
    if (permission === undefined) return false;
    const source = permission[access];
    if (source === '') return false;
    let pattern = this.patterns.get(source);
    if (pattern === undefined) {
      pattern = new RegExp(source);
      this.patterns.set(source, pattern);
    }
    return pattern.test(resource);
  }

  /** A vhost went away: its permissions go too. */
  forgetVhost(vhost: string): void {
    for (const permission of [...this.permissions.values()]) if (permission.vhost === vhost) this.clearPermission(vhost, permission.user);
  }
}

const permissionKey = (vhost: string, user: string): string => `${vhost}\u0000${user}`;

const RABBIT_DIGESTS: Record<Exclude<HashingAlgorithm, 'bcrypt'>, string> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
};

/** bcrypt, or RabbitMQ's salted hash: base64(salt[4] + H(salt + password)). */
async function passwordMatches(user: UserDefinition, password: string): Promise<boolean> {
  if (user.passwordHash === '') return false;
  const algorithm = user.hashingAlgorithm ?? 'bcrypt';
  if (algorithm === 'bcrypt') return bcrypt.compare(password, user.passwordHash);
  const stored = Buffer.from(user.passwordHash, 'base64');
  const salt = stored.subarray(0, 4);
  const digest = createHash(RABBIT_DIGESTS[algorithm]).update(salt).update(password, 'utf8').digest();
  const expected = stored.subarray(4);
  return expected.length === digest.length && timingSafeEqual(expected, digest);
}
