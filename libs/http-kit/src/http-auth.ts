import { createHash, timingSafeEqual } from 'node:crypto';
import type { LoginAttempt, LoginRefusal, UserRegistry } from '#core';

/** How an HTTP door authenticates its callers. */
export interface HttpAuthOptions {
  /** Which door this is, in the failed-login log and metric. */
  door: 'jobs' | 'delivery';
  /** Off: every caller is anonymous and may do everything (dispenserd's and Dispatcher's behaviour). */
  enabled: boolean;
  /** Bearer token → the broker user it acts as. */
  tokens: Record<string, string>;
}

/** Why a request was not authenticated: answered 401 with this text. */
export class HttpAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpAuthError';
  }
}

/**
 * Authenticates a request from its Authorization header: `Basic` against the broker's users (the
 * ones AMQP and the management API know) or `Bearer` with a configured token standing for a user.
 * Answers the user's name; throws HttpAuthError otherwise.
 */
export class HttpAuthenticator {
  /** sha256 of each token → user; compared in constant time. */
  private readonly tokenDigests: { digest: Buffer; user: string }[];

  constructor(
    private readonly users: UserRegistry,
    readonly options: HttpAuthOptions,
  ) {
    this.tokenDigests = Object.entries(options.tokens).map(([token, user]) => ({ digest: digestOf(token), user }));
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  async authenticate(authorization: string | undefined, remoteAddress: string | undefined): Promise<string> {
    if (authorization === undefined) throw new HttpAuthError('authentication required: send HTTP Basic credentials of a broker user or a Bearer token');
    const attempt: LoginAttempt = { source: remoteAddress, door: this.options.door };
    if (authorization.startsWith('Bearer ')) return this.bearer(authorization.slice(7).trim(), attempt);
    if (!authorization.startsWith('Basic ')) throw new HttpAuthError('unsupported Authorization scheme: use Basic or Bearer');
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new HttpAuthError(INVALID_CREDENTIALS);
    const name = decoded.slice(0, colon);
    const outcome = await this.users.authenticate(name, decoded.slice(colon + 1), attempt);
    if (outcome.user !== undefined) return outcome.user.name;
    throw refusal(name, outcome.refusal);
  }

  private bearer(token: string, attempt: LoginAttempt): string {
    const logins = this.users.logins;
    const backoff = logins.backoffRefusal('(token)', attempt);
    if (backoff !== null) throw refusal('(token)', 'backoff');
    const digest = digestOf(token);
    const match = this.tokenDigests.find((entry) => timingSafeEqual(entry.digest, digest));
    if (match === undefined || this.users.get(match.user) === undefined) {
      logins.refuse(match?.user ?? '(token)', attempt, 'invalid_token');
      throw new HttpAuthError('invalid token');
    }
    if (!this.users.mayConnectFrom(match.user, attempt.source)) {
      logins.refuse(match.user, attempt, 'loopback_only');
      throw refusal(match.user, 'loopback_only');
    }
    return match.user;
  }
}

const INVALID_CREDENTIALS = 'invalid username or password';

/** The answer to a refused login: the same for an unknown name and a wrong password. */
function refusal(user: string, reason: LoginRefusal): HttpAuthError {
  if (reason === 'loopback_only') return new HttpAuthError(`user '${user}' can only connect via localhost`);
  if (reason === 'backoff') return new HttpAuthError('too many failed logins from this address: try again later');
  if (reason === 'busy') return new HttpAuthError('too many logins in progress: try again later');
  return new HttpAuthError(INVALID_CREDENTIALS);
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
