import type { MessageDepthDto } from './rates.dto';

/** A virtual host, as RabbitMQ's /api/vhosts. */
export interface VhostDto extends MessageDepthDto {
  name: string;
  description: string;
  tags: string[];
  metadata: { description: string; tags: string[] };
  /** Always classic. */
  default_queue_type: string;
  /** Always false: the firehose tracer is not offered. */
  tracing: boolean;
  /** The vhost's state on each node (we are one node). */
  cluster_state: Record<string, 'running'>;
}
