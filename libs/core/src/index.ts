// The core's public API: everything a front door, the management layer or the application may
// use. Doors import '#core' only; the modules behind it are internal (lint enforces this).

// the broker and its virtual hosts
export { Broker, DEFAULT_VHOST, PersistentCounter } from './broker';
export type { BrokerOptions } from './broker';
export { VirtualHost } from './vhost/virtual-host';
export { VHOST_LIMIT_NAMES, VhostLimitRegistry, isVhostLimitName } from './vhost/vhost-limits';
export type { VhostLimitName, VhostLimitValues } from './vhost/vhost-limits';
export type { AlarmRule, ExchangeDeclaration, QueueDeclaration, QueueDeleteConditions } from './vhost/virtual-host';
export type { AlarmRefusal, LengthLimitRefusal, PublishOutcome, Refusal, RefusedOutcome, RoutedOutcome, UnroutableOutcome } from './vhost/publish-outcome';
export type { Queue } from './queue/queue';
export type { EntryKey, FoundEntry } from './queue/key-index';
export type { QueueInit, QueueType, QueueTypeName } from './queue/queue-type';
export { QueueTypeRegistry } from './queue/queue-type-registry';
export type { QueueTypeOptions } from './queue/queue-type-registry';
export type { Consumer } from './queue/consumer';
export { QueueEntry, EntryState } from './queue/queue-entry';
export type { LeaseBook, UniqueOutcome } from './queue/shared-queue';
// the parts a queue type implemented outside the core builds its queues from
export { ConsumerSet } from './queue/consumer-set';
export { QueueStats } from './queue/queue-stats';
export { InboundBindings } from './exchange/inbound-bindings';
export { keyOf } from './queue/key-index';
export { notBeforeOf, rankIn } from './queue/queue-options';
export type { QueueFeatures, QueueOptions } from './queue/queue-options';
export type { DeclaredProperties, QueueOwner } from './queue/queue-type';
export { withDeliveryCount } from './queue/types/quorum-queue-type';
export { encodeAnnotations, decodeAnnotations } from './message/annotation-codec';
export { exclusiveUse } from './errors';
export { copiedRecord, copyWith, merged } from './object-copies';
export { Message } from './message/message';
export { changedAnnotations } from './message/annotations';
export type { AnnotationValue, Annotations, DeadLetterHistory, Death, DeathPlace, DeathReason, DoorAnnotations } from './message/annotations';
export { ANNOTATION_HEADERS, renderedHeaders, renderedProperties } from './message/amqp-rendering';
export { RANK_HEADER, NOT_BEFORE_HEADER, DEFAULT_RANK } from './queue/queue-options';
export { BrokerError } from './errors';
export type { Policy, PolicyTarget, PolicyValue } from './policy/policy';
export { POLICY_KEYS } from './policy/policy';
export { DATABASE_SEEDED, HASHING_ALGORITHMS, UserRegistry } from './auth/user-registry';
export { isLoopbackAddress } from './auth/loopback';
export { ListenerRegistry, isLocalAddress } from './listeners/listener-registry';
export type { ListenerEndpoint } from './listeners/listener-registry';
export { accessNeededToDeclare, declarationTargets } from './auth/declaration-access';
export type { Declaration, ResourceAccess } from './auth/declaration-access';
export { compileNamePattern, NamePatternError } from './auth/name-pattern';
export type { NamePattern } from './auth/name-pattern';
export type { Access, DefaultUser, HashingAlgorithm, PermissionDefinition, UserDefinition } from './auth/user-registry';
export { DEFAULT_AUTHENTICATION, metricReasonOf } from './auth/authenticator';
export type { AuthenticationOptions, LoginAttempt, LoginDoor, LoginFailure, LoginFailureMetricReason, LoginOutcome, LoginRefusal } from './auth/authenticator';
export type { BrokerErrorKind } from './errors';

// durability
export { NO_COMMIT_NEEDED, positionOf } from './store/commit-token';
export type { CommitToken, CommitCallback } from './store/commit-token';
// the group commit every store shares (a store implemented outside the core builds on it too)
export { CommitPipeline } from './store/commit-pipeline';
export type { BatchCommitter, CommitPipelineOptions, PipelineBatch } from './store/commit-pipeline';

// the store port and its implementations, composed in by the application
export type { BrokerStore, CommitSource, DefinitionStore } from './store/broker-store';
export type { BindingRecord, BucketSummary, ExchangeRecord, QueueRecord, RecoveredState } from './store/store-records';
export type { KeyRow, QueueStore } from './queue/queue-store';
export { SqliteStore } from './store/sqlite/sqlite-store';
export type { SqliteStoreOptions } from './store/sqlite/sqlite-store';
export type { SyncMode } from './store/sqlite/schema';
export { MemoryStore } from './store/memory/memory-store';
export type { DefinitionWrites } from './store/definition-gate';

// cluster mode (STORE=postgres): changes other nodes committed, and the port to the node list
export { DEFINITION_KEYS, DEFINITION_NAMESPACES } from './cluster/definition-change';
export type { DefinitionChange, QueueDefinition } from './cluster/definition-change';
export { CLUSTER_VIEW } from './cluster/cluster-view';
export type { ClusterNode, ClusterView, NodeCounters, NodeFigures } from './cluster/cluster-view';

// introspection and the doors' session registries
export type {
  BindingSnapshot,
  BrokerSnapshot,
  ConsumerSnapshot,
  ExchangeSnapshot,
  MessageStats,
  QueueSnapshot,
  VhostSnapshot,
} from './introspection/snapshots';
export type { ChannelSnapshot, SessionRegistry, SessionSnapshot } from './sessions/session-registry';
export { CoreMetrics, MESSAGE_SIZE_BOUNDS } from './metrics';
export type { CoreCounters } from './metrics';
export { ResourceAlarms } from './resource-alarms';

// the AMQP-shaped message model the core stores (field tables, properties) and its encoding
export * from './encoding';

// Nest composition
export * from './core.module';
