import { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { describeDatabaseError, isDatabaseUnavailable } from './unavailable';

export interface DatabaseOptions {
  url: string;
  /** Connections at most. */
  poolSize: number;
  /** A query (a commit included) that has not answered by then fails: a frozen server or a network black hole does not hold callers. */
  queryTimeoutMs: number;
  /** Connecting gives up after this long. */
  connectTimeoutMs: number;
  /** Shown in pg_stat_activity: which node a connection is. */
  applicationName: string;
}

/** How often an unreachable database is tried again. */
const PROBE_INTERVAL_MS = 250;

/**
 * The node's connection pool to the shared PostgreSQL, and what the node knows of its reach: a
 * query that fails because the database cannot be reached marks it unavailable (with the reason,
 * for /readyz), and from then on a probe tries it every 250 ms until it answers; listeners hear
 * both edges. pg fails fast and reconnects by itself (bench/cluster/README.md); this class adds the
 * `error` listeners pg needs (an idle client whose server goes away would otherwise end the
 * process) and the timeouts it lacks by default.
 */
export class Database {
  readonly pool: Pool;
  private downReason: string | null = null;
  private upSince = Date.now();
  private probe: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly upListeners: (() => void)[] = [];
  private readonly downListeners: ((reason: string) => void)[] = [];

  constructor(readonly options: DatabaseOptions) {
    this.pool = new Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      query_timeout: options.queryTimeoutMs,
      application_name: options.applicationName,
      keepAlive: true,
    });
    // an idle client whose connection broke: unhandled, this event ends the process
    this.pool.on('error', (error) => this.saw(error));
  }

  /** Reachable as far as the node knows (its last query did not fail for want of the database). */
  get available(): boolean {
    return this.downReason === null && !this.closed;
  }

  /** Why the database is unavailable, or null. */
  get unavailableReason(): string | null {
    return this.closed ? 'the database connection is closed' : this.downReason;
  }

  /** Milliseconds the database has been reachable without a break (0 while it is not). */
  availableFor(): number {
    return this.available ? Date.now() - this.upSince : 0;
  }

  onAvailable(listener: () => void): void {
    this.upListeners.push(listener);
  }

  onUnavailable(listener: (reason: string) => void): void {
    this.downListeners.push(listener);
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      this.saw(error);
      throw error;
    }
  }

  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled back
   * when it throws. A connection that broke meanwhile is discarded, not returned to the pool.
   */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      this.saw(error);
      throw error;
    }
    // a checked-out client's connection may break between two queries: heard here, not thrown
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
      this.saw(error);
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (isDatabaseUnavailable(error)) broken ??= error as Error;
      else if (broken === undefined) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError as Error;
        });
      }
      this.saw(error);
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** An error of a query: when it says the database is unreachable, the node stops counting on it until a probe answers. */
  saw(error: unknown): void {
    if (!isDatabaseUnavailable(error) || this.closed) return;
    const reason = describeDatabaseError(error);
    const wasUp = this.downReason === null;
    this.downReason = reason;
    if (wasUp) for (const listener of this.downListeners) listener(reason);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.probe !== null || this.closed) return;
    this.probe = setTimeout(() => {
      this.probe = null;
      this.pool.query('SELECT 1').then(
        () => this.cameBack(),
        (error: unknown) => {
          if (this.closed) return;
          this.downReason = describeDatabaseError(error);
          this.scheduleProbe();
        },
      );
    }, PROBE_INTERVAL_MS);
    this.probe.unref();
  }

  private cameBack(): void {
    if (this.downReason === null || this.closed) return;
    this.downReason = null;
    this.upSince = Date.now();
    for (const listener of this.upListeners) listener();
  }

  /** Ends every connection; the database is unavailable from now on. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probe !== null) clearTimeout(this.probe);
    await this.pool.end();
  }
}
