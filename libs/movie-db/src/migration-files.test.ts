import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMigrationFiles } from './migration-files';
import { MIGRATIONS } from './migrations.generated';

it('migrations.generated.ts holds exactly the SQL files (else: npx nx run movie-db:generate)', () => {
  const files = readMigrationFiles();
  expect(files.length).toBeGreaterThan(0);
  expect(MIGRATIONS).toEqual(files);
});

it('refuses badly named and unnumbered-in-order files, naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  writeFileSync(join(dir, '001_a.sql'), 'SELECT 1;');
  writeFileSync(join(dir, '003_c.sql'), 'SELECT 1;');
  expect(() => readMigrationFiles(dir)).toThrow(/migration 2 expected, found 003_c\.sql/);
  writeFileSync(join(dir, '2_b.sql'), 'SELECT 1;');
  expect(() => readMigrationFiles(dir)).toThrow(/2_b\.sql: a migration file is named NNN_lowercase_name\.sql/);
});
