// Cluster mode (STORE=postgres): N stateless broker nodes over one PostgreSQL. The application
// composes it; the management layer and metrics see it only through the core's ClusterView.

export { Cluster } from './cluster';
export type { ClusterOptions } from './cluster-options';
export { ClusterModule } from './cluster.module';
export { Database } from './database/database';
export type { DatabaseOptions } from './database/database';
export { CHANNELS, Notifications } from './database/notifications';
export { describeDatabaseError, isDatabaseUnavailable } from './database/unavailable';
export { Membership } from './nodes/membership';
export { Releasers } from './nodes/releasers';
export type { DeadNode, Releaser } from './nodes/releasers';
export { MIGRATIONS } from './schema/migrations';
export type { Migration } from './schema/migrations';
export { MIGRATION_LOCK, migrateSchema } from './schema/migrate';
export type { MigrationOutcome } from './schema/migrate';
export { SHARED_QUEUE_TYPES } from './shared-queue-types';
export type { SharedQueueTypeFactory } from './shared-queue-types';
export { PostgresStore } from './store/postgres-store';
export type { AppliedEverywhere, PostgresStoreOptions } from './store/postgres-store';
export type { BatchPart } from './store/postgres-batch';
