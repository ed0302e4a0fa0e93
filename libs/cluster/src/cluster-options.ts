/** What a node needs to join a cluster (from the configuration: STORE=postgres and its settings). */
export interface ClusterOptions {
  /** postgres://… of the database every node shares. */
  databaseUrl: string;
  /** Connections to it at most. */
  poolSize: number;
  /** This node's name, unique in the cluster. */
  nodeName: string;
  /** A node silent this long is dead; heartbeats every third of it. */
  nodeTimeoutMs: number;
  /** Looking for other nodes' changes without a notification: every this many ms. */
  pollIntervalMs: number;
  /** LISTEN/NOTIFY between nodes (false: poll only, for PgBouncer's transaction pooling). */
  notify: boolean;
}
