import { createHash, timingSafeEqual } from 'node:crypto';
import { LoginCache } from './login-cache';
import { LoginThrottle, LoginThrottleOptions } from './login-throttle';
import { defaultPasswordWorkers, PasswordPoolBusy, PasswordWorkerPool } from './password-pool';
import type { HashingAlgorithm, UserDefinition } from './user-registry';

/** The door a login came through (a label of the failure metric and log). */
export type LoginDoor = 'amqp' | 'management' | 'jobs' | 'delivery';

/**
 * Why a login was refused. The door answers every one of them alike (except `loopback_only`, which
 * RabbitMQ names); the log tells them apart.
 */
export type LoginRefusal = 'unknown_user' | 'wrong_password' | 'loopback_only' | 'backoff' | 'invalid_token' | 'busy';

/** Where a login comes from. */
export interface LoginAttempt {
  /** The peer address (a socket's remoteAddress). */
  source: string | undefined;
  door: LoginDoor;
}

/** A login's outcome: the user, or why not. */
export type LoginOutcome = { user: UserDefinition; refusal?: undefined } | { user?: undefined; refusal: LoginRefusal };

/** A refused login, as told to the failure listeners (the log). */
export interface LoginFailure {
  user: string;
  source: string;
  door: LoginDoor;
  reason: LoginRefusal;
  /** The back-off this failure started for its source, in ms (0: none). */
  backoffMs: number;
}

export interface AuthenticationOptions {
  /** How long a successful check is remembered, in ms; 0: never. */
  cacheTtlMs: number;
  /** Password worker threads; 0: half the CPUs (1 to 4). */
  workers: number;
  throttle: LoginThrottleOptions;
}

export const DEFAULT_AUTHENTICATION: AuthenticationOptions = {
  cacheTtlMs: 60_000,
  workers: 0,
  throttle: { failureLimit: 10, windowMs: 60_000, backoffMs: 1000, maxBackoffMs: 60_000 },
};

/** The cost of the bcrypt hashes the broker makes. */
export const BCRYPT_ROUNDS = 10;

/**
 * What an unknown user's password is compared with: a bcrypt hash of BCRYPT_ROUNDS of a random
 * text, so a name that does not exist costs as much as a wrong password and cannot be told apart.
 */
const DUMMY_HASH = '$2b$10$qwM3FlM56IR3Iy6aWjgtzOELvjI9iQFQwy7UDqWJpnor23NOUCeSC';

/** The failure metric's reason: unknown names and wrong passwords are one, as /metrics is public. */
export type LoginFailureMetricReason = 'invalid_credentials' | Exclude<LoginRefusal, 'unknown_user' | 'wrong_password'>;

export const metricReasonOf = (reason: LoginRefusal): LoginFailureMetricReason =>
  reason === 'unknown_user' || reason === 'wrong_password' ? 'invalid_credentials' : reason;

/** Where the authenticator finds users and the loopback rule (the user registry). */
export interface UserDirectory {
  get(name: string): UserDefinition | undefined;
  mayConnectFrom(name: string, remoteAddress: string | undefined): boolean;
}

/**
 * Every door's password check, in one place: the per-source back-off first (a source in back-off
 * gets no check at all), then bcrypt on a worker thread (a dummy hash for unknown users), then the
 * source rule (loopback-only users), so a right password from the wrong place costs what a wrong
 * one does. Successes are cached for a while; failures are counted and told to listeners.
 */
export class Authenticator {
  private readonly pool: PasswordWorkerPool;
  private readonly cache: LoginCache;
  private readonly throttle: LoginThrottle;
  /** Checks running now, by cache key: identical concurrent logins (a reconnect burst) share one bcrypt. */
  private readonly running = new Map<string, Promise<boolean>>();
  private readonly listeners: ((failure: LoginFailure) => void)[] = [];
  /** Failed logins by door and metric reason ("door reason" → count). */
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly users: UserDirectory,
    options: AuthenticationOptions = DEFAULT_AUTHENTICATION,
  ) {
    this.pool = new PasswordWorkerPool(options.workers > 0 ? options.workers : defaultPasswordWorkers());
    this.cache = new LoginCache(options.cacheTtlMs);
    this.throttle = new LoginThrottle(options.throttle);
  }

  async authenticate(name: string, password: string, attempt: LoginAttempt): Promise<LoginOutcome> {
    if (this.throttle.waitFor(attempt.source) > 0) return this.refuse(name, attempt, 'backoff');
    const user = this.users.get(name);
    const allowedHere = user !== undefined && this.users.mayConnectFrom(user.name, attempt.source);
    const key = this.cache.keyOf(name, password, user?.passwordHash ?? DUMMY_HASH);
    // never from the cache where the source is wrong: that answer must cost a full check
    if (allowedHere && this.cache.has(key)) return { user };
    let matches: boolean;
    try {
      matches = await this.check(user, password, key, attempt.source);
    } catch (error) {
      if (error instanceof PasswordPoolBusy) return this.refuse(name, attempt, 'busy');
      matches = false;
    }
    const current = this.users.get(name);
    if (user === undefined || current === undefined) return this.refuse(name, attempt, 'unknown_user');
    if (!matches || current.passwordHash !== user.passwordHash) return this.refuse(name, attempt, 'wrong_password');
    if (!allowedHere) return this.refuse(name, attempt, 'loopback_only');
    this.cache.remember(key);
    return { user: current };
  }

  /**
   * For a door with secrets of its own (bearer tokens): whether the source is in back-off (then it
   * must refuse without looking at the secret); the refusal is counted and logged.
   */
  backoffRefusal(name: string, attempt: LoginAttempt): LoginOutcome | null {
    return this.throttle.waitFor(attempt.source) > 0 ? this.refuse(name, attempt, 'backoff') : null;
  }

  /** Records a refusal a door decided itself (an unknown bearer token, …): counted, logged, and towards back-off. */
  refuse(name: string, attempt: LoginAttempt, reason: LoginRefusal): LoginOutcome {
    const counts = reason !== 'backoff' && reason !== 'busy';
    const backoffMs = counts ? this.throttle.recordFailure(attempt.source) : 0;
    const key = `${attempt.door} ${metricReasonOf(reason)}`;
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    const failure: LoginFailure = { user: name, source: attempt.source ?? 'unknown', door: attempt.door, reason, backoffMs };
    for (const listener of this.listeners) {
      try {
        listener(failure);
      } catch {
        // a listener's trouble is not the login's
      }
    }
    return { refusal: reason };
  }

  /** Failed logins so far, by door and metric reason. */
  failureCounts(): { door: LoginDoor; reason: LoginFailureMetricReason; count: number }[] {
    return [...this.failures].map(([key, count]) => {
      const [door, reason] = key.split(' ') as [LoginDoor, LoginFailureMetricReason];
      return { door, reason, count };
    });
  }

  onFailure(listener: (failure: LoginFailure) => void): void {
    this.listeners.push(listener);
  }

  /** A bcrypt hash of the password, made on a worker thread. */
  hashPassword(password: string): Promise<string> {
    return this.pool.hash(password, BCRYPT_ROUNDS);
  }

  /** Sources the back-off remembers now. */
  get trackedSources(): number {
    return this.throttle.size;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** One bcrypt per distinct check running: the source's count of checks in flight covers only those. */
  private check(user: UserDefinition | undefined, password: string, key: string, source: string | undefined): Promise<boolean> {
    let running = this.running.get(key);
    if (running === undefined) {
      this.throttle.begin(source);
      running = this.compare(user, password).finally(() => {
        this.running.delete(key);
        this.throttle.end(source);
      });
      this.running.set(key, running);
    }
    return running;
  }

  private async compare(user: UserDefinition | undefined, password: string): Promise<boolean> {
    if (user !== undefined && user.passwordHash !== '' && (user.hashingAlgorithm ?? 'bcrypt') === 'bcrypt') {
      return this.pool.compare(password, user.passwordHash);
    }
    if (user !== undefined && rabbitHashMatches(user, password)) return true;
    // unknown users, users without a password and wrong RabbitMQ-hash passwords pay a bcrypt too
    await this.pool.compare(password, DUMMY_HASH);
    return false;
  }
}

const RABBIT_DIGESTS: Record<Exclude<HashingAlgorithm, 'bcrypt'>, string> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
};

/** RabbitMQ's salted hash: base64(salt[4] + H(salt + password)). */
function rabbitHashMatches(user: UserDefinition, password: string): boolean {
  const algorithm = user.hashingAlgorithm ?? 'bcrypt';
  if (user.passwordHash === '' || algorithm === 'bcrypt') return false;
  const stored = Buffer.from(user.passwordHash, 'base64');
  const salt = stored.subarray(0, 4);
  const digest = createHash(RABBIT_DIGESTS[algorithm]).update(salt).update(password, 'utf8').digest();
  const expected = stored.subarray(4);
  return expected.length === digest.length && timingSafeEqual(expected, digest);
}
