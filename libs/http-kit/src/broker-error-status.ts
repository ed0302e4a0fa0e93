import type { BrokerErrorKind } from '#core';

/**
 * The HTTP status of each kind of core error, for the HTTP doors (job API, delivery API): the
 * mapping of kinds to statuses, written once. (The management API answers as RabbitMQ's does, so
 * it has its own.)
 */
export const BROKER_ERROR_HTTP_STATUS: Record<BrokerErrorKind, number> = {
  'not-found': 404,
  'access-refused': 403,
  'resource-locked': 409,
  'exclusive-use': 409,
  'precondition-failed': 409,
  'invalid-request': 400,
  'not-implemented': 501,
  'resource-limit': 503,
  'store-unavailable': 503,
};
