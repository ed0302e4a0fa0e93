/**
 * The queries of RabbitMQ's own "RabbitMQ-Overview" Grafana dashboard (grafana.com 10991, as
 * shipped with RabbitMQ 4.1+), one per panel target, written out here as that dashboard builds
 * them: every series joined to `rabbitmq_identity_info` of the chosen cluster, per node where the
 * panel draws nodes, 60 s rates, the message size distribution as shares of `increase(…[$__range])`
 * of RabbitMQ's own bucket bounds, the Nodes table's uptime through `rabbitmq_build_info`. The
 * dashboard's variables stay in ($rabbitmq_cluster, $namespace, $__range, $__rate_interval) for
 * the caller to fill in as Grafana would. RabbitMQ 3.10.8 answers 40 of them; the message size and
 * uptime panels need 4.1's series.
 */
export interface DashboardQuery {
  panel: string;
  expr: string;
}

const OF_CLUSTER = 'rabbitmq_identity_info{rabbitmq_cluster="$rabbitmq_cluster", namespace="$namespace"}';
/** A series joined to its node's identity, so the cluster variable selects it and rabbitmq_node names it. */
const joined = (expr: string): string => `${expr} * on(instance, job) group_left(rabbitmq_cluster, rabbitmq_node) ${OF_CLUSTER}`;
const total = (expr: string): string => `sum(${joined(expr)})`;
const perNode = (expr: string): string => `sum(${joined(expr)}) by(rabbitmq_node)`;
const rate60 = (family: string): string => `rate(${family}[60s])`;

/** The share of published messages between two of RabbitMQ's size bounds over the dashboard's range. */
const sizeShare = (upper: string, lower: string | null): string => {
  const upTo = (le: string): string => `sum(${joined(`increase(rabbitmq_message_size_bytes_bucket{le="${le}"}[$__range])`)})`;
  return lower === null ? `${upTo(upper)} / ${upTo('+Inf')}` : `(${upTo(upper)} - ${upTo(lower)}) / ${upTo('+Inf')}`;
};
const SIZE_RANGES: [string, string, string | null][] = [
  ['0-100B', '100', null],
  ['100B-1KB', '1000', '100'],
  ['1KB-10KB', '10000', '1000'],
  ['10KB-100KB', '100000', '10000'],
  ['100KB-1MB', '1000000', '100000'],
  ['1MB-10MB', '10000000', '1000000'],
  ['10MB-50MB', '50000000', '10000000'],
  ['50MB-100MB', '100000000', '50000000'],
  ['100MB+', '+Inf', '100000000'],
];

export const RABBITMQ_OVERVIEW_QUERIES: DashboardQuery[] = [
  // the stat row
  { panel: 'Ready messages', expr: total('rabbitmq_queue_messages_ready') },
  { panel: 'Outgoing messages / s', expr: total('irate(rabbitmq_global_messages_delivered_total[$__rate_interval])') },
  { panel: 'Publishers', expr: total('rabbitmq_global_publishers') },
  { panel: 'Connections', expr: total('rabbitmq_connections') },
  { panel: 'Queues', expr: total('rabbitmq_queues') },
  { panel: 'Unacknowledged messages', expr: total('rabbitmq_queue_messages_unacked') },
  { panel: 'Incoming messages / s', expr: total('irate(rabbitmq_global_messages_received_total[$__rate_interval])') },
  { panel: 'Consumers', expr: total('rabbitmq_global_consumers') },
  { panel: 'Channels', expr: total('rabbitmq_channels') },
  { panel: 'Nodes', expr: `count(${OF_CLUSTER})` },
  // nodes
  {
    panel: 'Nodes table (uptime, versions)',
    expr: `rabbitmq_erlang_uptime_seconds * on(instance, job) group_left(rabbitmq_version, erlang_version) rabbitmq_build_info * on(instance, job) group_left(rabbitmq_cluster, rabbitmq_node) ${OF_CLUSTER}`,
  },
  { panel: 'Memory available before publishers blocked', expr: `(${joined('rabbitmq_resident_memory_limit_bytes')}) - (${joined('rabbitmq_process_resident_memory_bytes')})` },
  { panel: 'Disk space available before publishers blocked', expr: joined('rabbitmq_disk_space_available_bytes') },
  // queued messages
  { panel: 'Messages ready to be delivered to consumers', expr: perNode('rabbitmq_queue_messages_ready') },
  { panel: 'Messages pending consumer acknowledgement', expr: perNode('rabbitmq_queue_messages_unacked') },
  // incoming messages
  { panel: 'Messages published / s', expr: perNode(rate60('rabbitmq_global_messages_received_total')) },
  { panel: 'Avg Size', expr: `sum(${joined('increase(rabbitmq_message_size_bytes_sum[$__range])')}) / sum(${joined('increase(rabbitmq_message_size_bytes_count[$__range])')})` },
  ...SIZE_RANGES.map(([range, upper, lower]) => ({ panel: `Message Size Distribution ${range}`, expr: sizeShare(upper, lower) })),
  { panel: 'Messages routed to queues / s', expr: perNode(rate60('rabbitmq_global_messages_routed_total')) },
  { panel: 'Messages confirmed to publishers / s', expr: perNode(rate60('rabbitmq_global_messages_confirmed_total')) },
  { panel: 'Unroutable messages dropped / s', expr: perNode(rate60('rabbitmq_global_messages_unroutable_dropped_total')) },
  { panel: 'Unroutable messages returned / s', expr: perNode(rate60('rabbitmq_global_messages_unroutable_returned_total')) },
  {
    panel: 'Messages unconfirmed to publishers / s',
    expr: `sum(${joined(rate60('rabbitmq_global_messages_received_confirm_total'))} - ${joined(rate60('rabbitmq_global_messages_confirmed_total'))}) by(rabbitmq_node)`,
  },
  // outgoing messages
  {
    panel: 'Messages delivered / s',
    expr: `sum((${joined(rate60('rabbitmq_global_messages_delivered_consume_auto_ack_total'))}) + (${joined(rate60('rabbitmq_global_messages_delivered_consume_manual_ack_total'))})) by(rabbitmq_node)`,
  },
  { panel: 'Messages redelivered / s', expr: perNode(rate60('rabbitmq_global_messages_redelivered_total')) },
  { panel: 'Messages delivered with manual ack / s', expr: perNode(rate60('rabbitmq_global_messages_delivered_consume_manual_ack_total')) },
  { panel: 'Messages delivered auto ack / s', expr: perNode(rate60('rabbitmq_global_messages_delivered_consume_auto_ack_total')) },
  { panel: 'Messages acknowledged / s', expr: perNode(rate60('rabbitmq_global_messages_acknowledged_total')) },
  { panel: 'Polling operations with auto ack / s', expr: perNode(rate60('rabbitmq_global_messages_delivered_get_auto_ack_total')) },
  { panel: 'Polling operations that yield no result / s', expr: perNode(rate60('rabbitmq_global_messages_get_empty_total')) },
  { panel: 'Polling operations with manual ack / s', expr: perNode(rate60('rabbitmq_global_messages_delivered_get_manual_ack_total')) },
  // queues, channels, connections
  { panel: 'Total queues', expr: joined('rabbitmq_queues') },
  { panel: 'Queues declared / s', expr: perNode(rate60('rabbitmq_queues_declared_total')) },
  { panel: 'Queues created / s', expr: perNode(rate60('rabbitmq_queues_created_total')) },
  { panel: 'Queues deleted / s', expr: perNode(rate60('rabbitmq_queues_deleted_total')) },
  { panel: 'Total channels', expr: joined('rabbitmq_channels') },
  { panel: 'Channels opened / s', expr: perNode(rate60('rabbitmq_channels_opened_total')) },
  { panel: 'Channels closed / s', expr: perNode(rate60('rabbitmq_channels_closed_total')) },
  { panel: 'Total connections', expr: joined('rabbitmq_connections') },
  { panel: 'Connections opened / s', expr: perNode(rate60('rabbitmq_connections_opened_total')) },
  { panel: 'Connections closed / s', expr: perNode(rate60('rabbitmq_connections_closed_total')) },
];
