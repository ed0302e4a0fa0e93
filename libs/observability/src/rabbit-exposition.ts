import { Broker, MESSAGE_SIZE_BOUNDS, QueueSnapshot } from '#core';

/**
 * The metric families of `rabbitmq_prometheus` where they mean the same here, written as text in
 * one pass over the broker's snapshots (no per-message cost, and 10,000 queues stay cheap), so
 * existing RabbitMQ Grafana dashboards light up. Aggregated on /metrics, per object on
 * /metrics/per-object, as RabbitMQ does. Our own families (broker_*) are written here too when
 * they are per queue.
 */

export const RABBITMQ_VERSION = '3.12.0';
const PROTOCOL = 'protocol="amqp091"';
const CLASSIC = `${PROTOCOL},queue_type="rabbit_classic_queue"`;

const MESSAGE_SIZE_BUCKETS = MESSAGE_SIZE_BOUNDS;

class Writer {
  private readonly parts: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram' | 'untyped', help: string): this {
    this.parts.push(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);
    return this;
  }

  sample(name: string, value: number, labels = ''): this {
    this.parts.push(labels === '' ? `${name} ${value}\n` : `${name}{${labels}} ${value}\n`);
    return this;
  }

  /** One sample per label set: `name{labels} value` lines, built in one string. */
  lines(name: string, labels: readonly string[], values: readonly number[]): this {
    let out = '';
    for (let i = 0; i < labels.length; i++) out += name + labels[i] + values[i] + '\n';
    this.parts.push(out);
    return this;
  }

  text(): string {
    return this.parts.join('');
  }
}

const NEEDS_ESCAPE = /[\\\n"]/;
const escape = (value: string): string => (NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value);

interface QueueFamily {
  name: string;
  help: string;
  read: (q: QueueSnapshot) => number;
}

const QUEUE_FAMILIES: QueueFamily[] = [
  { name: 'rabbitmq_queue_messages_ready', help: 'Messages ready to be delivered to consumers', read: (q) => q.messagesReady },
  { name: 'rabbitmq_queue_messages_unacked', help: 'Messages delivered to consumers but not yet acknowledged', read: (q) => q.messagesUnacknowledged },
  { name: 'rabbitmq_queue_messages', help: 'Sum of ready and unacknowledged messages - total queue depth', read: (q) => q.messagesReady + q.messagesUnacknowledged },
  { name: 'rabbitmq_queue_messages_ready_bytes', help: 'Size in bytes of ready messages', read: (q) => q.messageBytesReady },
  { name: 'rabbitmq_queue_messages_unacked_bytes', help: 'Size in bytes of all unacknowledged messages', read: (q) => q.messageBytesUnacknowledged },
  { name: 'rabbitmq_queue_messages_bytes', help: 'Size in bytes of ready and unacknowledged messages', read: (q) => q.messageBytesReady + q.messageBytesUnacknowledged },
  { name: 'rabbitmq_queue_messages_paged_out', help: 'Messages paged out to disk', read: (q) => q.messagesPaged },
  { name: 'rabbitmq_queue_consumers', help: 'Consumers on a queue', read: (q) => q.consumers },
  { name: 'rabbitmq_queue_messages_published_total', help: 'Total number of messages published to queues', read: (q) => q.stats.published },
];

/** Our own per-queue families (kept on /metrics for dashboards written for this broker). */
const OWN_QUEUE_FAMILIES: QueueFamily[] = [
  { name: 'broker_queue_messages_ready', help: 'Messages ready for delivery', read: (q) => q.messagesReady },
  { name: 'broker_queue_messages_unacked', help: 'Messages delivered and not yet settled', read: (q) => q.messagesUnacknowledged },
  { name: 'broker_queue_messages_delayed', help: 'Messages waiting for their not-before time', read: (q) => q.messagesDelayed },
  { name: 'broker_queue_messages_paged', help: 'Ready messages kept only in the store (beyond the memory budget)', read: (q) => q.messagesPaged },
  { name: 'broker_queue_consumers', help: 'Consumers attached to the queue', read: (q) => q.consumers },
];

export interface ExpositionOptions {
  perObject: boolean;
  /** With perObject: only these vhosts (RabbitMQ's /metrics/detailed?vhost=…). */
  vhosts?: string[];
  /** Add our own per-queue families (the /metrics page). */
  ownQueueFamilies: boolean;
}

export function renderRabbitFamilies(broker: Broker, options: ExpositionOptions): string {
  const w = new Writer();
  const snapshot = broker.snapshot();
  const counters = snapshot.counters;
  const amqp = broker.sessions.counters().amqp ?? {};
  const sessions = broker.sessions.list().filter((s) => s.vhost !== null && s.state !== 'closed');
  const channels = sessions.reduce((n, s) => n + s.channels.length, 0);
  const publishers = sessions.reduce((n, s) => n + s.channels.filter((c) => c.publishes > 0).length, 0);

  w.family('rabbitmq_identity_info', 'untyped', 'RabbitMQ node & cluster identity info').sample(
    'rabbitmq_identity_info',
    1,
    'rabbitmq_node="broker@localhost",rabbitmq_cluster="broker@localhost",rabbitmq_cluster_permanent_id="unified-broker"',
  );
  w.family('rabbitmq_build_info', 'untyped', 'RabbitMQ & Erlang/OTP version info').sample(
    'rabbitmq_build_info',
    1,
    `rabbitmq_version="${RABBITMQ_VERSION}",prometheus_plugin_version="${RABBITMQ_VERSION}",prometheus_client_version="node",erlang_version="${escape(process.version)}"`,
  );
  const gauge = (name: string, help: string, value: number): void => void w.family(name, 'gauge', help).sample(name, value);
  const counter = (name: string, help: string, value: number, labels = ''): void => void w.family(name, 'counter', help).sample(name, value, labels);
  gauge('rabbitmq_connections', 'Connections currently open', sessions.length);
  gauge('rabbitmq_channels', 'Channels currently open', channels);
  gauge('rabbitmq_consumers', 'Consumers currently connected', snapshot.vhosts.reduce((n, v) => n + v.consumers, 0));
  gauge('rabbitmq_queues', 'Queues available', snapshot.vhosts.reduce((n, v) => n + v.queues, 0));
  counter('rabbitmq_connections_opened_total', 'Total number of connections opened', amqp.connectionsOpened ?? 0);
  counter('rabbitmq_connections_closed_total', 'Total number of connections closed or terminated', amqp.connectionsClosed ?? 0);
  counter('rabbitmq_channels_opened_total', 'Total number of channels opened', amqp.channelsOpened ?? 0);
  counter('rabbitmq_channels_closed_total', 'Total number of channels closed', amqp.channelsClosed ?? 0);
  counter('rabbitmq_queues_declared_total', 'Total number of queues declared', counters.queuesDeclared);
  counter('rabbitmq_queues_created_total', 'Total number of queues created', counters.queuesCreated);
  counter('rabbitmq_queues_deleted_total', 'Total number of queues deleted', counters.queuesDeleted);

  const returned = amqp.returned ?? 0;
  counter('rabbitmq_global_messages_received_total', 'Total number of messages received from publishers', counters.published, PROTOCOL);
  counter('rabbitmq_global_messages_received_confirm_total', 'Total number of messages received from publishers expecting confirmations', amqp.receivedConfirm ?? 0, PROTOCOL);
  counter('rabbitmq_global_messages_routed_total', 'Total number of messages routed to queues or streams', counters.published - counters.unroutable, PROTOCOL);
  counter('rabbitmq_global_messages_unroutable_dropped_total', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable', Math.max(0, counters.unroutable - returned), PROTOCOL);
  counter('rabbitmq_global_messages_unroutable_returned_total', 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable', returned, PROTOCOL);
  counter('rabbitmq_global_messages_confirmed_total', 'Total number of messages confirmed to publishers', amqp.confirmed ?? 0, PROTOCOL);
  counter('rabbitmq_global_messages_delivered_total', 'Total number of messages delivered to consumers', counters.delivered, CLASSIC);
  counter('rabbitmq_global_messages_delivered_consume_auto_ack_total', 'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment', counters.deliveredAutoAck, CLASSIC);
  counter('rabbitmq_global_messages_delivered_consume_manual_ack_total', 'Total number of messages delivered to consumers using basic.consume with manual acknowledgment', counters.deliveredManualAck, CLASSIC);
  counter('rabbitmq_global_messages_delivered_get_auto_ack_total', 'Total number of messages delivered to consumers using basic.get with automatic acknowledgment', counters.fetchedAutoAck, CLASSIC);
  counter('rabbitmq_global_messages_delivered_get_manual_ack_total', 'Total number of messages delivered to consumers using basic.get with manual acknowledgment', counters.fetchedManualAck, CLASSIC);
  counter('rabbitmq_global_messages_redelivered_total', 'Total number of messages redelivered to consumers', counters.redelivered, CLASSIC);
  counter('rabbitmq_global_messages_acknowledged_total', 'Total number of messages acknowledged by consumers', counters.acked, CLASSIC);
  counter('rabbitmq_global_messages_get_empty_total', 'Total number of times basic.get operations fetched no message', counters.fetchedEmpty, CLASSIC);
  w.family('rabbitmq_global_publishers', 'gauge', 'Current number of publishers').sample('rabbitmq_global_publishers', publishers, PROTOCOL);
  w.family('rabbitmq_global_consumers', 'gauge', 'Current number of consumers').sample('rabbitmq_global_consumers', snapshot.vhosts.reduce((n, v) => n + v.consumers, 0), PROTOCOL);

  // the Overview dashboard's Nodes table reads the uptime from this family (ours: the process's)
  gauge('rabbitmq_erlang_uptime_seconds', 'Node uptime', Math.round(process.uptime()));
  gauge('rabbitmq_process_resident_memory_bytes', 'Memory used in bytes', process.memoryUsage.rss());
  gauge('rabbitmq_resident_memory_limit_bytes', 'Memory high watermark in bytes', broker.alarms.memoryLimit);
  gauge('rabbitmq_disk_space_available_bytes', 'Disk space available in bytes', Math.max(0, broker.alarms.diskFree));
  gauge('rabbitmq_disk_space_available_limit_bytes', 'Free disk space low watermark in bytes', broker.alarms.diskFreeLimit);
  gauge('rabbitmq_process_open_fds', 'Open file descriptors', broker.alarms.openFds());
  gauge('rabbitmq_process_max_fds', 'Open file descriptors limit', broker.alarms.maxFds());
  gauge('rabbitmq_alarms_memory_used_watermark', 'is 1 if VM memory watermark alarm is in effect', snapshot.alarm?.startsWith('memory') ? 1 : 0);
  gauge('rabbitmq_alarms_free_disk_space_watermark', 'is 1 if free disk space watermark alarm is in effect', snapshot.alarm?.startsWith('disk') ? 1 : 0);

  const sizes = broker.metrics.messageSizes;
  w.family('rabbitmq_message_size_bytes', 'histogram', 'Size of messages received from publishers');
  let cumulative = 0;
  for (let i = 0; i < MESSAGE_SIZE_BUCKETS.length; i++) {
    cumulative += sizes[i] ?? 0;
    w.sample('rabbitmq_message_size_bytes_bucket', cumulative, `${PROTOCOL},le="${MESSAGE_SIZE_BUCKETS[i]}"`);
  }
  cumulative += sizes[MESSAGE_SIZE_BUCKETS.length] ?? 0;
  w.sample('rabbitmq_message_size_bytes_bucket', cumulative, `${PROTOCOL},le="+Inf"`);
  w.sample('rabbitmq_message_size_bytes_count', cumulative, PROTOCOL);
  w.sample('rabbitmq_message_size_bytes_sum', broker.metrics.messageSizeSum, PROTOCOL);

  // queues: one snapshot each, every family from it
  const wantedVhosts = options.vhosts ?? broker.vhostNames();
  const queues: QueueSnapshot[] = [];
  for (const name of wantedVhosts) {
    const vhost = broker.vhost(name);
    if (vhost !== undefined) queues.push(...vhost.queueSnapshots());
  }
  // the label set of each queue, built once and shared by every family
  let labels: string[] | null = null;
  const emit = (families: QueueFamily[], labelled: boolean): void => {
    if (labelled && labels === null) labels = queues.map((q) => `{vhost="${escape(q.vhost)}",queue="${escape(q.name)}"} `);
    for (const family of families) {
      w.family(family.name, family.name.endsWith('_total') ? 'counter' : 'gauge', family.help);
      if (labelled) w.lines(family.name, labels!, queues.map(family.read));
      else w.sample(family.name, queues.reduce((n, q) => n + family.read(q), 0));
    }
  };
  emit(QUEUE_FAMILIES, options.perObject);
  if (options.ownQueueFamilies) emit(OWN_QUEUE_FAMILIES, true);
  return w.text();
}
