import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Broker } from '#core';
import type { Logger } from '#observability';
import type { AmqpServerOptions } from '../amqp-options';
import { UserDirectory } from '../auth/user-directory';
import { AmqpConnection } from '../connection/amqp-connection';

/** The AMQP 0-9-1 listener and the set of live connections. */
export class AmqpServer {
  private server: Server | null = null;
  private readonly connections = new Set<AmqpConnection>();
  private readonly users: UserDirectory;
  private nextId = 0;
  private blockedReason: string | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly options: AmqpServerOptions,
    private readonly logger: Logger,
  ) {
    this.users = new UserDirectory(options.users);
    broker.alarms.onChange((reason) => this.setBlocked(reason));
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
    const connection = new AmqpConnection(`amqp-${++this.nextId}`, socket, this.broker, this.options, this.users, {
      closed: (c) => this.connections.delete(c),
      log: (level, message, fields) => this.logger[level](fields ?? {}, message),
    });
    this.connections.add(connection);
    if (this.blockedReason !== null) connection.setBlocked(this.blockedReason);
    else if (this.broker.alarms.active !== null) connection.setBlocked(this.broker.alarms.active);
  }

  /** Publishers are throttled with connection.blocked while a resource alarm is on. */
  setBlocked(reason: string | null): void {
    this.blockedReason = reason;
    for (const connection of this.connections) connection.setBlocked(reason);
  }

  /** Stops accepting, tells every client the broker is going away, and waits for the sockets. */
  async close(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of this.connections) connection.shutdown();
    const deadline = Date.now() + 3000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const connection of this.connections) connection.destroy();
    await closed;
  }
}
