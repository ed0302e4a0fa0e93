import { accessNeededToDeclare, type Access, type Broker, type Declaration } from '#core';
import { accessRefused } from '../errors';

/**
 * What the user of one connection may do in its vhost, checked on every AMQP operation as
 * RabbitMQ does: configure (declare, delete), write (publish to an exchange, bind to a queue or
 * exchange) and read (consume, get, purge a queue; bind from an exchange). Decisions are cached
 * per connection until users or permissions change.
 */
export class AccessControl {
  private readonly decided = new Map<string, boolean>();
  private generation = -1;
  /** The last exchange written to, allowed: the usual publish loop checks only this. */
  private lastWrite: string | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly user: string,
    private readonly vhost: string,
  ) {}

  /** Throws 403 ACCESS_REFUSED with RabbitMQ's text unless the access is allowed. */
  check(access: Access, kind: 'queue' | 'exchange', name: string): void {
    if (access === 'write' && kind === 'exchange' && name === this.lastWrite && this.generation === this.broker.users.generation) return;
    if (this.allows(access, kind, name)) {
      if (access === 'write' && kind === 'exchange') this.lastWrite = name;
    } else {
      throw accessRefused(`${access} access to ${kind} '${name === '' ? 'amq.default' : name}' in vhost '${this.vhost}' refused for user '${this.user}'`);
    }
  }

  /**
   * What creating a queue or exchange needs beyond configure on it: with a dead-letter or
   * alternate exchange, read on the declared resource and write on the target (RabbitMQ checks
   * them only when the declaration creates the resource; the caller knows whether it does).
   */
  checkDeclaration(declaration: Declaration): void {
    for (const need of accessNeededToDeclare(declaration)) this.check(need.access, need.kind, need.name);
  }

  allows(access: Access, kind: 'queue' | 'exchange', name: string): boolean {
    const users = this.broker.users;
    if (users.generation !== this.generation) {
      this.decided.clear();
      this.lastWrite = null;
      this.generation = users.generation;
    }
    // RabbitMQ checks the default exchange under the name amq.default
    const resource = kind === 'exchange' && name === '' ? 'amq.default' : name;
    const key = `${access}\u0000${kind}\u0000${resource}`;
    let allowed = this.decided.get(key);
    if (allowed === undefined) {
      allowed = users.allows(this.user, this.vhost, access, resource);
      if (this.decided.size > 10_000) this.decided.clear();
      this.decided.set(key, allowed);
    }
    return allowed;
  }
}
