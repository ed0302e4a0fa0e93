import type { FieldTable } from '../encoding/field-table';
import type { Queue } from '../queue/queue';
import type { Exchange } from './exchange';

/** Where a binding sends matching messages: a queue, or another exchange (e2e binding). */
export type Destination = Queue | Exchange;

export class Binding {
  /** Identity within the source exchange: destination, routing key and arguments. */
  readonly key: string;

  constructor(
    readonly source: Exchange,
    readonly destination: Destination,
    readonly routingKey: string,
    readonly args: FieldTable,
  ) {
    this.key = `${destinationKind(destination)}:${destination.name}\n${routingKey}\n${canonicalArgs(args)}`;
  }
}

export const isQueue = (destination: Destination): destination is Queue => destination.kind === 'queue';

export const destinationKind = (destination: Destination): 'queue' | 'exchange' =>
  isQueue(destination) ? 'queue' : 'exchange';

/** A stable text form of a field table: key order and value types do not depend on insertion. */
export function canonicalArgs(args: FieldTable): string {
  const keys = Object.keys(args);
  if (keys.length === 0) return '';
  keys.sort();
  return keys.map((k) => `${k}=${canonicalValue(args[k])}`).join(';');
}

function canonicalValue(value: unknown): string {
  if (value === null || value === undefined) return 'V';
  if (Buffer.isBuffer(value)) return `x${value.toString('hex')}`;
  if (value instanceof Date) return `T${value.getTime()}`;
  if (Array.isArray(value)) return `[${value.map(canonicalValue).join(',')}]`;
  if (typeof value === 'object') return `{${canonicalArgs(value as FieldTable)}}`;
  return `${typeof value}:${String(value)}`;
}
