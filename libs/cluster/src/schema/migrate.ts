import type { Database } from '../database/database';
import { Migration, MIGRATIONS } from './migrations';

/**
 * The advisory lock key the migration transaction holds (any fixed 64-bit number; this one spells
 * "ubmigrat" in ASCII): nodes starting together on an empty database take turns, and the later
 * ones find the schema done.
 */
export const MIGRATION_LOCK = 0x75626d6967726174n;

export interface MigrationOutcome {
  /** The schema version before this start. */
  from: number;
  /** The schema version now. */
  to: number;
}

/**
 * Creates or migrates the schema: one transaction under the migration lock, so nodes that start
 * together never race (each waits for the lock, then sees what the one before it applied). A
 * database whose schema is newer than this node knows is refused: an older node must not write
 * into tables it does not understand.
 */
export async function migrateSchema(database: Database, node: string, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationOutcome> {
  return database.transaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_version (
        version int PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        applied_by text NOT NULL
      )`);
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_version');
    const from = rows[0]?.version ?? 0;
    const newest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
    if (from > newest) {
      throw new Error(`the database schema is at version ${from}, newer than this broker knows (${newest}): run a broker at least as new as the other nodes`);
    }
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (migration.version <= from) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_version (version, name, applied_by) VALUES ($1, $2, $3)', [migration.version, migration.name, node]);
    }
    return { from, to: Math.max(from, newest) };
  });
}
