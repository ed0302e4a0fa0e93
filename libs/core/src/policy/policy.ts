import type { FieldTable } from '../encoding/field-table';
import { BrokerError, invalidRequest } from '../errors';
import { readQueueFeatures } from '../queue/queue-options';
import type { QueueType } from '../queue/queue-type';
import { queueTypeOf } from '../queue/queue-types';
import { compileNamePattern, NamePattern } from '../auth/name-pattern';

/** What a policy applies to, as RabbitMQ's `apply-to`. */
export type PolicyTarget = 'queues' | 'classic_queues' | 'quorum_queues' | 'exchanges' | 'all';
const TARGETS: readonly PolicyTarget[] = ['queues', 'classic_queues', 'quorum_queues', 'exchanges', 'all'];

export type PolicyValue = string | number | boolean;

export interface Policy {
  vhost: string;
  name: string;
  /** A regular expression matched against queue names (unanchored, as in RabbitMQ). */
  pattern: string;
  applyTo: PolicyTarget;
  /** Of the policies matching a queue, the one with the highest priority applies. */
  priority: number;
  definition: Record<string, PolicyValue>;
}

/** The queue settings a policy may carry, and the queue argument each stands for. */
export const POLICY_KEYS: Readonly<Record<string, string>> = {
  'message-ttl': 'x-message-ttl',
  expires: 'x-expires',
  'max-length': 'x-max-length',
  'max-length-bytes': 'x-max-length-bytes',
  overflow: 'x-overflow',
  'dead-letter-exchange': 'x-dead-letter-exchange',
  'dead-letter-routing-key': 'x-dead-letter-routing-key',
  'delivery-limit': 'x-delivery-limit',
};

/** The definition as queue arguments. */
export function policyArguments(definition: Record<string, PolicyValue>): FieldTable {
  const args: FieldTable = {};
  for (const [key, value] of Object.entries(definition)) {
    const argument = POLICY_KEYS[key];
    if (argument !== undefined) args[argument] = value;
  }
  return args;
}

/**
 * Checks a policy as RabbitMQ does before storing it: a known apply-to, an integer priority, a
 * pattern that compiles, and a definition of known keys with valid values (checked with the same
 * rules as the queue arguments they stand for). Throws `invalid-request` with the reason.
 */
export function validatePolicy(policy: Policy): Policy {
  const fail = (reason: string): never => {
    throw invalidRequest(`Validation failed\n\n${reason}\n`);
  };
  if (policy.name === '') fail('policy name must not be empty');
  if (!TARGETS.includes(policy.applyTo)) fail(`'${String(policy.applyTo)}' is not a valid apply-to value (${TARGETS.join(', ')})`);
  if (!Number.isInteger(policy.priority)) fail(`priority must be an integer, got ${String(policy.priority)}`);
  try {
    compileNamePattern(policy.pattern);
  } catch (error) {
    fail(`pattern '${policy.pattern}' is not a valid regular expression (RE2 syntax): ${(error as Error).message}`);
  }
  const keys = Object.keys(policy.definition);
  if (keys.length === 0) fail('the definition must not be empty');
  const unknown = keys.filter((key) => POLICY_KEYS[key] === undefined);
  if (unknown.length > 0) fail(`${unknown.map((key) => `'${key}'`).join(', ')} ${unknown.length === 1 ? 'is not a recognised policy setting' : 'are not recognised policy settings'} (${Object.keys(POLICY_KEYS).join(', ')})`);
  try {
    // a routing key alone is valid: it may meet a queue's own x-dead-letter-exchange
    readQueueFeatures(`policy ${policy.name}`, { 'x-dead-letter-exchange': '', ...policyArguments(policy.definition) }, queueTypeOf);
  } catch (error) {
    if (!(error instanceof BrokerError)) throw error;
    // the queue texts name the argument; say the policy key instead
    let reason = error.message;
    for (const [key, argument] of Object.entries(POLICY_KEYS)) reason = reason.replace(`'${argument}'`, `'${key}'`);
    fail(reason.replace(/^invalid arg /, 'invalid value for ').replace(` for queue 'policy ${policy.name}'`, ''));
  }
  return policy;
}

/** Whether the policy applies to a queue of that name and type. */
export function appliesToQueue(policy: Policy, matcher: NamePattern, queueName: string, type: QueueType): boolean {
  const target = policy.applyTo;
  if (target === 'exchanges') return false;
  if ((target === 'classic_queues' || target === 'quorum_queues') && !type.selectedByPolicy(target)) return false;
  return matcher.test(queueName);
}
