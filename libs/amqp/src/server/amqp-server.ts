import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Broker, SessionRegistry, SessionSnapshot } from '#core';
import type { Logger } from '#observability';
import type { AmqpServerOptions } from '../amqp-options';
import { AmqpConnection, ConnectionContext } from '../connection/amqp-connection';
import type { Clock } from '../connection/clock';
import { DoorCounters } from './door-counters';

/** Longest a graceful close waits for clients to answer connection.close. */
const SHUTDOWN_GRACE_MS = 3000;

/**
 * The AMQP 0-9-1 listener and the registry of live connections, which the broker's management
 * layer lists and closes through the SessionRegistry interface.
 */
export class AmqpServer implements SessionRegistry {
  readonly door = 'amqp';
  private server: Server | null = null;
  private readonly connections = new Map<string, AmqpConnection>();
  private readonly context: ConnectionContext;
  private nextId = 0;
  private alarm: string | null = null;
  private readonly stats = new DoorCounters();

  constructor(
    private readonly broker: Broker,
    private readonly options: AmqpServerOptions,
    private readonly logger: Logger,
    clock: Clock,
  ) {
    this.context = {
      broker,
      options,
      clock,
      stats: this.stats,
      events: {
        closed: (connection) => this.connections.delete(connection.connectionId),
        log: (level, message, fields) => this.logger[level](fields ?? {}, message),
      },
    };
    broker.alarms.onChange((reason) => this.setAlarm(reason));
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  listen(): Promise<number> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    this.broker.sessions.register(this);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        this.logger.info({ port: this.port, host: this.options.host }, 'AMQP listener started');
        resolve(this.port);
      });
    });
  }

  private accept(socket: Socket): void {
    const id = `amqp-${++this.nextId}`;
    const connection = new AmqpConnection(id, socket, this.context);
    this.connections.set(id, connection);
    const alarm = this.alarm ?? this.broker.alarms.active;
    if (alarm !== null) connection.setAlarm(alarm);
  }

  /** A resource alarm started (reason) or cleared (null): publishers get connection.blocked. */
  setAlarm(reason: string | null): void {
    this.alarm = reason;
    for (const connection of this.connections.values()) connection.setAlarm(reason);
  }

  // ---- SessionRegistry -------------------------------------------------------------------------

  list(): SessionSnapshot[] {
    return [...this.connections.values()].map((connection) => connection.snapshot());
  }

  counters(): Record<string, number> {
    return this.stats.snapshot();
  }

  close(id: string, reason: string): boolean {
    const connection = this.connections.get(id);
    if (connection === undefined) return false;
    connection.shutdown(reason);
    return true;
  }

  /** Stops accepting, tells every client the broker is going away, and waits for the sockets. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    this.broker.sessions.unregister(this);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of this.connections.values()) connection.shutdown();
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const connection of this.connections.values()) connection.destroy();
    await closed;
  }
}
