import { BrokerError, ClusterNode, ClusterView, NodeFigures } from '#core';
import type { Database } from './database/database';

/** The node list and this node's problems, from the `nodes` table and the node's own state. */
export class DatabaseClusterView implements ClusterView {
  constructor(
    readonly localNode: string,
    private readonly database: Database,
    private readonly timeoutMs: number,
    private readonly ownProblems: () => (string | null)[],
  ) {}

  async nodes(): Promise<ClusterNode[]> {
    let rows: NodeRow[];
    try {
      ({ rows } = await this.database.query<NodeRow>(
        `SELECT name, state, host, addresses, ports, figures,
                (extract(epoch FROM started_at) * 1000)::float8 AS started_at,
                (extract(epoch FROM last_heartbeat) * 1000)::float8 AS last_heartbeat,
                last_heartbeat > now() - $1::float8 * interval '1 millisecond' AS fresh
         FROM nodes ORDER BY name`,
        [this.timeoutMs],
      ));
    } catch (error) {
      throw new BrokerError('store-unavailable', `the node list is in the database, which did not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
    return rows.map((row) => ({
      name: row.name,
      running: row.state === 'running' && row.fresh,
      state: row.state,
      host: row.host,
      addresses: row.addresses,
      ports: row.ports,
      startedAt: Math.round(row.started_at),
      lastHeartbeat: Math.round(row.last_heartbeat),
      figures: row.figures,
    }));
  }

  problems(): string[] {
    const problems: string[] = [];
    const database = this.database.unavailableReason;
    if (database !== null) problems.push(`the database is unavailable: ${database}`);
    for (const problem of this.ownProblems()) if (problem !== null) problems.push(problem);
    return problems;
  }
}

interface NodeRow {
  name: string;
  state: 'running' | 'dead' | 'left';
  host: string;
  addresses: string[];
  ports: Record<string, number>;
  figures: NodeFigures | null;
  started_at: number;
  last_heartbeat: number;
  fresh: boolean;
}
