import bcrypt from 'bcryptjs';
import { createHash } from 'node:crypto';
import { AuthenticationOptions, Authenticator, BCRYPT_ROUNDS, DEFAULT_AUTHENTICATION, LoginAttempt, LoginFailure, LoginOutcome } from './authenticator';
import { isLoopbackAddress } from './loopback';
import { compileNamePattern, NamePattern, storedNamePattern } from './name-pattern';
import { invalidRequest, notFound } from '../errors';
import type { DefinitionWrites } from '../store/definition-gate';

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

/** The default user of a new database (RabbitMQ's default_user), from the configuration. */
export interface DefaultUser {
  name: string;
  password: string;
  tags: string[];
}

/** The store's record namespaces of users and permissions (definitions every broker node shares). */
export const USERS = 'definitions.users';
export const PERMISSIONS = 'definitions.permissions';
/** What the configuration has created: 'database' once the first start seeded it, 'user:<name>' per configured user. */
const SEEDED = 'definitions.seeded';
/**
 * The record that says a database was seeded (its default user made): written with the default
 * user, in the same commit. Nodes of a cluster starting on a new database wait for the first one's.
 */
export const DATABASE_SEEDED = { namespace: SEEDED, key: 'database' } as const;
/** Definitions never expire. */
const FOREVER = Number.MAX_SAFE_INTEGER;
const BCRYPT_HASH = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * Users and permissions, kept as definitions in the store, and the one password check of every
 * door (`authenticate`, see Authenticator). The configuration's users are seeded into the store:
 * the default user (guest) when the database is new only, as RabbitMQ; after that the store alone
 * decides, so a deleted user stays deleted.
 */
export class UserRegistry {
  private readonly users = new Map<string, UserDefinition>();
  private readonly permissions = new Map<string, PermissionDefinition>();
  private readonly patterns = new Map<string, NamePattern>();
  private readonly authenticator: Authenticator;
  /** Bumped on every change of users or permissions, so callers may cache decisions until it moves. */
  generation = 0;
  private loopbackOnly: ReadonlySet<string> = new Set();

  constructor(
    private readonly store: DefinitionWrites,
    authentication: AuthenticationOptions = DEFAULT_AUTHENTICATION,
  ) {
    this.authenticator = new Authenticator(this, authentication);
  }

  /** RabbitMQ's loopback_users: these may authenticate only from the local machine (guest by default). */
  restrictToLoopback(names: readonly string[]): void {
    this.loopbackOnly = new Set(names);
  }

  /** Whether the user may authenticate from this peer address. */
  mayConnectFrom(name: string, remoteAddress: string | undefined): boolean {
    return !this.loopbackOnly.has(name) || isLoopbackAddress(remoteAddress);
  }

  /** Loads the stored users and permissions. */
  async load(): Promise<void> {
    for (const [, value] of await this.store.listRecords(USERS)) {
      const user = JSON.parse(value.toString('utf8')) as UserDefinition;
      this.users.set(user.name, user);
    }
    for (const [, value] of await this.store.listRecords(PERMISSIONS)) {
      const permission = JSON.parse(value.toString('utf8')) as PermissionDefinition;
      this.permissions.set(permissionKey(permission.vhost, permission.user), permission);
    }
  }

  /**
   * Stores the configuration's users, each with all permissions on `vhost` when it has none there.
   * The default user only when the database is new (RabbitMQ's default_user): deleted, it stays
   * deleted. A user of the config file (dispatchd's `users`) when its entry is new or changed since
   * it was last applied: the file is where the operator declares them, so a user added or a hash
   * changed there takes effect at the next start, while one deleted through the management API
   * stays deleted as long as its entry is unchanged. A user the store already holds under a name
   * the configuration first names keeps its stored definition.
   */
  async seed(defaultUser: DefaultUser | null, configured: readonly UserDefinition[], vhost: string): Promise<void> {
    const seeded = new Map((await this.store.listRecords(SEEDED)).map(([key, value]) => [key, value.toString('utf8')]));
    const mark = (key: string, value: string): void => {
      this.store.putRecord(SEEDED, key, Buffer.from(value), FOREVER);
    };
    const create = (user: UserDefinition): void => {
      this.put(user.name, { passwordHash: user.passwordHash, algorithm: user.hashingAlgorithm ?? 'bcrypt' }, user.tags);
      if (!this.permissions.has(permissionKey(vhost, user.name))) {
        this.setPermission({ user: user.name, vhost, configure: '.*', write: '.*', read: '.*' });
      }
    };
    for (const user of configured) {
      const key = `user:${user.name}`;
      const applied = seeded.get(key);
      const digest = createHash('sha256').update(user.passwordHash).update('\0').update(user.tags.join(',')).digest('hex');
      if (applied === digest) continue;
      if (applied !== undefined || !this.users.has(user.name)) create(user);
      mark(key, digest);
    }
    if (seeded.has(DATABASE_SEEDED.key)) return;
    if (defaultUser !== null && !this.users.has(defaultUser.name) && !configured.some((u) => u.name === defaultUser.name)) {
      create({ name: defaultUser.name, passwordHash: await this.hashPassword(defaultUser.password), hashingAlgorithm: 'bcrypt', tags: defaultUser.tags });
    }
    mark(DATABASE_SEEDED.key, new Date().toISOString());
  }

  list(): UserDefinition[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): UserDefinition | undefined {
    return this.users.get(name);
  }

  /**
   * Creates or replaces a user from a password or an existing hash (bcrypt, or RabbitMQ's; an
   * empty hash makes a user that cannot log in with a password). Returns whether it is new. A
   * plain password is hashed here, on the event loop (~100 ms): request handlers hash it first
   * with `hashPassword`.
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

  /**
   * The one password check of every door: the user if name and password are right and the user
   * may log in from `attempt.source`, else why not (see Authenticator: off the event loop, cached,
   * the same cost for unknown users, back-off per source, failures counted and told).
   */
  authenticate(name: string, password: string, attempt: LoginAttempt): Promise<LoginOutcome> {
    return this.authenticator.authenticate(name, password, attempt);
  }

  /** The authenticator itself: for doors with secrets of their own (bearer tokens), metrics and the failure log. */
  get logins(): Authenticator {
    return this.authenticator;
  }

  /** Tells `listener` of every refused login (for the log). */
  onLoginFailure(listener: (failure: LoginFailure) => void): void {
    this.authenticator.onFailure(listener);
  }

  /** A bcrypt hash of the password, made on a worker thread: give it to `put` as `{ passwordHash, algorithm: 'bcrypt' }`. */
  hashPassword(password: string): Promise<string> {
    return this.authenticator.hashPassword(password);
  }

  /** Stops the password workers. */
  close(): Promise<void> {
    return this.authenticator.close();
  }

  /**
   * A user or permission record another broker node committed: kept (a value) or gone (null),
   * here too, without writing it back. A user's permissions go with it, as `delete` does. False
   * when the namespace is not one of this registry's.
   */
  applyStored(namespace: string, key: string, value: Buffer | null): boolean {
    if (namespace === USERS) {
      if (value !== null) {
        const user = JSON.parse(value.toString('utf8')) as UserDefinition;
        this.users.set(user.name, user);
      } else if (this.users.delete(key)) {
        for (const [stored, permission] of [...this.permissions]) if (permission.user === key) this.permissions.delete(stored);
      }
    } else if (namespace === PERMISSIONS) {
      if (value !== null) this.permissions.set(key, JSON.parse(value.toString('utf8')) as PermissionDefinition);
      else this.permissions.delete(key);
    } else return false;
    this.generation++;
    return true;
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
        compileNamePattern(permission[field]);
      } catch (error) {
        throw invalidRequest(`${field} is not a valid regular expression (RE2 syntax): ${permission[field]}: ${(error as Error).message}`);
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
      pattern = storedNamePattern(source);
      this.patterns.set(source, pattern);
    }
    return pattern.test(resource);
  }

  /** A vhost went away: its permissions go too. */
  forgetVhost(vhost: string): void {
    for (const permission of [...this.permissions.values()]) if (permission.vhost === vhost) this.clearPermission(vhost, permission.user);
  }
}

/** The key a permission is stored under (in the PERMISSIONS namespace). */
export const permissionKey = (vhost: string, user: string): string => `${vhost}\u0000${user}`;

