import type { FieldTable, FieldValue } from '../encoding/field-table';

export type MatchMode = 'all' | 'any' | 'all-with-x' | 'any-with-x';

const MODES: readonly string[] = ['all', 'any', 'all-with-x', 'any-with-x'];

/** Reads `x-match` from binding arguments; undefined when it is present but not a known mode. */
export function matchModeOf(args: FieldTable): MatchMode | undefined {
  const mode = args['x-match'];
  if (mode === undefined) return 'all';
  return typeof mode === 'string' && MODES.includes(mode) ? (mode as MatchMode) : undefined;
}

/**
 * RabbitMQ's headers matching: binding arguments other than `x-*` (unless the mode ends in
 * `-with-x`) must all (or any) be present in the message headers with an equal value; a binding
 * argument with no value (void) only requires the header to be present.
 */
export function headersMatch(args: FieldTable, mode: MatchMode, headers: FieldTable | undefined): boolean {
  const all = mode === 'all' || mode === 'all-with-x';
  const withX = mode === 'all-with-x' || mode === 'any-with-x';
  for (const key in args) {
    if (key === 'x-match' || (!withX && key.startsWith('x-'))) continue;
    const expected = args[key];
    const present = headers !== undefined && Object.prototype.hasOwnProperty.call(headers, key);
    const matched = present && (expected === null || valuesEqual(expected, headers![key]!));
    if (all && !matched) return false;
    if (!all && matched) return true;
  }
  // all: nothing failed; any: nothing matched (an empty `any` binding matches nothing)
  return all;
}

function valuesEqual(a: FieldValue, b: FieldValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a === 'number' || typeof a === 'bigint') {
    return (typeof b === 'number' || typeof b === 'bigint') && a == b; // a number and a bigint of the same value match
  }
  if (Buffer.isBuffer(a)) return Buffer.isBuffer(b) && a.equals(b);
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => valuesEqual(v, b[i]!));
  }
  if (typeof a === 'object' && typeof b === 'object' && !Array.isArray(b) && !Buffer.isBuffer(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length &&
      ka.every((k) => valuesEqual((a as FieldTable)[k]!, (b as FieldTable)[k]!))
    );
  }
  return false;
}
