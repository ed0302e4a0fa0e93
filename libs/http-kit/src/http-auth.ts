import { createHash, timingSafeEqual } from 'node:crypto';
import type { UserRegistry } from '#core';

/** How an HTTP door authenticates its callers. */
export interface HttpAuthOptions {
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
    const user = await this.userOf(authorization);
    if (!this.users.mayConnectFrom(user, remoteAddress)) {
      throw new HttpAuthError(`user '${user}' can only connect via localhost`);
    }
    return user;
  }

  private async userOf(authorization: string): Promise<string> {
    if (authorization.startsWith('Bearer ')) {
      const digest = digestOf(authorization.slice(7).trim());
      const match = this.tokenDigests.find((entry) => timingSafeEqual(entry.digest, digest));
      if (match === undefined || this.users.get(match.user) === undefined) throw new HttpAuthError('invalid token');
      return match.user;
    }
    if (authorization.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        const user = await this.users.verify(decoded.slice(0, colon), decoded.slice(colon + 1));
        if (user !== null) return user.name;
      }
      throw new HttpAuthError('invalid username or password');
    }
    throw new HttpAuthError('unsupported Authorization scheme: use Basic or Bearer');
  }
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
