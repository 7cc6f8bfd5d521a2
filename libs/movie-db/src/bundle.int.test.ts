// The apps are esbuild bundles (tools/build/bundle.mjs, same options as here): the migrations must come with the code, not from
// files beside it. This bundles the lib alone into an empty directory and migrates a database from there.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { MIGRATIONS } from './migrations.generated';
import { createTestDatabase, describeWithPostgres, TestDatabase } from './test-postgres';

describeWithPostgres('movie-db from an esbuild bundle', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'movie-db-bundle-'));
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('migrates a database with nothing but the bundle', async () => {
    await build({
      entryPoints: [join(__dirname, 'index.ts')],
      outfile: join(dir, 'movie-db.js'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'warning',
    });
    expect(readdirSync(dir)).toEqual(['movie-db.js']);
    const script = `
      const { connectDatabase, migrate } = require('./movie-db.js');
      const log = { info: (m) => process.stderr.write(m + '\\n'), warn: (m) => process.stderr.write(m + '\\n'), error: (m) => process.stderr.write(m + '\\n') };
      connectDatabase(process.argv[1], log).then(async (pool) => {
        const r = await migrate(pool, log);
        const t = await pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
        process.stdout.write(JSON.stringify({ ...r, tables: t.rows[0].n }));
        await pool.end();
      });`;
    const out = execFileSync(process.execPath, ['-e', script, db.url], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(out)).toEqual({ applied: MIGRATIONS.map((m) => m.version), version: MIGRATIONS.length, tables: 4 });
  }, 90_000);
});
