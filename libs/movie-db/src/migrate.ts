// Schema migrations: numbered plain SQL files (../migrations/NNN_name.sql), each applied once, in order,
// in its own transaction, recorded in schema_migrations. Plain SQL rather than a migration tool: the schema
// is three tables, the files are reviewed as the SQL the server runs, and the runner is the fifty lines
// below with no dependency (the tools that fit, node-pg-migrate and the like, would add a package and its
// own DSL for what these files say directly).
import type { Pool, PoolClient } from 'pg';
import type { DbLogger } from './connect';
import { checksum, type Migration } from './migration-files';
import { MIGRATIONS } from './migrations.generated';
import { checkOut } from './offsets';

/** One key for every instance of every service: starts of several processes apply the migrations one at a time. */
const MIGRATION_LOCK_KEY = 0x6d6f7669; // "movi"

export class SchemaError extends Error {}

export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was up to date). */
  applied: number[];
  /** The schema's version afterwards. */
  version: number;
}

/**
 * Brings the database's schema up to `migrations`' last version. Holds a session advisory lock meanwhile,
 * so instances starting together apply each migration once (the others wait, then find nothing to do).
 * Refuses a database that holds a migration this program does not know (a newer program migrated it) or
 * one whose SQL differs from the file's (edited after it was applied).
 */
export async function migrate(pool: Pool, logger: DbLogger, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  const { client, release } = await checkOut(pool);
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await migrateLocked(client, logger, migrations);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => (broken = true));
    }
  } catch (e) {
    broken = true;
    throw e;
  } finally {
    // A connection whose state is unknown (lock possibly still held) is closed rather than reused.
    release(broken);
  }
}

async function migrateLocked(client: PoolClient, logger: DbLogger, migrations: readonly Migration[]): Promise<MigrateResult> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  const known = new Map(migrations.map((m) => [m.version, m]));
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  for (const r of rows) {
    const m = known.get(r.version);
    if (!m) {
      throw new SchemaError(
        `the database's schema is newer than this program: it has migration ${r.version} (${r.name}), this program knows up to ${latest}; run the newer program or a database of this version`,
      );
    }
    if (m.name !== r.name || checksum(m.sql) !== r.checksum) {
      throw new SchemaError(
        `migration ${r.version} in the database (${r.name}) differs from this program's ${String(m.version).padStart(3, '0')}_${m.name}.sql: a migration must not change once applied; add a new one`,
      );
    }
  }
  const done = new Set(rows.map((r) => r.version));
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    await client.query('BEGIN');
    try {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        checksum(m.sql),
      ]);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new SchemaError(`migration ${String(m.version).padStart(3, '0')}_${m.name}.sql failed: ${(e as Error).message}`);
    }
    logger.info(`database schema: applied migration ${String(m.version).padStart(3, '0')}_${m.name}`);
    applied.push(m.version);
  }
  return { applied, version: Math.max(0, ...rows.map((r) => r.version), ...applied) };
}
