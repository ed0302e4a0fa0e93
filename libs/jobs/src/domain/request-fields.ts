import { wellFormed } from '#http-kit';
import { badRequest, missingMessage } from './job-errors';
import { DEFAULT_LANE, DEFAULT_PRIORITY, MAX_PRIORITY } from '../jobs-options';

/**
 * The fields of a JSON request body, read the way Go's encoding/json (dispenserd) reads them:
 * an exact key wins, otherwise keys match case-insensitively.
 */
export class RequestFields {
  /** Whether some key has capitals (only then can a name match a key other than itself); read once, at the first miss. */
  private foldedKeys: boolean | undefined;

  private constructor(private readonly object: Record<string, unknown>) {}

  /** Parses a body; `null` when it is not a JSON object (invalid JSON, array, scalar). Empty body = {}. */
  static parse(body: Buffer | string | undefined): RequestFields | null {
    const text = body === undefined ? '' : typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return new RequestFields({});
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return null;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    return new RequestFields(parsed as Record<string, unknown>);
  }

  /** The fields of a value inside a body (a batch's job); `null` when it is not an object. */
  static of(value: unknown): RequestFields | null {
    return value === null || typeof value !== 'object' || Array.isArray(value) ? null : new RequestFields(value as Record<string, unknown>);
  }

  static empty(): RequestFields {
    return new RequestFields({});
  }

  /** A field by its lower-case name. */
  get(name: string): unknown {
    if (Object.prototype.hasOwnProperty.call(this.object, name)) return this.object[name];
    // most bodies spell every key in lower case: a miss is then a miss, without walking the keys for each optional field
    this.foldedKeys ??= Object.keys(this.object).some((key) => key !== key.toLowerCase());
    if (!this.foldedKeys) return undefined;
    for (const key of Object.keys(this.object)) if (key.toLowerCase() === name) return this.object[key];
    return undefined;
  }

  has(name: string): boolean {
    const value = this.get(name);
    return value !== undefined && value !== null;
  }
}

const MAX_LANE_BYTES = 200;

/** A lane name: default `main`; otherwise a non-empty string of at most 200 bytes. */
export function laneOf(fields: RequestFields): string {
  const lane = fields.get('lane');
  if (lane === undefined || lane === null || lane === '') return DEFAULT_LANE;
  if (typeof lane !== 'string') throw badRequest('lane must be a string');
  if (Buffer.byteLength(lane) > MAX_LANE_BYTES) throw badRequest(`lane must be at most ${MAX_LANE_BYTES} bytes`);
  if (/[\u0000-\u001f]/.test(lane)) throw badRequest('lane must not contain control characters');
  return wellFormed(lane);
}

/** The job message: required; a string (dispenserd silently stores other types as ""; we refuse them). */
export function messageOf(fields: RequestFields): string {
  const message = fields.get('message');
  if (message === undefined || message === null) throw missingMessage();
  if (typeof message !== 'string') throw badRequest('message must be a string');
  return message;
}

/** Priority 0..4294967295, default 512; anything else is refused (dispenserd coerces it to 0). */
export function priorityOf(fields: RequestFields): number {
  const priority = fields.get('priority');
  if (priority === undefined || priority === null) return DEFAULT_PRIORITY;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) {
    throw badRequest(`priority must be an integer from 0 to ${MAX_PRIORITY}`);
  }
  return priority;
}

/** Longest delay a job may be given (delay_ms, run_at, a delayed release). */
const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;

/** A non-negative integer number of milliseconds, or undefined when absent. */
export function millisecondsOf(fields: RequestFields, name: string, max = MAX_DELAY_MS): number | undefined {
  const value = fields.get(name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw badRequest(`${name} must be an integer number of milliseconds from 0 to ${max}`);
  }
  return value;
}

/**
 * `run_at`: RFC 3339 text or epoch milliseconds, at most as far ahead as `delay_ms` may reach (a
 * time past what a Date holds made every later lookup of the job fail).
 */
export function runAtOf(fields: RequestFields, now = Date.now()): number | undefined {
  const value = fields.get('run_at');
  if (value === undefined || value === null) return undefined;
  let time = Number.NaN;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) time = value;
  else if (typeof value === 'string') time = Date.parse(value);
  if (Number.isNaN(time)) throw badRequest('run_at must be an RFC 3339 time or epoch milliseconds');
  if (time > now + MAX_DELAY_MS) throw badRequest(`run_at must be at most ${MAX_DELAY_MS / 86_400_000} days ahead`);
  return time;
}

export function booleanOf(fields: RequestFields, name: string): boolean {
  const value = fields.get(name);
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw badRequest(`${name} must be true or false`);
  return value;
}

export function stringOf(fields: RequestFields, name: string, maxBytes = 256): string | undefined {
  const value = fields.get(name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '' || Buffer.byteLength(value) > maxBytes) {
    throw badRequest(`${name} must be a non-empty string of at most ${maxBytes} bytes`);
  }
  return wellFormed(value);
}

/** Most jobs one schedule adds or one receive hands out, and most leases one /ack settles (a batch). */
export const MAX_BATCH = 1000;

/** `count` of a batch receive: 1…MAX_BATCH, or undefined for a classic one-job receive. */
export function countOf(fields: RequestFields): number | undefined {
  const value = fields.get('count');
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_BATCH) {
    throw badRequest(`count must be an integer from 1 to ${MAX_BATCH}`);
  }
  return value;
}

/** `jobs` of a batch schedule: 1…MAX_BATCH objects, each a schedule's fields; undefined when absent. */
export function jobListOf(fields: RequestFields): RequestFields[] | undefined {
  const value = fields.get('jobs');
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BATCH) {
    throw badRequest(`jobs must be an array of 1 to ${MAX_BATCH} jobs`);
  }
  return value.map((item: unknown, index) => {
    const job = RequestFields.of(item);
    if (job === null) throw badRequest(`jobs[${index}] must be an object with a message`);
    return job;
  });
}

/** A list of 1…MAX_BATCH distinct non-empty strings (lease ids), or undefined when absent. */
export function stringListOf(fields: RequestFields, name: string, maxBytes = 256): string[] | undefined {
  const value = fields.get(name);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BATCH) {
    throw badRequest(`${name} must be an array of 1 to ${MAX_BATCH} strings`);
  }
  const seen = new Set<string>();
  for (const item of value as unknown[]) {
    if (typeof item !== 'string' || item === '' || Buffer.byteLength(item) > maxBytes) {
      throw badRequest(`${name} must hold non-empty strings of at most ${maxBytes} bytes`);
    }
    seen.add(wellFormed(item));
  }
  return [...seen];
}

export function jobNumOf(fields: RequestFields): number {
  const value = fields.get('job_num');
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw badRequest('job_num must be a positive integer');
  }
  return value;
}
