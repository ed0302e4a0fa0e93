import type Database from 'better-sqlite3';

/**
 * SQLite schema of the message store, and how a file made by an older release is brought up to it. Entry flags: see ENTRY_FLAG_*.
 * Version 2: entries keep their message's annotations (message/annotation-codec.ts) in `annotations`; rows of
 * version 1 have none there and keep the broker's state in their headers, which the readers of that state still
 * understand (notBeforeOf, deadLetterHistoryOf, the doors' own readers).
 */
export const SCHEMA_VERSION = 2;

export const ENTRY_FLAG_DELIVERED = 1;
export const ENTRY_FLAG_PERSISTENT = 2;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vhosts (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS exchanges (
  vhost TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
  auto_delete INTEGER NOT NULL, internal INTEGER NOT NULL, arguments BLOB NOT NULL,
  PRIMARY KEY (vhost, name)
);
CREATE TABLE IF NOT EXISTS queues (
  id INTEGER PRIMARY KEY, vhost TEXT NOT NULL, name TEXT NOT NULL,
  auto_delete INTEGER NOT NULL, arguments BLOB NOT NULL,
  UNIQUE (vhost, name)
);
CREATE TABLE IF NOT EXISTS bindings (
  vhost TEXT NOT NULL, source TEXT NOT NULL, dest_kind TEXT NOT NULL, destination TEXT NOT NULL,
  routing_key TEXT NOT NULL, arguments BLOB NOT NULL, identity TEXT NOT NULL,
  PRIMARY KEY (vhost, source, identity)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bodies (id INTEGER PRIMARY KEY, props BLOB NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY,
  queue INTEGER NOT NULL,
  rank INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  exchange TEXT NOT NULL,
  routing_key TEXT NOT NULL,
  shared INTEGER,
  props BLOB,
  body BLOB,
  expires_at INTEGER NOT NULL DEFAULT 0,
  annotations TEXT
);
CREATE INDEX IF NOT EXISTS entries_by_queue ON entries (queue, rank, seq);
CREATE TABLE IF NOT EXISTS keyed_records (
  namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS keyed_records_by_expiry ON keyed_records (expires_at);
`;

/** Columns added after the first release, for stores created before them. */
export const SCHEMA_MIGRATIONS: readonly { table: string; column: string; definition: string }[] = [
  { table: 'entries', column: 'expires_at', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'entries', column: 'annotations', definition: 'TEXT' },
];

/** Creates what is missing (a new file: everything) and adds the columns of SCHEMA_MIGRATIONS a file made before them lacks. */
export function migrateSchema(db: Database.Database): void {
  db.exec(SCHEMA_SQL);
  for (const { table, column, definition } of SCHEMA_MIGRATIONS) {
    const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
    if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
}

export type SyncMode = 'full' | 'normal';

/** Pragmas for every connection. */
export function pragmasFor(sync: SyncMode): string[] {
  return [
    'journal_mode = WAL',
    `synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`,
    'temp_store = MEMORY',
    'busy_timeout = 5000',
  ];
}
