import { Client, Notification } from 'pg';
import type { Database } from './database';

/**
 * The channels nodes NOTIFY each other on. A committed batch sends at most one notification per
 * channel (PostgresStore.notifyOnCommit coalesces them): a NOTIFY takes a global lock at commit.
 * Payloads are short texts; a listener treats a notification as "look now", never as the data
 * itself (notifications sent while a node does not listen are lost: it sweeps after reconnecting).
 */
export const CHANNELS = {
  /** A batch with definition changes committed; payload: its definition version. */
  definitions: 'broker_definitions',
  /** A node applied definition changes up to a version; payload: that version. Writers waiting for every node listen. */
  applied: 'broker_applied',
  /** Messages of shared queues became ready (added, given back, released): nodes with waiting consumers claim. */
  queues: 'broker_queues',
} as const;

const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 2000;

/**
 * The node's one LISTEN connection (not from the pool: LISTEN belongs to a session). A connection
 * that broke is dead for good (pg: `57P01` or "Connection terminated", then nothing), so this class
 * reconnects with a short back-off, LISTENs again on every channel, and tells the `onReconnect`
 * listeners, which sweep by query for what was notified meanwhile.
 */
export class Notifications {
  private client: Client | null = null;
  private readonly handlers = new Map<string, ((payload: string) => void)[]>();
  private readonly reconnectListeners: (() => void)[] = [];
  private retryMs = MIN_RETRY_MS;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;
  private connecting: Promise<void> | null = null;

  constructor(private readonly database: Database) {}

  /** Calls `handler` with the payload of every notification on `channel` (LISTENs at the next connect, or now). */
  on(channel: string, handler: (payload: string) => void): void {
    let list = this.handlers.get(channel);
    if (list === undefined) {
      this.handlers.set(channel, (list = []));
      this.client?.query(`LISTEN ${quoteChannel(channel)}`).catch((error: unknown) => this.lost(error));
    }
    list.push(handler);
  }

  /** Called after every connect but the first: look by query for what was notified while no one listened. */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** Connects and LISTENs; a failure is retried in the background (the first attempt is awaited). */
  start(): Promise<void> {
    return this.connect(false);
  }

  get listening(): boolean {
    return this.client !== null;
  }

  private connect(reconnect: boolean): Promise<void> {
    this.connecting ??= (async () => {
      const options = this.database.options;
      const client = new Client({
        connectionString: options.url,
        connectionTimeoutMillis: options.connectTimeoutMs,
        application_name: `${options.applicationName} (listen)`,
        keepAlive: true,
      });
      client.on('error', (error) => this.lost(error, client));
      client.on('end', () => this.lost(new Error('the LISTEN connection ended'), client));
      client.on('notification', (message: Notification) => this.dispatch(message));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteChannel(channel)}`);
      } catch (error) {
        client.removeAllListeners();
        client.on('error', () => {});
        void client.end().catch(() => {});
        this.lost(error);
        return;
      }
      if (this.stopped) {
        await client.end().catch(() => {});
        return;
      }
      this.client = client;
      this.retryMs = MIN_RETRY_MS;
      if (reconnect) for (const listener of this.reconnectListeners) listener();
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private dispatch(message: Notification): void {
    for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? '');
  }

  /** The connection broke (or never came): try again after the back-off. */
  private lost(error: unknown, client?: Client): void {
    this.database.saw(error);
    if (client !== undefined) {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners();
      client.on('error', () => {});
      void client.end().catch(() => {});
    }
    if (this.stopped || this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.stopped) void this.connect(true);
    }, this.retryMs);
    this.retry.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
    await this.connecting;
    const client = this.client;
    this.client = null;
    if (client !== null) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
  }
}

/** A channel name as an SQL identifier (channels here are fixed lower-case words, quoted anyway). */
function quoteChannel(channel: string): string {
  return `"${channel.replace(/"/g, '""')}"`;
}
