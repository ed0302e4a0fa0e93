/** One step of the schema: applied once, in order, inside the migration transaction. */
export interface Migration {
  /** 1, 2, 3…: the schema version once it is applied. */
  readonly version: number;
  readonly name: string;
  /** Statements without parameters, run as one simple query. */
  readonly sql: string;
}

/**
 * The cluster's schema, as an ordered list: a database at version N gets the steps after N at the
 * next start of any node (migrate.ts: one transaction, under an advisory lock). A step is never
 * edited once released; a change is a new step appended at the end. The database-backed queue
 * type appends its message tables here the same way.
 *
 * Conventions: names (vhosts, queues, exchanges, routing keys) are text; field tables (arguments)
 * are bytea in the AMQP encoding; record keys are bytea (a key may hold any character); times a
 * node compares with others' come from the database's clock (now()), never a node's.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'nodes, definitions and their change log, counters, keyed records',
    sql: `
      -- the broker nodes: each registers at start and heartbeats; one silent for the node timeout is dead
      CREATE TABLE nodes (
        id serial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        -- this start of the node (a restart under the same name is another incarnation)
        incarnation uuid NOT NULL,
        state text NOT NULL CHECK (state IN ('running', 'dead', 'left')),
        host text NOT NULL,
        addresses jsonb NOT NULL DEFAULT '[]',
        ports jsonb NOT NULL DEFAULT '{}',
        started_at timestamptz NOT NULL,
        last_heartbeat timestamptz NOT NULL,
        -- the definition version this node's memory reflects (writers wait for every live node's)
        applied_version bigint NOT NULL DEFAULT 0,
        -- what the node last reported of itself (memory, descriptors, sessions), for /api/nodes
        figures jsonb,
        ended_at timestamptz,
        -- the node that found it dead (itself when it left)
        ended_by text
      );

      -- the definition version: bumped (row-locked until commit) by every batch that changes
      -- definitions, so versions become visible in order
      CREATE TABLE definition_log (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        version bigint NOT NULL DEFAULT 0,
        -- changes up to this version were pruned: a node behind it reloads every definition
        pruned_through bigint NOT NULL DEFAULT 0
      );
      INSERT INTO definition_log DEFAULT VALUES;

      -- what each version changed, in order, for the nodes that follow
      CREATE TABLE definition_changes (
        version bigint NOT NULL,
        ordinal int NOT NULL,
        -- the incarnation of the node that made it (it has applied it already)
        origin uuid NOT NULL,
        change jsonb NOT NULL,
        committed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (version, ordinal)
      );

      CREATE TABLE vhosts (
        name text PRIMARY KEY
      );

      CREATE TABLE exchanges (
        vhost text NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        auto_delete boolean NOT NULL,
        internal boolean NOT NULL,
        arguments bytea NOT NULL,
        PRIMARY KEY (vhost, name)
      );

      -- id: the queue's number in the cluster (each node numbers its in-memory queues its own way);
      -- a queue deleted and declared again is a new row with a new id
      CREATE TABLE queues (
        id bigserial PRIMARY KEY,
        vhost text NOT NULL,
        name text NOT NULL,
        auto_delete boolean NOT NULL,
        arguments bytea NOT NULL,
        UNIQUE (vhost, name)
      );

      -- identity: the binding among those of one source (destination, routing key, arguments)
      CREATE TABLE bindings (
        vhost text NOT NULL,
        source text NOT NULL,
        identity text NOT NULL,
        dest_kind text NOT NULL CHECK (dest_kind IN ('queue', 'exchange')),
        destination text NOT NULL,
        routing_key text NOT NULL,
        arguments bytea NOT NULL,
        PRIMARY KEY (vhost, source, identity)
      );
      CREATE INDEX bindings_by_destination ON bindings (vhost, dest_kind, destination);

      -- users, permissions and policies: the core's records, keyed as the core keys them
      CREATE TABLE users (
        key bytea PRIMARY KEY,
        definition jsonb NOT NULL
      );
      CREATE TABLE permissions (
        key bytea PRIMARY KEY,
        definition jsonb NOT NULL
      );
      CREATE TABLE policies (
        key bytea PRIMARY KEY,
        definition jsonb NOT NULL
      );

      -- RabbitMQ-style per-vhost limits (max-connections, max-queues): reserved, not used yet
      CREATE TABLE vhost_limits (
        vhost text PRIMARY KEY,
        limits jsonb NOT NULL
      );

      -- counters that only grow (the last value set wins only when it is larger)
      CREATE TABLE counters (
        name text PRIMARY KEY,
        value bigint NOT NULL
      );

      -- records kept until they expire (idempotency keys, finished deliveries); expires_at: epoch ms
      CREATE TABLE keyed_records (
        namespace text NOT NULL,
        key bytea NOT NULL,
        value bytea NOT NULL,
        expires_at bigint NOT NULL,
        PRIMARY KEY (namespace, key)
      );
      CREATE INDEX keyed_records_by_expiry ON keyed_records (expires_at);
    `,
  },
  {
    version: 2,
    name: 'the messages of queues shared by every node (the database-backed queue type)',
    sql: `
      -- one row per message of a shared queue; the narrow hot table every node claims from.
      -- seq: arrival order across nodes; rank: lower first (0 for FIFO queues); not_before and
      -- lease_until: epoch ms; holder: the incarnation of the node that took it (NULL: ready);
      -- lease_until: the deadline of a lease extended by a touch (NULL: the taking node keeps it);
      -- deliveries: times taken (the lease id is queue_id.seq.deliveries, so an old lease never
      -- settles a later taking); key_1, key_2: the queue's business keys (indexBy, in order);
      -- (keys are text with NUL and backslash escaped: any string a door keys by is a key; exchange
      -- and routing key are bytea, as AMQP short strings may hold any byte)
      -- group_key, group_order: rows of one group are taken one at a time, in group_order (groupBy:
      -- a delivery's ordering key and acceptance number)
      CREATE SEQUENCE queue_message_seq;
      CREATE TABLE queue_messages (
        queue_id bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
        seq bigint NOT NULL DEFAULT nextval('queue_message_seq'),
        rank bigint NOT NULL,
        not_before bigint NOT NULL,
        holder uuid,
        lease_until bigint,
        deliveries int NOT NULL DEFAULT 0,
        key_1 text,
        key_2 text,
        group_key text,
        group_order bigint,
        exchange bytea NOT NULL,
        routing_key bytea NOT NULL,
        properties bytea NOT NULL,
        body bytea NOT NULL,
        annotations text,
        PRIMARY KEY (queue_id, seq)
      );
      -- what claims walk: ready rows in priority-then-FIFO order
      CREATE INDEX queue_messages_ready ON queue_messages (queue_id, rank, seq) WHERE holder IS NULL;
      CREATE INDEX queue_messages_key_1 ON queue_messages (queue_id, key_1) WHERE key_1 IS NOT NULL;
      CREATE INDEX queue_messages_key_2 ON queue_messages (queue_id, key_2) WHERE key_2 IS NOT NULL;
      CREATE INDEX queue_messages_group ON queue_messages (queue_id, group_key, group_order) WHERE group_key IS NOT NULL;
      -- leases past their deadline go back (any node sweeps)
      CREATE INDEX queue_messages_lease_until ON queue_messages (lease_until) WHERE lease_until IS NOT NULL;
      -- keys no other message of the queue may take until they expire (enqueueUnique: idempotency
      -- keys, delivery UUIDs), reserved with the seq of the row they let in; a reservation outlives
      -- its row, keeping what a duplicate is answered with (the first message, without its body)
      CREATE TABLE queue_unique_keys (
        queue_id bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
        unique_key text NOT NULL,
        seq bigint NOT NULL,
        expires_at bigint NOT NULL,
        exchange bytea NOT NULL,
        routing_key bytea NOT NULL,
        properties bytea NOT NULL,
        annotations text,
        PRIMARY KEY (queue_id, unique_key)
      );
      CREATE INDEX queue_unique_keys_by_expiry ON queue_unique_keys (expires_at);
    `,
  },
  {
    version: 3,
    name: 'vhost limits kept as the other definition records are (key, definition)',
    sql: `
      -- the table reserved in version 1 was never written; it takes the shape of users,
      -- permissions and policies: the key is the vhost's name, the definition its limits
      DROP TABLE vhost_limits;
      CREATE TABLE vhost_limits (
        key bytea PRIMARY KEY,
        definition jsonb NOT NULL
      );
    `,
  },
];
