// The migrations are plain numbered SQL files in ../migrations, reviewed as SQL. A program reads them from
// migrations.generated.ts, where they are embedded as strings: the same code then works from source
// (tsx, jest) and from an esbuild bundle (dist/apps/<app>/main.js) or a container image, with no file to
// find or copy beside the bundle. `npx nx run movie-db:generate` rewrites the module; a test fails when it
// is stale.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Migration {
  /** 1, 2, 3, ...: the file's number; applied in this order, each once. */
  version: number;
  /** The file name without number and extension, e.g. "movie_data_and_offsets". */
  name: string;
  sql: string;
}

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');
export const GENERATED_MODULE = join(__dirname, 'migrations.generated.ts');

const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** sha256 of the SQL: a migration edited after it was applied somewhere is refused, not silently skipped. */
export const checksum = (sql: string): string => createHash('sha256').update(sql).digest('hex');

/** Reads and checks the SQL files: names NNN_name.sql, numbers 1..n without gaps or duplicates. */
export function readMigrationFiles(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).sort();
  const migrations = files.map((f) => {
    const m = FILE_NAME.exec(f);
    if (!m) throw new Error(`${join(dir, f)}: a migration file is named NNN_lowercase_name.sql`);
    return { version: Number(m[1]), name: m[2]!, sql: readFileSync(join(dir, f), 'utf8') };
  });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`${dir}: migration ${i + 1} expected, found ${String(m.version).padStart(3, '0')}_${m.name}.sql`);
  });
  return migrations;
}

export function renderMigrationsModule(migrations: Migration[]): string {
  return [
    '// Generated from libs/movie-db/migrations/*.sql by `npx nx run movie-db:generate`: do not edit.',
    "import type { Migration } from './migration-files';",
    '',
    'export const MIGRATIONS: readonly Migration[] = [',
    ...migrations.map((m) => `  { version: ${m.version}, name: ${JSON.stringify(m.name)}, sql: ${JSON.stringify(m.sql)} },`),
    '];',
    '',
  ].join('\n');
}

/** The generate target. */
export function writeMigrationsModule(): void {
  writeFileSync(GENERATED_MODULE, renderMigrationsModule(readMigrationFiles()));
}
