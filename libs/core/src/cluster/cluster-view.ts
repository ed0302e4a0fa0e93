import type { CoreCounters } from '../metrics';

/**
 * What a node last reported of itself with its heartbeat (RabbitMQ's node figures), for the
 * management API's node list.
 */
export interface NodeFigures {
  osPid: number;
  /** Resident set size, in bytes. */
  memUsed: number;
  memLimit: number;
  memAlarm: boolean;
  diskFreeLimit: number;
  diskAlarm: boolean;
  fdUsed: number;
  fdTotal: number;
  /** Open client sessions. */
  socketsUsed: number;
  totalMemory: number;
  /**
   * The node's message counters since it started (the core's and each door's), so any node can
   * show cluster-wide message rates; absent from nodes of an older release.
   */
  counters?: NodeCounters;
}

/** A node's counters as its heartbeat carries them. */
export interface NodeCounters {
  core: CoreCounters;
  /** Per door (amqp, jobs, …), its own counters by name. */
  doors: Record<string, Record<string, number>>;
}

/** One broker node as the shared database knows it. */
export interface ClusterNode {
  name: string;
  /** Heartbeating within the node timeout. */
  running: boolean;
  /** 'running'; 'dead' once another node found it silent for the timeout; 'left' after a clean stop. */
  state: 'running' | 'dead' | 'left';
  host: string;
  /** The host's addresses, as the node saw them at start. */
  addresses: string[];
  /** The ports its doors listen on, by door (amqp, jobs, dispatch, management). */
  ports: Record<string, number>;
  /** Epoch milliseconds. */
  startedAt: number;
  lastHeartbeat: number;
  /** Null until its first heartbeat with figures. */
  figures: NodeFigures | null;
}

/**
 * The core's port to the cluster a broker belongs to (STORE=postgres): the nodes and this node's
 * own problems. Implemented outside the core (libs/cluster) and composed in by the application
 * under the CLUSTER_VIEW token; absent, the broker is a single node.
 */
export interface ClusterView {
  /** This node's name. */
  readonly localNode: string;
  /** Every node the database knows, this one included. Async: read from the database. */
  nodes(): Promise<ClusterNode[]>;
  /** Why this node is not ready (its database unreachable, …); empty when it is. */
  problems(): string[];
}

/** Nest token of the ClusterView (optional: absent on a single node). */
export const CLUSTER_VIEW = Symbol('CLUSTER_VIEW');
