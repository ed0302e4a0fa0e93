import type { FieldTable } from '#core';

export const PRODUCT = 'unified-broker';
export const VERSION = '0.1.0';

/** connection.start server-properties, with RabbitMQ's capability table. */
export function serverProperties(): FieldTable {
  return {
    product: PRODUCT,
    version: VERSION,
    platform: `Node.js ${process.version}`,
    copyright: 'unified-broker contributors',
    information: 'AMQP 0-9-1 with RabbitMQ extensions; one SQLite (WAL) store',
    cluster_name: PRODUCT,
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: false,
    },
  };
}
