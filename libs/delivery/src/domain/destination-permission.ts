import type { UserRegistry } from '#core';

/** The host name a permission is matched against: the URL's, IPv6 without brackets. */
function hostnameOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return url;
  }
}

/**
 * The delivery door's rule when it asks for credentials (DISPATCH_AUTH): sending to a
 * destination needs the user's write permission in the delivery vhost to match the destination's
 * host name, as an AMQP write permission matches exchange names (`^hooks\.example\.com$`,
 * `\.internal$`, `.*`). The same rule holds for HTTP intake, replays, cancels, and every delivery
 * the door takes from its queue, whoever put it there (AMQP publishes to the delivery exchange).
 */
export class DestinationPermission {
  constructor(
    private readonly users: UserRegistry,
    private readonly vhost: string,
  ) {}

  /** Why `user` may not send to `url`, or null. */
  refusal(user: string, url: string): string | null {
    const hostname = hostnameOf(url);
    if (this.users.allows(user, this.vhost, 'write', hostname)) return null;
    return `write access to destination '${hostname}' in vhost '${this.vhost}' refused for user '${user}'`;
  }
}
