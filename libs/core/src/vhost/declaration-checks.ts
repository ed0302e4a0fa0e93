import { fieldTableProblem } from '../encoding/encodable';
import type { FieldTable } from '../encoding/field-table';
import { invalidRequest } from '../errors';

/** Names a client may not create (RabbitMQ's reserved prefix). */
export const reservedName = (name: string): boolean => name.startsWith('amq.');

/** Names and routing keys travel as AMQP short strings: at most 255 bytes (RabbitMQ's wording). */
export function requireShortString(what: string, text: string): void {
  if (text.length <= 85) return; // 85 UTF-16 units are at most 255 bytes
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > 255) throw invalidRequest(`${what} should be less than 255 bytes, actually was ${bytes}`);
}

/** Arguments are stored as a field table: refused here when they could not be (objects from JSON). */
export function requireEncodableArguments(args: FieldTable): void {
  const problem = fieldTableProblem(args, 'arguments');
  if (problem !== null) throw invalidRequest(`invalid ${problem}`);
}
