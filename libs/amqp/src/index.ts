export * from './amqp.module';
export * from './amqp-options';
export { AmqpServer } from './server/amqp-server';
export { usersFromConfig, UserDirectory } from './auth/user-directory';
export type { UserRecord } from './auth/user-directory';
export { systemClock } from './connection/clock';
export type { Cancel, Clock } from './connection/clock';
