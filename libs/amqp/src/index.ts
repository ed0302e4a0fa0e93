export * from './amqp.module';
export * from './amqp-options';
export { AmqpServer } from './server/amqp-server';
export { systemClock } from './connection/clock';
export type { Cancel, Clock } from './connection/clock';
export type { UncommittedLimits } from './connection/uncommitted-publishes';
