import { BadRequestException } from '@nestjs/common';
import { FieldTable, FieldValue, MAX_FIELD_NESTING, MAX_PROPERTY_LIST_BYTES, MessageProperties, propertiesProblem } from '#core';

/**
 * The `properties` of `POST /api/exchanges/:vhost/:name/publish` as the core's message properties,
 * checked the way RabbitMQ's management plugin reads them (rabbit_mgmt_format:to_basic_properties):
 * property names are its snake_case ones and case-sensitive, unknown names are ignored,
 * delivery_mode, priority and timestamp must be JSON integers (`not_int`), the others strings
 * (`not_string`), and headers convert to a field table (string → long string, integer → integer,
 * other number → double, boolean, object → table, array → array; null is refused). RabbitMQ
 * writes every integer as a signed 64-bit long; here one that fits 32 bits is an int32 ('I'), as
 * the core's encoder writes a JS number, so that the core (x-delay, x-match) reads plain numbers.
 *
 * Where RabbitMQ accepts a value it cannot encode and fails later (priority 300 or a timestamp of
 * -1 close every consumer with 541; headers that are not an object answer 500), we refuse it here
 * with a 400 naming the property: octets 0-255, delivery_mode 1 or 2, timestamps 0 to 2^64-1,
 * strings of at most 255 UTF-8 bytes, header names too, finite numbers, tables and arrays
 * nested at most MAX_FIELD_NESTING deep, and a property list that fits one content header frame
 * (MAX_PROPERTY_LIST_BYTES). The core checks encodability once more before anything is queued
 * (VirtualHost.publishTo), for every door.
 */
export function publishProperties(json: Record<string, unknown> | null | undefined): MessageProperties {
  const out: MessageProperties = {};
  if (json === undefined) return out;
  // the body's DTO lets null through (it is optional); RabbitMQ answers it with a 500
  if (!isJsonObject(json)) throw new BadRequestException('not_table: properties must be an object');
  for (const [field, name] of STRING_PROPERTIES) {
    const value = json[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw refused(name, 'not_string', 'must be a string');
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > 255) throw refused(name, 'too_long', `must be at most 255 bytes of UTF-8, got ${bytes}`);
    out[field] = value;
  }
  const deliveryMode = integer(json, 'delivery_mode');
  if (deliveryMode !== undefined) {
    if (deliveryMode !== 1 && deliveryMode !== 2) throw refused('delivery_mode', 'delivery_mode_unknown', `must be 1 (transient) or 2 (persistent), got ${deliveryMode}`);
    out.deliveryMode = deliveryMode;
  }
  const priority = integer(json, 'priority');
  if (priority !== undefined) {
    if (priority < 0 || priority > 255) throw refused('priority', 'out_of_range', `must be from 0 to 255, got ${priority}`);
    out.priority = priority;
  }
  const timestamp = integer(json, 'timestamp');
  if (timestamp !== undefined) {
    if (timestamp < 0 || timestamp >= TWO_64) throw refused('timestamp', 'out_of_range', `must be seconds from 0 to 2^64-1, got ${timestamp}`);
    out.timestamp = timestamp;
  }
  const headers = json.headers;
  if (headers !== undefined) {
    if (!isJsonObject(headers)) throw refused('headers', 'not_table', 'must be a JSON object of header names to values');
    out.headers = tableOf(headers, 0, 'headers');
  }
  // what is published here is for AMQP consumers: the properties must fit one content header frame
  const problem = propertiesProblem(out, MAX_PROPERTY_LIST_BYTES);
  if (problem !== null) throw new BadRequestException(`too_large: ${problem}`);
  return out;
}

const TWO_64 = 18446744073709551616;

const STRING_PROPERTIES = [
  ['contentType', 'content_type'],
  ['contentEncoding', 'content_encoding'],
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
  ['type', 'type'],
  ['userId', 'user_id'],
  ['appId', 'app_id'],
  ['clusterId', 'cluster_id'],
] as const satisfies readonly (readonly [keyof MessageProperties, string])[];

function integer(json: Record<string, unknown>, name: string): number | undefined {
  const value = json[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw refused(name, 'not_int', 'must be an integer');
  return value;
}

function tableOf(json: Record<string, unknown>, depth: number, path: string): FieldTable {
  if (depth >= MAX_FIELD_NESTING) throw refused(path, 'too_deep', `nests tables and arrays deeper than ${MAX_FIELD_NESTING} levels`);
  const table: FieldTable = {};
  for (const [key, value] of Object.entries(json)) {
    const bytes = Buffer.byteLength(key, 'utf8');
    if (bytes > 255) throw refused(path, 'too_long', `has a name of ${bytes} bytes, more than 255`);
    // a JSON key "__proto__" is a header like any other, not the table's prototype
    Object.defineProperty(table, key, { value: valueOf(value, depth, `${path}.${key}`), enumerable: true, writable: true, configurable: true });
  }
  return table;
}

function valueOf(value: unknown, depth: number, path: string): FieldValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // JSON.parse reads 1e400 as Infinity; RabbitMQ refuses such a body as not JSON
      if (!Number.isFinite(value)) throw refused(path, 'not_json', 'is not a finite number');
      return value;
    case 'object':
      if (value === null) throw refused(path, 'null_not_allowed', 'is null, which a header cannot be');
      if (Array.isArray(value)) {
        if (depth + 1 >= MAX_FIELD_NESTING) throw refused(path, 'too_deep', `nests tables and arrays deeper than ${MAX_FIELD_NESTING} levels`);
        return value.map((item: unknown, i) => valueOf(item, depth + 1, `${path}[${i}]`));
      }
      return tableOf(value as Record<string, unknown>, depth + 1, path);
    default:
      throw refused(path, 'unhandled_type', `is a ${typeof value}`);
  }
}

const isJsonObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A 400 in RabbitMQ's shape; the reason starts with RabbitMQ's error atom and names the property. */
function refused(property: string, atom: string, text: string): BadRequestException {
  const shown = property.length > 120 ? `${property.slice(0, 60)}…${property.slice(-60)}` : property;
  return new BadRequestException(`${atom}: property ${shown} ${text}`);
}
