import { createHash, randomUUID } from 'node:crypto';
import { wellFormed } from '#http-kit';
import { badField, DeliveryRequestError } from './delivery-errors';

/** Request headers to send: one value, or several for a repeated header. */
export type HeaderMap = Record<string, string | string[]>;

/** What a caller asked to have delivered, validated. */
export interface DeliveryRequest {
  id: string;
  url: string;
  /** The URL's host and port (lower case), as per-host limits and circuits know it. */
  host: string;
  /** The URL's host name or address alone (IPv6 without brackets), as the destination guard judges it. */
  hostname: string;
  method: string;
  headers: HeaderMap;
  body: Buffer;
  /** Per-attempt timeout; 0 = the configured default. */
  timeoutMs: number;
  /** Attempts in all before the delivery is dead; undefined = the configured default. */
  maxAttempts?: number;
  /** Deliveries with the same key go one at a time, in acceptance order. */
  orderingKey?: string;
}

const MAX_ID_BYTES = 255;
const MAX_KEY_BYTES = 255;
/** Header names are stored as field table names: AMQP short strings. */
const MAX_HEADER_NAME_BYTES = 255;
/** The longest timer Node keeps: a larger Timeout would fire at once (TimeoutOverflowWarning). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What an HTTP field value may hold (RFC 9110 field-vchar, SP, HTAB, obs-text): the HTTP client refuses anything else. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers the HTTP client sets itself and refuses from a caller: every attempt would fail. */
const REFUSED_HEADERS = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

/**
 * Reads Dispatcher's intake body `{UUID, Url, Method, Body, Header, Timeout}` (keys matched
 * case-insensitively, as Go's decoder does) plus the optional `MaxAttempts` and `OrderingKey`.
 * Every refusal names its field.
 */
export function parseDeliveryRequest(raw: Buffer | undefined): DeliveryRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw === undefined || raw.length === 0 ? '' : raw.toString('utf8'));
  } catch (error) {
    throw badField('body', `invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badField('body', 'the body must be a JSON object');
  const fields = new Map<string, unknown>();
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) fields.set(key.toLowerCase(), value);

  const id = checkId(optionalString(fields, 'uuid', 'UUID') ?? randomUUID());
  const url = optionalString(fields, 'url', 'Url');
  if (url === undefined || url === '') throw badField('Url', 'Url is required');
  const parsedUrl = checkUrl(url);
  const method = checkMethod((optionalString(fields, 'method', 'Method') ?? '').toUpperCase() || 'GET');
  const body = optionalString(fields, 'body', 'Body') ?? '';
  const headers = headersOf(fields.get('header') ?? fields.get('headers'), Buffer.byteLength(body));
  const timeout = fields.get('timeout');
  const timeoutMs = timeout === undefined || timeout === null ? 0 : checkTimeout(timeout);
  const attempts = fields.get('maxattempts');
  const maxAttempts = attempts === undefined || attempts === null ? undefined : checkMaxAttempts(attempts);
  const orderingKey = optionalString(fields, 'orderingkey', 'OrderingKey');
  if (orderingKey !== undefined) checkOrderingKey(orderingKey);
  const { host, hostname } = hostOfUrl(parsedUrl);
  const request: DeliveryRequest = { id, url, host, hostname, method, headers, body: Buffer.from(body, 'utf8'), timeoutMs };
  if (maxAttempts !== undefined) request.maxAttempts = maxAttempts;
  if (orderingKey !== undefined) request.orderingKey = orderingKey;
  return request;
}

/**
 * Why a delivery read from somewhere else than the intake (an AMQP message published to
 * amq.dispatch, its x-dispatch-* headers) would have been refused there, or null: the same rules
 * hold for every delivery, so none can fail every attempt or be impossible to store again.
 */
export function deliveryProblem(delivery: Pick<DeliveryRequest, 'id' | 'url' | 'method' | 'headers' | 'body' | 'timeoutMs' | 'maxAttempts' | 'orderingKey'>): string | null {
  try {
    checkId(delivery.id);
    checkUrl(delivery.url);
    checkMethod(delivery.method);
    headersOf(delivery.headers, delivery.body.length);
    checkTimeout(delivery.timeoutMs);
    if (delivery.maxAttempts !== undefined) checkMaxAttempts(delivery.maxAttempts);
    if (delivery.orderingKey !== undefined) checkOrderingKey(delivery.orderingKey);
    return null;
  } catch (error) {
    if (error instanceof DeliveryRequestError) return `${error.field ?? 'body'}: ${error.message}`;
    throw error;
  }
}

function checkId(id: string): string {
  if (id === '' || Buffer.byteLength(id) > MAX_ID_BYTES) throw badField('UUID', `UUID must be 1 to ${MAX_ID_BYTES} bytes`);
  return id;
}

function checkUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badField('Url', `Url '${shown(url)}' is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw badField('Url', `Url must be http or https, not '${shown(parsed.protocol.slice(0, -1))}'`);
  return parsed;
}

function checkMethod(method: string): string {
  if (!TOKEN.test(method)) throw badField('Method', `Method '${shown(method)}' is not an HTTP method`);
  if (method === 'CONNECT') throw badField('Method', 'Method CONNECT opens a tunnel; it cannot be delivered');
  return method;
}

function checkTimeout(timeout: unknown): number {
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TIMEOUT_MS) {
    throw badField('Timeout', `Timeout must be an integer of milliseconds from 0 to ${MAX_TIMEOUT_MS}`);
  }
  return timeout;
}

function checkMaxAttempts(attempts: unknown): number {
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1 || attempts > 1000) throw badField('MaxAttempts', 'MaxAttempts must be an integer from 1 to 1000');
  return attempts;
}

function checkOrderingKey(key: string): void {
  if (key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) throw badField('OrderingKey', `OrderingKey must be 1 to ${MAX_KEY_BYTES} bytes`);
}

/** Host (with port) and bare host name of a parsed URL. */
export function hostOfUrl(url: URL): { host: string; hostname: string } {
  return { host: url.host.toLowerCase(), hostname: url.hostname.replace(/^\[|\]$/g, '').toLowerCase() };
}

function optionalString(fields: Map<string, unknown>, key: string, name: string): string | undefined {
  const value = fields.get(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badField(name, `${name} must be a string`);
  return wellFormed(value);
}

/**
 * The Header object: names that are HTTP tokens of at most 255 bytes, values (a string or an array
 * of strings) that an HTTP client can send as they are. Refused, as each attempt would fail in the
 * sender: line breaks and other control characters, characters above U+00FF, the headers the client
 * manages itself (Transfer-Encoding, Keep-Alive, Upgrade, Expect), a Connection that is not a list
 * of tokens, more than one Host, and a Content-Length other than the body's.
 */
function headersOf(value: unknown, bodyBytes: number): HeaderMap {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badField('Header', 'Header must be an object of header names to strings');
  const out: HeaderMap = {};
  const seen = new Set<string>();
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    if (!TOKEN.test(name)) throw badField('Header', `header name '${shown(name)}' is not valid`);
    if (name.length > MAX_HEADER_NAME_BYTES) throw badField('Header', `header name '${shown(name)}' is longer than ${MAX_HEADER_NAME_BYTES} bytes`);
    let values: string[];
    if (typeof raw === 'string') values = [raw];
    else if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) values = raw as string[];
    else throw badField('Header', `header '${shown(name)}' must be a string or an array of strings`);
    for (const v of values) {
      if (/[\r\n\0]/.test(v)) throw badField('Header', `header '${shown(name)}' contains a line break or NUL`);
      if (!FIELD_VALUE.test(v)) throw badField('Header', `header '${shown(name)}' contains a control character or a character above U+00FF, which HTTP cannot carry`);
    }
    const lower = name.toLowerCase();
    if (REFUSED_HEADERS.has(lower)) throw badField('Header', `header '${shown(name)}' is managed by the sender and cannot be set`);
    if ((lower === 'host' || lower === 'content-length') && (seen.has(lower) || values.length !== 1)) throw badField('Header', `header '${shown(name)}' may have one value only`);
    if (lower === 'content-length' && values[0]!.trim() !== String(bodyBytes)) {
      throw badField('Header', `header '${shown(name)}' must be the body's length in bytes (${bodyBytes}) or left out`);
    }
    if (lower === 'connection' && !values.every((v) => v.split(',').every((option) => TOKEN.test(option.trim())))) {
      throw badField('Header', `header '${shown(name)}' must be a comma-separated list of tokens`);
    }
    seen.add(lower);
    out[name] = typeof raw === 'string' ? raw : values;
  }
  return out;
}

/** A name or value as an error message shows it: at most 64 characters. */
const shown = (text: string): string => (text.length > 64 ? `${text.slice(0, 64)}…` : text);

/** Identifies a request's content: the same UUID with other content is a conflict. */
export function contentHash(request: DeliveryRequest): string {
  const hash = createHash('sha256');
  hash.update(`${request.method}\n${request.url}\n${request.timeoutMs}\n${request.maxAttempts ?? ''}\n${request.orderingKey ?? ''}\n`);
  const names = Object.keys(request.headers).sort();
  for (const name of names) hash.update(`${name}:${JSON.stringify(request.headers[name])}\n`);
  hash.update(request.body);
  return hash.digest('base64url').slice(0, 22);
}
