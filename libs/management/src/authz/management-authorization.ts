import { Inject, Injectable } from '@nestjs/common';
import { Access, accessNeededToDeclare, Broker, Declaration, FieldTable, UserDefinition } from '#core';
import { ChannelClosed, NotAuthorised } from './not-authorised';
import type { ManagementTag } from './requires.decorator';

/** Which tags pass a route that needs `tag` (RabbitMQ's is_mgmt_user, is_policymaker, is_monitor, is_admin). */
const TAGS_THAT_PASS: Record<ManagementTag, readonly string[]> = {
  management: ['management', 'policymaker', 'monitoring', 'administrator'],
  policymaker: ['policymaker', 'administrator'],
  monitoring: ['monitoring', 'administrator'],
  administrator: ['administrator'],
};

/** RabbitMQ's refusal texts for a missing tag. */
const NOT_TAGGED: Record<ManagementTag, string> = {
  management: 'Not management user',
  policymaker: 'Not policymaker user',
  monitoring: 'Not monitor user',
  administrator: 'Not administrator user',
};

const NOT_IN_VHOST = 'User not authorised to access virtual host';
const NOT_ON_OBJECT = 'User not authorised to access object';
/** What RabbitMQ answers when the channel it acts on for the user refuses a declare, delete, purge or bind. */
const ACCESS_REFUSED = 'Access refused.';

/**
 * Who may do what through the management API, decided as RabbitMQ's management plugin does
 * (measured on RabbitMQ 3.10: test/management/fixtures/authz-rabbitmq-3.10.json):
 * - a tag per route (the guard asks `requireTag`); refusals are 401 `not_authorised`;
 * - a vhost in the path needs permissions in it, except for administrators (`requireVhost`);
 * - what RabbitMQ does over an AMQP channel as the user (declare, delete, publish, get, purge,
 *   bind) needs the AMQP permission, administrators included (`channel`);
 * - lists show the vhosts the user has permissions in, and only the user's own sessions unless
 *   it is `monitoring` (or `administrator`).
 */
@Injectable()
export class ManagementAuthorization {
  constructor(@Inject(Broker) private readonly broker: Broker) {}

  has(user: UserDefinition, tag: ManagementTag): boolean {
    return user.tags.some((t) => TAGS_THAT_PASS[tag].includes(t));
  }

  requireTag(user: UserDefinition, tag: ManagementTag): void {
    if (!this.has(user, tag)) throw new NotAuthorised(NOT_TAGGED[tag]);
  }

  // ---- vhosts ----------------------------------------------------------------------------------

  /**
   * Whether a route on this vhost is open to the user: administrators everywhere, others where
   * they have permissions. A vhost that does not exist passes, to be answered 404 (as RabbitMQ).
   */
  mayUseVhost(user: UserDefinition, vhost: string): boolean {
    return this.has(user, 'administrator') || this.broker.users.mayUseVhost(user.name, vhost) || this.broker.vhost(vhost) === undefined;
  }

  requireVhost(user: UserDefinition, vhost: string): void {
    if (!this.mayUseVhost(user, vhost)) throw new NotAuthorised(NOT_IN_VHOST);
  }

  /** Whether /api/vhosts lists it: monitoring users see every vhost, as administrators. */
  listsVhost(user: UserDefinition, vhost: string): boolean {
    return this.has(user, 'monitoring') || this.broker.users.mayUseVhost(user.name, vhost);
  }

  /**
   * A route on this vhost open to the users that see it (RabbitMQ's is_authorized_vhost_visible):
   * monitoring users and administrators everywhere, others where they have permissions. A vhost
   * that does not exist passes, to be answered 404.
   */
  requireVisibleVhost(user: UserDefinition, vhost: string): void {
    if (!this.listsVhost(user, vhost) && this.broker.vhost(vhost) !== undefined) throw new NotAuthorised(NOT_IN_VHOST);
  }

  /** Whether the broker-wide lists (exchanges, queues, bindings, policies) show this vhost's: monitoring users see only their vhosts' there. */
  listsResourcesOf(user: UserDefinition, vhost: string): boolean {
    return this.has(user, 'administrator') || this.broker.users.mayUseVhost(user.name, vhost);
  }

  // ---- sessions --------------------------------------------------------------------------------

  /** Whether the user sees every user's connections, channels and consumers (else only its own). */
  seesEverySession(user: UserDefinition): boolean {
    return this.has(user, 'monitoring');
  }

  /** One connection or channel: its own user sees and closes it; monitoring users see any, administrators close any. */
  requireSession(user: UserDefinition, owner: string, action: 'see' | 'close'): void {
    if (owner === user.name) return;
    if (this.has(user, action === 'see' ? 'monitoring' : 'administrator')) return;
    throw new NotAuthorised(NOT_ON_OBJECT);
  }

  // ---- policies --------------------------------------------------------------------------------

  /**
   * One policy (see, set, delete): administrators, and policymakers in their vhosts. Setting one
   * that dead-letters into or falls back on an exchange needs write on that exchange too, as
   * declaring such a queue or exchange does (RabbitMQ 3.10 does not check it: one of our few
   * differences, listed in the authorization test). Administrators may grant themselves any
   * permission, so the check would only stand in their way.
   */
  requirePolicy(user: UserDefinition, vhost: string, definition?: Record<string, unknown>): void {
    if (this.has(user, 'administrator')) return;
    if (!this.has(user, 'policymaker') || !this.mayUseVhost(user, vhost)) throw new NotAuthorised(NOT_ON_OBJECT);
    if (definition === undefined) return;
    for (const need of accessNeededToDeclare({ kind: 'policy', definition })) {
      if (!this.broker.users.allows(user.name, vhost, need.access, resourceName(need.kind, need.name))) throw new NotAuthorised(refusalText(need.access, need.kind, need.name, vhost, user.name));
    }
  }

  // ---- AMQP permissions ------------------------------------------------------------------------

  /**
   * What the user may do in the vhost as over an AMQP channel. RabbitMQ acts on a channel opened
   * as the user: without permissions in the vhost that channel does not open, so every action is
   * refused, an administrator's too.
   */
  channel(user: UserDefinition, vhost: string): ChannelAccess {
    if (!this.broker.users.mayUseVhost(user.name, vhost)) throw new NotAuthorised(ACCESS_REFUSED);
    return new ChannelAccess(this.broker, user.name, vhost);
  }
}

/** The permission checks of one management action, with RabbitMQ's answers for each kind of action. */
export class ChannelAccess {
  constructor(
    private readonly broker: Broker,
    private readonly user: string,
    private readonly vhost: string,
  ) {}

  allows(access: Access, kind: 'queue' | 'exchange', name: string): boolean {
    return this.broker.users.allows(this.user, this.vhost, access, resourceName(kind, name));
  }

  /** Declare, delete, purge, bind: 401 "Access refused." (RabbitMQ says no more). */
  require(access: Access, kind: 'queue' | 'exchange', name: string): void {
    if (!this.allows(access, kind, name)) throw new NotAuthorised(ACCESS_REFUSED);
  }

  /**
   * A queue or exchange declaration: configure on it, and when it creates the resource, what its
   * dead-letter or alternate exchange needs (read on it, write on the target; '#core' decides).
   */
  requireDeclaration(kind: 'queue' | 'exchange', name: string, args: FieldTable, exists: boolean): void {
    this.require('configure', kind, name);
    if (exists) return;
    const declaration: Declaration = { kind, name, arguments: args };
    for (const need of accessNeededToDeclare(declaration)) this.require(need.access, need.kind, need.name);
  }

  /** Getting messages: 401 with the channel's refusal text. */
  requireRead(queue: string): void {
    if (!this.allows('read', 'queue', queue)) throw new NotAuthorised(`ACCESS_REFUSED - ${this.refusal('read', 'queue', queue)}`);
  }

  /**
   * Publishing, checked as an AMQP channel does: write on the exchange, that it exists, and that a
   * `user_id` property names the user. RabbitMQ answers 400 with the code and text its channel
   * closed with.
   */
  requirePublish(exchange: string, userId: unknown, exists: () => boolean): void {
    if (!this.allows('write', 'exchange', exchange)) throw new ChannelClosed(403, 'ACCESS_REFUSED', this.refusal('write', 'exchange', exchange));
    if (!exists()) throw new ChannelClosed(404, 'NOT_FOUND', `no exchange '${resourceName('exchange', exchange)}' in vhost '${this.vhost}'`);
    if (userId !== undefined && userId !== this.user) {
      throw new ChannelClosed(406, 'PRECONDITION_FAILED', `user_id property set to '${String(userId)}' but authenticated user was '${this.user}'`);
    }
  }

  /** 401 with the AMQP refusal text (actions RabbitMQ lacks, where the reason helps). */
  requireExplained(access: Access, kind: 'queue' | 'exchange', name: string): void {
    if (!this.allows(access, kind, name)) throw new NotAuthorised(this.refusal(access, kind, name));
  }

  private refusal(access: Access, kind: 'queue' | 'exchange', name: string): string {
    return refusalText(access, kind, name, this.vhost, this.user);
  }
}

/** RabbitMQ checks the default exchange under the name amq.default. */
const resourceName = (kind: 'queue' | 'exchange', name: string): string => (kind === 'exchange' && name === '' ? 'amq.default' : name);

/** The AMQP door's refusal text, so both doors say the same. */
const refusalText = (access: Access, kind: 'queue' | 'exchange', name: string, vhost: string, user: string): string =>
  `${access} access to ${kind} '${resourceName(kind, name)}' in vhost '${vhost}' refused for user '${user}'`;
