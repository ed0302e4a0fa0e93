/**
 * JSON as the management API sends it: what AMQP field tables (queue and binding arguments,
 * message headers, client properties) become once Buffers are text, bigints and decimals
 * numbers, timestamps seconds.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object; an `undefined` member is left out of the answer, as JSON.stringify does. */
export interface JsonObject {
  [key: string]: JsonValue | undefined;
}
