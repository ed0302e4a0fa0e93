import { createHash } from 'node:crypto';
import { Decimal, TypedValue } from '#core';
import type {
  BindingSnapshot,
  ChannelSnapshot,
  ConsumerSnapshot,
  ExchangeSnapshot,
  FieldTable,
  FieldValue,
  MessageProperties,
  PermissionDefinition,
  Policy,
  QueueSnapshot,
  SessionSnapshot,
  UserDefinition,
  VhostSnapshot,
} from '#core';
import type { BindingDto, MessagePropertiesDto, ChannelDto, ConnectionDetailsDto, ConnectionDto, ConsumerDto, ExchangeDto, GlobalMessageStatsDto, JsonObject, JsonValue, MessageDepthDto, PermissionDto, PolicyDto, QueueDto, RateDetails, UserDto, VhostDto } from '../dto';
import { DepthRates, GLOBAL_COUNTERS, GlobalCounter } from '../rates/rate-sampler';

/**
 * The core's snapshots in the JSON shapes of RabbitMQ's management plugin (field names, nesting,
 * `*_details.rate`), so its clients (rabbitmqadmin, the web UI's habits, scripts) read them as
 * they read RabbitMQ's. The shapes themselves are the DTOs in ../dto.
 */

/**
 * A field value as JSON: Buffers become text, bigints and decimals numbers, timestamps seconds,
 * explicitly typed values (a dead-letter count is a long) their value, nested tables objects.
 */
export function jsonOf(value: FieldValue): JsonValue | undefined {
  if (value === undefined || value === null) return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (value instanceof Decimal) return value.value / 10 ** value.scale;
  if (value instanceof TypedValue) return jsonOf(value.value);
  // JSON has no undefined in arrays: JSON.stringify would write null anyway
  if (Array.isArray(value)) return value.map((item) => jsonOf(item) ?? null);
  if (typeof value === 'object') return jsonTableOf(value);
  return value;
}

/** A field table (arguments, headers) as a JSON object. */
export function jsonTableOf(table: FieldTable): JsonObject {
  return Object.fromEntries(Object.entries(table).map(([key, value]) => [key, jsonOf(value)]));
}

export const rate = (value: number): RateDetails => ({ rate: Math.round(value * 10) / 10 });

/** Ready and unacknowledged counts with their rates, in RabbitMQ's order. */
export const depthView = (ready: number, unacked: number, rates: DepthRates): MessageDepthDto => ({
  messages: ready + unacked,
  messages_details: rate(rates.messages),
  messages_ready: ready,
  messages_ready_details: rate(rates.ready),
  messages_unacknowledged: unacked,
  messages_unacknowledged_details: rate(rates.unacked),
});

/** The broker's counters with their rates, each count followed by its `_details`. */
export function globalMessageStatsView(counters: Record<GlobalCounter, number>, rateOf: (name: GlobalCounter) => number): GlobalMessageStatsDto {
  const entries = GLOBAL_COUNTERS.flatMap((name) => [
    [name, counters[name]],
    [`${name}_details`, rate(rateOf(name))],
  ]);
  // a mapped type over GLOBAL_COUNTERS: the entries above are exactly its keys
  return Object.fromEntries(entries) as GlobalMessageStatsDto;
}

export const NODE_NAME = 'broker@localhost';

export function queueView(q: QueueSnapshot, rates: DepthRates, policyDefinition: JsonObject = {}): QueueDto {
  return {
    name: q.name,
    vhost: q.vhost,
    durable: q.durable,
    auto_delete: q.autoDelete,
    exclusive: q.exclusive,
    arguments: jsonTableOf(q.arguments),
    node: NODE_NAME,
    type: q.type,
    state: 'running',
    policy: q.policy,
    effective_policy_definition: policyDefinition,
    consumers: q.consumers,
    exclusive_consumer_tag: null,
    memory: q.memoryBytes,
    ...depthView(q.messagesReady, q.messagesUnacknowledged, rates),
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

export function exchangeView(e: ExchangeSnapshot): ExchangeDto {
  return {
    name: e.name,
    vhost: e.vhost,
    type: e.type,
    durable: e.durable,
    auto_delete: e.autoDelete,
    internal: e.internal,
    arguments: jsonTableOf(e.arguments),
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
  const hash = createHash('sha1').update(JSON.stringify(sortKeys(jsonTableOf(args)))).digest('base64url').slice(0, 6);
  return `${encodeURIComponent(routingKey)}~${hash}`;
}

function sortKeys(value: JsonValue | undefined): JsonValue | undefined {
  if (Array.isArray(value)) return value.map((item) => sortKeys(item) ?? null);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

export function bindingView(b: BindingSnapshot): BindingDto {
  return {
    source: b.source,
    vhost: b.vhost,
    destination: b.destination,
    destination_type: b.destinationKind,
    routing_key: b.routingKey,
    arguments: jsonTableOf(b.arguments),
    properties_key: propertiesKey(b.routingKey, b.arguments),
  };
}

const connectionName = (s: SessionSnapshot): string => String(s.details.name ?? s.id);

/** A door's session detail as text or as a number, as RabbitMQ's field is (the AMQP door sets them so). */
const textDetail = (s: SessionSnapshot, key: string): string => {
  const value = s.details[key];
  return typeof value === 'string' ? value : '';
};
const numberDetail = (s: SessionSnapshot, key: string): number => {
  const value = s.details[key];
  return typeof value === 'number' ? value : 0;
};

export function connectionView(s: SessionSnapshot): ConnectionDto {
  // the core promises plain JSON here (the door converted its field table)
  const clientProperties = s.clientProperties as JsonObject;
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
    peer_host: textDetail(s, 'peerHost'),
    peer_port: numberDetail(s, 'peerPort'),
    host: textDetail(s, 'host'),
    port: numberDetail(s, 'port'),
    connected_at: s.connectedAt,
    frame_max: numberDetail(s, 'frameMax'),
    channel_max: numberDetail(s, 'channelMax'),
    timeout: numberDetail(s, 'heartbeat'),
    auth_mechanism: textDetail(s, 'authMechanism'),
    ssl: false,
    client_properties: clientProperties,
    user_provided_name: typeof clientProperties.connection_name === 'string' ? clientProperties.connection_name : undefined,
  };
}

const connectionDetails = (s: SessionSnapshot): ConnectionDetailsDto => ({ name: connectionName(s), peer_host: textDetail(s, 'peerHost'), peer_port: numberDetail(s, 'peerPort') });

export function channelView(s: SessionSnapshot, c: ChannelSnapshot): ChannelDto {
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

export function consumerView(c: ConsumerSnapshot, session: SessionSnapshot | undefined, channel: number): ConsumerDto {
  return {
    consumer_tag: c.tag,
    queue: { name: c.queue, vhost: c.vhost },
    ack_required: c.ackRequired,
    exclusive: c.exclusive,
    prefetch_count: c.prefetchCount,
    arguments: jsonTableOf(c.arguments),
    active: c.active,
    activity_status: c.activityStatus,
    channel_details:
      session === undefined
        ? { name: c.owner ?? '', number: 0 }
        : { ...connectionDetails(session), connection_name: connectionName(session), name: `${connectionName(session)} (${channel})`, number: channel, user: session.user, node: NODE_NAME },
  };
}

export function vhostView(v: VhostSnapshot, rates: DepthRates): VhostDto {
  const description = v.name === '/' ? 'Default virtual host' : '';
  return {
    name: v.name,
    description,
    tags: [],
    metadata: { description, tags: [] },
    default_queue_type: 'classic',
    tracing: false,
    cluster_state: { [NODE_NAME]: 'running' },
    ...depthView(v.messagesReady, v.messagesUnacknowledged, rates),
  };
}

export function userView(user: UserDefinition): UserDto {
  return { name: user.name, password_hash: user.passwordHash, hashing_algorithm: user.hashingAlgorithm ?? 'bcrypt', tags: user.tags, limits: {} };
}

/** The five fields, whatever else a stored permission carries (an import keeps what it was given). */
export function permissionView(p: PermissionDefinition): PermissionDto {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read };
}

export function policyView(p: Policy): PolicyDto {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition, priority: p.priority };
}

/** A message's properties as RabbitMQ's management JSON shows them (only those set). */
export function messagePropertiesView(p: MessageProperties): MessagePropertiesDto {
  const out: MessagePropertiesDto = {};
  if (p.contentType !== undefined) out.content_type = p.contentType;
  if (p.contentEncoding !== undefined) out.content_encoding = p.contentEncoding;
  if (p.deliveryMode !== undefined) out.delivery_mode = p.deliveryMode;
  if (p.priority !== undefined) out.priority = p.priority;
  if (p.correlationId !== undefined) out.correlation_id = p.correlationId;
  if (p.replyTo !== undefined) out.reply_to = p.replyTo;
  if (p.expiration !== undefined) out.expiration = p.expiration;
  if (p.messageId !== undefined) out.message_id = p.messageId;
  if (p.timestamp !== undefined) out.timestamp = p.timestamp;
  if (p.type !== undefined) out.type = p.type;
  if (p.userId !== undefined) out.user_id = p.userId;
  if (p.appId !== undefined) out.app_id = p.appId;
  if (p.headers !== undefined) out.headers = jsonTableOf(p.headers);
  return out;
}
