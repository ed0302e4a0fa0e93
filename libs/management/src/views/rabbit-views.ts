import { createHash } from 'node:crypto';
import type {
  BindingSnapshot,
  ChannelSnapshot,
  ConsumerSnapshot,
  ExchangeSnapshot,
  FieldTable,
  QueueSnapshot,
  SessionSnapshot,
  VhostSnapshot,
} from '#core';

/**
 * The core's snapshots in the JSON shapes of RabbitMQ's management plugin (field names, nesting,
 * `*_details.rate`), so its clients (rabbitmqadmin, the web UI's habits, scripts) read them as
 * they read RabbitMQ's.
 */

export type Json = Record<string, unknown>;

/** Field tables as JSON: Buffers become text, bigints numbers, nested tables objects. */
export function jsonOf(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (Array.isArray(value)) return value.map(jsonOf);
  if (value !== null && typeof value === 'object') {
    if ('value' in value && 'scale' in value) return Number((value as { value: number }).value) / 10 ** Number((value as { scale: number }).scale);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonOf(v)]));
  }
  return value;
}

export const rate = (value: number): { rate: number } => ({ rate: Math.round(value * 10) / 10 });

export const NODE_NAME = 'broker@localhost';

export function queueView(q: QueueSnapshot, rates: { messages: number; ready: number; unacked: number }, policyDefinition: Json = {}): Json {
  const messages = q.messagesReady + q.messagesUnacknowledged;
  return {
    name: q.name,
    vhost: q.vhost,
    durable: q.durable,
    auto_delete: q.autoDelete,
    exclusive: q.exclusive,
    arguments: jsonOf(q.arguments),
    node: NODE_NAME,
    type: q.type,
    state: 'running',
    policy: q.policy,
    effective_policy_definition: policyDefinition,
    consumers: q.consumers,
    exclusive_consumer_tag: null,
    memory: q.memoryBytes,
    messages,
    messages_details: rate(rates.messages),
    messages_ready: q.messagesReady,
    messages_ready_details: rate(rates.ready),
    messages_unacknowledged: q.messagesUnacknowledged,
    messages_unacknowledged_details: rate(rates.unacked),
    messages_paged_out: q.messagesPaged,
    messages_delayed: q.messagesDelayed,
    message_bytes: q.messageBytesReady + q.messageBytesUnacknowledged,
    message_bytes_ready: q.messageBytesReady,
    message_bytes_unacknowledged: q.messageBytesUnacknowledged,
    message_stats: {
      publish: q.stats.published,
      publish_details: rate(q.stats.publishRate),
      deliver_get: q.stats.delivered,
      deliver_get_details: rate(q.stats.deliverRate),
      ack: q.stats.acked,
      ack_details: rate(q.stats.ackRate),
      redeliver: q.stats.redelivered,
      redeliver_details: rate(0),
    },
    x_queue_order: q.order,
  };
}

export function exchangeView(e: ExchangeSnapshot): Json {
  return {
    name: e.name,
    vhost: e.vhost,
    type: e.type,
    durable: e.durable,
    auto_delete: e.autoDelete,
    internal: e.internal,
    arguments: jsonOf(e.arguments),
    user_who_performed_action: 'rmq-internal',
    // the delayed-message plugin's field
    ...(e.messagesDelayed === null ? {} : { messages_delayed: e.messagesDelayed }),
  };
}

/**
 * RabbitMQ's `properties_key`: the routing key (URL-encoded; `~` when empty) and, when the binding
 * has arguments, `~` and a short hash of them. It names a binding among those with the same ends.
 */
export function propertiesKey(routingKey: string, args: FieldTable): string {
  const hasArgs = Object.keys(args).length > 0;
  if (!hasArgs) return routingKey === '' ? '~' : encodeURIComponent(routingKey);
  const hash = createHash('sha1').update(JSON.stringify(sortKeys(jsonOf(args)))).digest('base64url').slice(0, 6);
  return `${encodeURIComponent(routingKey)}~${hash}`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Json)[k])]));
  }
  return value;
}

export function bindingView(b: BindingSnapshot): Json {
  return {
    source: b.source,
    vhost: b.vhost,
    destination: b.destination,
    destination_type: b.destinationKind,
    routing_key: b.routingKey,
    arguments: jsonOf(b.arguments),
    properties_key: propertiesKey(b.routingKey, b.arguments),
  };
}

const connectionName = (s: SessionSnapshot): string => String(s.details.name ?? s.id);

export function connectionView(s: SessionSnapshot, clientProperties: Json): Json {
  return {
    name: connectionName(s),
    node: NODE_NAME,
    type: 'network',
    protocol: s.door === 'amqp' ? 'AMQP 0-9-1' : s.door,
    user: s.user,
    user_who_performed_action: s.user,
    vhost: s.vhost,
    state: s.state,
    channels: s.channels.length,
    peer_host: s.details.peerHost ?? '',
    peer_port: s.details.peerPort ?? 0,
    host: s.details.host ?? '',
    port: s.details.port ?? 0,
    connected_at: s.connectedAt,
    frame_max: s.details.frameMax ?? 0,
    channel_max: s.details.channelMax ?? 0,
    timeout: s.details.heartbeat ?? 0,
    auth_mechanism: s.details.authMechanism ?? '',
    ssl: false,
    client_properties: clientProperties,
    user_provided_name: typeof clientProperties.connection_name === 'string' ? clientProperties.connection_name : undefined,
  };
}

const connectionDetails = (s: SessionSnapshot): Json => ({ name: connectionName(s), peer_host: s.details.peerHost ?? '', peer_port: s.details.peerPort ?? 0 });

export function channelView(s: SessionSnapshot, c: ChannelSnapshot): Json {
  return {
    name: `${connectionName(s)} (${c.number})`,
    node: NODE_NAME,
    number: c.number,
    user: s.user,
    vhost: s.vhost,
    state: 'running',
    connection_details: connectionDetails(s),
    consumer_count: c.consumers,
    messages_unacknowledged: c.unacknowledged,
    prefetch_count: c.prefetchCount,
    global_prefetch_count: 0,
    confirm: c.confirm,
    transactional: c.transactional,
  };
}

export function consumerView(c: ConsumerSnapshot, session: SessionSnapshot | undefined, channel: number): Json {
  return {
    consumer_tag: c.tag,
    queue: { name: c.queue, vhost: c.vhost },
    ack_required: c.ackRequired,
    exclusive: c.exclusive,
    prefetch_count: c.prefetchCount,
    arguments: jsonOf(c.arguments),
    active: c.active,
    activity_status: c.activityStatus,
    channel_details:
      session === undefined
        ? { name: c.owner ?? '', number: 0 }
        : { ...connectionDetails(session), connection_name: connectionName(session), name: `${connectionName(session)} (${channel})`, number: channel, user: session.user, node: NODE_NAME },
  };
}

export function vhostView(v: VhostSnapshot, rates: { messages: number; ready: number; unacked: number }): Json {
  return {
    name: v.name,
    description: v.name === '/' ? 'Default virtual host' : '',
    tags: [],
    metadata: { description: v.name === '/' ? 'Default virtual host' : '', tags: [] },
    default_queue_type: 'classic',
    tracing: false,
    cluster_state: { [NODE_NAME]: 'running' },
    messages: v.messagesReady + v.messagesUnacknowledged,
    messages_details: rate(rates.messages),
    messages_ready: v.messagesReady,
    messages_ready_details: rate(rates.ready),
    messages_unacknowledged: v.messagesUnacknowledged,
    messages_unacknowledged_details: rate(rates.unacked),
  };
}
