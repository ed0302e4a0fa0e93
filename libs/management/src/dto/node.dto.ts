import type { ExchangeTypeDto } from './exchange.dto';

/** The broker as a node, as RabbitMQ's /api/nodes. */
export interface NodeDto {
  name: string;
  type: 'disc';
  running: boolean;
  /** The process id, as text (RabbitMQ's OS pid is a string). */
  os_pid: string;
  host: string;
  /** Resident set size, in bytes. */
  mem_used: number;
  /** The memory high watermark, in bytes. */
  mem_limit: number;
  mem_alarm: boolean;
  /** Free bytes on the working directory's file system (0 where that cannot be read). */
  disk_free: number;
  disk_free_limit: number;
  disk_free_alarm: boolean;
  fd_used: number;
  fd_total: number;
  /** Open client sessions. */
  sockets_used: number;
  proc_used: number;
  /** Milliseconds since the start. */
  uptime: number;
  /** Left out: not reported. */
  processors?: number;
  total_memory: number;
  rates_mode: 'basic';
  exchange_types: ExchangeTypeDto[];
  /** Always empty: no partitions (a cluster's nodes share one database, they cannot split). */
  partitions: string[];
  /** In a cluster (STORE=postgres): when the node last heartbeated (ISO 8601). */
  last_heartbeat?: string;
  /** In a cluster: the node's host addresses. */
  addresses?: string[];
  /** In a cluster: the ports its doors listen on, by door. */
  ports?: Record<string, number>;
}
