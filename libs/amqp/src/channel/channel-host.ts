import type { Broker, CommitToken, Queue, VirtualHost } from '#core';
import type { FrameOutput } from '../connection/frame-output';
import type { AccessControl } from '../auth/access-control';
import type { AmqpError } from '../errors';
import type { DoorCounters } from '../server/door-counters';

/** What the client said it supports (connection.start-ok client-properties capabilities). */
export interface ClientCapabilities {
  consumerCancelNotify: boolean;
  connectionBlocked: boolean;
  authenticationFailureClose: boolean;
  basicNack: boolean;
  publisherConfirms: boolean;
}

/** The broker's durability promise, as confirms and transactions use it. */
export type Durability = Pick<Broker, 'durabilityToken' | 'onDurable'>;

/** What a channel needs from its connection. */
export interface ChannelHost {
  /** Owner id for exclusive queues. */
  readonly connectionId: string;
  /** The authenticated user (checked against a publish's user_id). */
  readonly user: string;
  readonly durability: Durability;
  readonly vhost: VirtualHost;
  readonly output: FrameOutput;
  readonly frameMax: number;
  readonly maxMessageBytes: number;
  /** Consumers at most per channel; 0 = no limit. */
  readonly maxConsumersPerChannel: number;
  /** Longest an unacknowledged delivery may be held, in ms (queues may override); 0 = off. */
  readonly consumerTimeoutMs: number;
  readonly capabilities: ClientCapabilities;
  readonly stats: DoorCounters;
  /** The user's permissions in the connection's vhost. */
  readonly access: AccessControl;
  /** The channel finished closing (close-ok sent or received). */
  channelClosed(channelId: number): void;
  /** A hard error: the whole connection must close. */
  connectionError(error: AmqpError): void;
  /**
   * A publish of `bodyBytes` was accepted and waits for `commitToken` (NO_COMMIT_NEEDED: for
   * nothing); the connection may need to slow its reader down (flow control).
   */
  publishAccepted(overloaded: Queue | null, commitToken: CommitToken, bodyBytes: number): void;
}
