import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { FastConnection, FastConnectionOptions, FastRoute } from './fast-connection';

export interface FastPathOptions {
  keepAliveTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Larger bodies (and longer heads) go to Node's HTTP server. */
  maxBodyBytes?: number;
  maxHeaderBytes?: number;
}

/**
 * A fast path in front of a door's Node HTTP server (the one Fastify runs on): connections start
 * on a lean parser that answers the door's hot routes itself, and move to Node's parser, with
 * every byte not yet parsed, at the first request that is anything else. The server keeps
 * listening, its timeouts and TLS as configured; only its connection listener is wrapped.
 */
export class FastPath {
  private readonly connections = new Set<FastConnection>();
  private readonly options: FastConnectionOptions;
  private closing = false;

  private constructor(routes: ReadonlyMap<string, FastRoute>, options: FastPathOptions) {
    this.options = {
      routes,
      paths: new Set(routes.keys()),
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      headersTimeoutMs: options.headersTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
      maxHeaderBytes: options.maxHeaderBytes ?? 16 * 1024,
    };
  }

  /**
   * Wraps the server's connection listener ('secureConnection' under TLS). Returns null, leaving
   * the server as it was, when that listener is not where Node puts it.
   */
  static install(server: HttpServer | HttpsServer, secure: boolean, routes: ReadonlyMap<string, FastRoute>, options: FastPathOptions): FastPath | null {
    const event = secure ? 'secureConnection' : 'connection';
    const listeners = server.listeners(event) as ((socket: Socket) => void)[];
    const node = listeners.find((listener) => listener.name === 'connectionListener');
    if (node === undefined) return null;
    const path = new FastPath(routes, options);
    server.removeListener(event, node);
    const handOver = (socket: Socket): void => node.call(server, socket);
    server.prependListener(event, (socket: Socket) => {
      if (path.closing) {
        handOver(socket);
        return;
      }
      path.connections.add(new FastConnection(socket, path.options, handOver, (c) => path.connections.delete(c)));
    });
    return path;
  }

  /** Shutdown: idle connections close now, the others once their answers are written. */
  close(): void {
    this.closing = true;
    for (const connection of this.connections) connection.finish();
  }

  /** The grace period is over: cut what is left. */
  destroyAll(): void {
    for (const connection of this.connections) connection.destroy();
  }
}
