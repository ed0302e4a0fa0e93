import { canonicalArgs } from '../exchange/binding';
import type { FieldTable } from '../encoding/field-table';
import { preconditionFailed } from '../errors';

const show = (value: unknown): string => (typeof value === 'string' ? `'${value}'` : `'${String(value)}'`);

/**
 * RabbitMQ's "inequivalent arg" check: a re-declare must match the existing entity's properties.
 */
export function requireEquivalent(
  kind: 'exchange' | 'queue',
  name: string,
  vhost: string,
  field: string,
  received: unknown,
  current: unknown,
): void {
  if (received === current) return;
  throw preconditionFailed(
    `inequivalent arg '${field}' for ${kind} '${name}' in vhost '${vhost}': received ${show(received)} but current is ${show(current)}`,
  );
}

/** Compares the arguments RabbitMQ compares on re-declare (all x-* keys that affect behaviour). */
export function requireEquivalentArgs(
  kind: 'exchange' | 'queue',
  name: string,
  vhost: string,
  received: FieldTable,
  current: FieldTable,
): void {
  const keys = new Set([...Object.keys(received), ...Object.keys(current)]);
  for (const key of keys) {
    const a = canonicalArgs({ v: received[key] ?? null });
    const b = canonicalArgs({ v: current[key] ?? null });
    if (a !== b) {
      throw preconditionFailed(
        `inequivalent arg '${key}' for ${kind} '${name}' in vhost '${vhost}': received ${describe(received[key])} but current is ${describe(current[key])}`,
      );
    }
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'none';
  return `the value '${String(value)}'`;
}
