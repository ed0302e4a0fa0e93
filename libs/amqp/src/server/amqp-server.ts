import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import type { Broker, SessionRegistry, SessionSnapshot } from '#core';
import type { Logger } from '#observability';
import type { AmqpServerOptions } from '../amqp-options';
import { AmqpConnection, ConnectionContext } from '../connection/amqp-connection';
import type { Clock } from '../connection/clock';
import { DoorCounters } from './door-counters';
import { SharedReadBuffer } from './shared-read-buffer';

/** Size of the read buffer all plain-TCP connections share: at most this much is read per syscall. */
const READ_BUFFER_BYTES = 256 * 1024;

/** Longest a graceful close waits for clients to answer connection.close. */
const SHUTDOWN_GRACE_MS = 3000;

/**
 * The AMQP 0-9-1 listener and the registry of live connections, which the broker's management
 * layer lists and closes through the SessionRegistry interface.
 */
export class AmqpServer implements SessionRegistry {
  readonly door = 'amqp';
  private server: Server | null = null;
  private tlsServer: Server | null = null;
  private readonly connections = new Map<string, AmqpConnection>();
  private readonly context: ConnectionContext;
  private nextId = 0;
  private alarm: string | null = null;
  private readonly stats = new DoorCounters();
  private readonly readBuffer = new SharedReadBuffer(READ_BUFFER_BYTES);

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
      admit: (user, vhost) => this.admit(user, vhost),
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

  /** The AMQPS port, 0 when TLS is off. */
  get tlsPort(): number {
    return (this.tlsServer?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** RabbitMQ's refusal text when a login of `user` may not open a connection now (the connection limits), or null. */
  private admit(user: string, vhost: string): string | null {
    const { maxConnections, maxConnectionsPerUser } = this.options;
    // the vhost's max-connections counts this node's connections (README: vhost limits in cluster mode)
    const ofVhostLimit = this.broker.vhostLimits.limit(vhost, 'max-connections');
    if (maxConnections === 0 && maxConnectionsPerUser === 0 && ofVhostLimit === null) return null;
    let open = 0;
    let ofUser = 0;
    let inVhost = 0;
    for (const connection of this.connections.values()) {
      if (!connection.isOpen) continue;
      open++;
      if (connection.user === user) ofUser++;
      if (connection.vhost.name === vhost) inVhost++;
    }
    if (maxConnections > 0 && open >= maxConnections) return `access to vhost '${vhost}' refused for user '${user}': connection limit (${maxConnections}) is reached`;
    // RabbitMQ's text for the vhost limit is the same as for the node's (rabbit_reader's is_over_vhost_connection_limit)
    if (ofVhostLimit !== null && inVhost >= ofVhostLimit) return `access to vhost '${vhost}' refused for user '${user}': connection limit (${ofVhostLimit}) is reached`;
    if (maxConnectionsPerUser > 0 && ofUser >= maxConnectionsPerUser) {
      return `Connection refused for user '${user}': user connection limit (${maxConnectionsPerUser}) is reached`;
    }
    return null;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  listen(): Promise<number> {
    // paused on connect: accept() moves the handle to a socket reading through the shared buffer
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server = server;
    this.broker.sessions.register(this);
    const listening = listenOn(server, this.options.port, this.options.host).then(() => {
      this.logger.info({ port: this.port, host: this.options.host }, 'AMQP listener started');
    });
    const tls = this.options.tls;
    if (tls === null) return listening.then(() => this.port);
    const tlsServer = createTlsServer(
      { key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: tls.requestCert, rejectUnauthorized: tls.rejectUnauthorized },
      (socket) => this.accept(socket),
    );
    tlsServer.on('tlsClientError', (error, socket) => {
      this.logger.info({ err: error.message, remote: socket.remoteAddress }, 'AMQPS handshake failed');
    });
    this.tlsServer = tlsServer;
    return Promise.all([listening, listenOn(tlsServer, tls.port, this.options.host)]).then(() => {
      this.logger.info({ port: this.tlsPort, host: this.options.host, verifyPeer: tls.requestCert }, 'AMQPS listener started');
      return this.port;
    });
  }

  private accept(accepted: Socket | TLSSocket): void {
    const id = `amqp-${++this.nextId}`;
    let connection: AmqpConnection | null = null;
    const adopted = accepted instanceof TLSSocket ? null : this.readBuffer.adopt(accepted, (chunk) => connection?.receive(chunk));
    connection = new AmqpConnection(id, adopted ?? accepted, this.context, adopted !== null);
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
    const tlsServer = this.tlsServer;
    this.tlsServer = null;
    this.broker.sessions.unregister(this);
    const closed = Promise.all([server, tlsServer].map((s) => (s === null ? undefined : new Promise<void>((resolve) => s.close(() => resolve())))));
    for (const connection of this.connections.values()) connection.shutdown();
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const connection of this.connections.values()) connection.destroy();
    await closed;
  }
}

function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
