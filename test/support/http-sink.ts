import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the sink received. */
export interface SinkRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}

/** How the sink answers a request: a status (and headers, body, delay), or dropping the socket. */
export type SinkAnswer = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | { drop: true; delayMs?: number };

export type SinkBehaviour = (request: SinkRequest, index: number) => SinkAnswer;

/** A local HTTP server that records what it receives and answers as the test says. */
export class HttpSink {
  readonly received: SinkRequest[] = [];
  behaviour: SinkBehaviour = () => ({ status: 200, body: 'ok' });
  private readonly server: Server;
  private readonly waiters: (() => void)[] = [];

  private constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  /** `host` '::' listens on every local address (IPv4 too); url() still names 127.0.0.1. */
  static async start(port = 0, host = '127.0.0.1'): Promise<HttpSink> {
    const sink = new HttpSink();
    await new Promise<void>((resolve, reject) => {
      sink.server.once('error', reject);
      sink.server.listen(port, host, () => resolve());
    });
    return sink;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests whose path starts with `prefix`. */
  to(prefix: string): SinkRequest[] {
    return this.received.filter((r) => r.url.startsWith(prefix));
  }

  /** Resolves once `check` holds (re-checked on every request), or rejects after `timeoutMs`. */
  async waitFor(check: () => boolean, timeoutMs = 10_000, what = 'the sink'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (received ${this.received.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: SinkRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      const index = this.received.push(request) - 1;
      for (const wake of this.waiters.splice(0)) wake();
      const answer = this.behaviour(request, index);
      const respond = (): void => {
        if ('drop' in answer) {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(respond, answer.delayMs);
      else respond();
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** POSTs JSON (or raw text) and returns status and parsed JSON. */
export async function postJson(url: string, body: unknown, method = 'POST'): Promise<JsonAnswer> {
  return requestJson(url, { method, body: method === 'GET' || method === 'HEAD' ? undefined : body });
}

export interface JsonAnswer {
  status: number;
  /** The body parsed as a JSON object ({} when it is not JSON). */
  json: Record<string, unknown>;
  text: string;
}

/** One HTTP request with an optional JSON body (a string is sent as it is) and extra headers. */
export async function requestJson(url: string, options: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<JsonAnswer> {
  const { body } = options;
  const response = await fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: response.status, json, text };
}

export async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}
