import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { BrokerConfig } from './broker-config';

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

type Source = Record<string, unknown>;
/** Keys only the JSON file can carry (structured values). */
export const FILE_ONLY_KEYS = new Set<string>(['users', 'tokens']);
const KNOWN_KEYS = new Set<string>([...Object.keys(new BrokerConfig()), 'CONFIG_FILE']);
const ENV_KEYS = [...KNOWN_KEYS].filter((key) => !FILE_ONLY_KEYS.has(key));

function readConfigFile(path: string): Source {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`CONFIG_FILE: cannot read '${path}': ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`CONFIG_FILE: '${path}' is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigurationError(`CONFIG_FILE: '${path}' must hold a JSON object`);
  }
  return parsed as Source;
}

function describe(errors: ValidationError[]): string {
  return errors
    .map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')} (got ${JSON.stringify(e.value)})`)
    .join(', ');
}

/**
 * Builds the validated configuration from environment-style variables and, when CONFIG_FILE is
 * set, a JSON file with the same keys (variables win). Throws ConfigurationError naming the key.
 */
export function loadBrokerConfig(env: Source = process.env): BrokerConfig {
  const fromEnv: Source = {};
  for (const key of ENV_KEYS) if (env[key] !== undefined && env[key] !== '') fromEnv[key] = env[key];
  const configFile = typeof fromEnv.CONFIG_FILE === 'string' ? fromEnv.CONFIG_FILE : undefined;
  const fromFile = configFile ? readConfigFile(configFile) : {};
  const merged: Source = dispenserdKeys(fromFile);
  for (const [key, value] of Object.entries(fromFile)) if (KNOWN_KEYS.has(key) || FILE_ONLY_KEYS.has(key)) merged[key] = value;
  Object.assign(merged, fromEnv);
  const config = plainToInstance(BrokerConfig, merged);
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) throw new ConfigurationError(`Invalid configuration: ${describe(errors)}`);
  checkTls(config);
  checkStore(config);
  for (const [token, user] of Object.entries(config.tokens ?? {})) {
    if (typeof user !== 'string' || user === '' || token.length < 16) {
      throw new ConfigurationError('Invalid configuration: tokens: each token must be at least 16 characters and map to a user name');
    }
  }
  return config;
}

/** STORE=postgres needs a database. */
function checkStore(config: BrokerConfig): void {
  if (config.STORE !== 'postgres') return;
  if (config.DATABASE_URL === '') {
    throw new ConfigurationError('Invalid configuration: STORE=postgres needs DATABASE_URL (postgres://user:password@host:5432/database)');
  }
  if (!/^postgres(ql)?:\/\//.test(config.DATABASE_URL)) {
    throw new ConfigurationError('Invalid configuration: DATABASE_URL: expected a postgres:// or postgresql:// URL');
  }
}

/** This node's name in a cluster: NODE_NAME, or the host name and AMQP port. */
export function nodeNameOf(config: BrokerConfig): string {
  return config.NODE_NAME !== '' ? config.NODE_NAME : `${hostname()}:${config.AMQP_PORT}`;
}

/** The TLS settings that only make sense together. */
function checkTls(config: BrokerConfig): void {
  const problem =
    (config.TLS_CERT_FILE !== '') !== (config.TLS_KEY_FILE !== '')
      ? 'TLS_CERT_FILE and TLS_KEY_FILE: give both or neither'
      : config.HTTP_TLS && config.TLS_CERT_FILE === ''
        ? 'HTTP_TLS: needs TLS_CERT_FILE and TLS_KEY_FILE'
        : config.TLS_VERIFY_PEER && config.TLS_CA_FILE === ''
          ? 'TLS_VERIFY_PEER: needs TLS_CA_FILE to verify client certificates against'
          : null;
  if (problem !== null) throw new ConfigurationError(`Invalid configuration: ${problem}`);
}

/**
 * dispenserd's config/config.json knobs, accepted in CONFIG_FILE: `address` (host:port of the job
 * API), `throttle_receive`, `throttle_schedule`. `persist_queue` and `persist_interval` are
 * accepted and ignored: every job answered `ok` is already durable.
 */
export const DISPENSERD_KEYS = new Set<string>(['address', 'throttle_receive', 'throttle_schedule', 'persist_queue', 'persist_interval']);

function dispenserdKeys(file: Source): Source {
  const out: Source = {};
  const address = file.address;
  if (address !== undefined) {
    const match = typeof address === 'string' ? /^(.*):(\d+)$/.exec(address) : null;
    if (match === null) throw new ConfigurationError(`address: expected "host:port" (got ${JSON.stringify(address)})`);
    out.JOBS_HOST = match[1];
    out.JOBS_PORT = match[2];
  }
  if (file.throttle_receive !== undefined) out.JOBS_THROTTLE_RECEIVE = file.throttle_receive;
  if (file.throttle_schedule !== undefined) out.JOBS_THROTTLE_SCHEDULE = file.throttle_schedule;
  return out;
}

/** Non-fatal remarks about a config file: keys we do not know (typos). */
export function unknownConfigKeys(env: Source = process.env): string[] {
  const configFile = typeof env.CONFIG_FILE === 'string' && env.CONFIG_FILE !== '' ? env.CONFIG_FILE : undefined;
  if (!configFile) return [];
  return Object.keys(readConfigFile(configFile)).filter(
    (key) => !KNOWN_KEYS.has(key) && !FILE_ONLY_KEYS.has(key) && !DISPENSERD_KEYS.has(key),
  );
}
