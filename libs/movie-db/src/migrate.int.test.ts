import { Pool } from 'pg';
import { migrate, SchemaError } from './migrate';
import { MIGRATIONS } from './migrations.generated';
import { createTestDatabase, describeWithPostgres, memoryLogger, TestDatabase } from './test-postgres';

describeWithPostgres('migrations against PostgreSQL', () => {
  let db: TestDatabase;
  const pools: Pool[] = [];
  const pool = () => {
    const p = new Pool({ connectionString: db.url, max: 3 });
    pools.push(p);
    return p;
  };
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await db.drop();
  });

  const tables = async (p: Pool) =>
    (await p.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.t);
  const recorded = async (p: Pool) => (await p.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows;

  it('applies every migration once; a second run applies nothing', async () => {
    const p = pool();
    const log = memoryLogger();
    expect(await migrate(p, log)).toEqual({ applied: MIGRATIONS.map((m) => m.version), version: MIGRATIONS.length });
    expect(await tables(p)).toEqual(['consumer_offsets', 'movie_data', 'movie_ratings_state', 'schema_migrations']);
    expect(log.lines).toEqual(
      MIGRATIONS.map((m) => `info database schema: applied migration ${String(m.version).padStart(3, '0')}_${m.name}`),
    );
    expect(await migrate(p, log)).toEqual({ applied: [], version: MIGRATIONS.length });
    expect(await recorded(p)).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  });

  it('several instances starting together apply each migration once (advisory lock)', async () => {
    // A slow second migration keeps the lock long enough for the others to queue on it.
    const migrations = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: 'slow', sql: 'SELECT pg_sleep(0.3); CREATE TABLE slow_one (x int);' },
    ];
    const results = await Promise.all([pool(), pool(), pool()].map((p) => migrate(p, memoryLogger(), migrations)));
    const applied = results.flatMap((r) => r.applied).sort((a, b) => a - b);
    expect(applied).toEqual(migrations.map((m) => m.version));
    expect(results.map((r) => r.version)).toEqual([migrations.length, migrations.length, migrations.length]);
    expect(await recorded(pools[0]!)).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
  });

  it('refuses a database with a migration this program does not know (newer schema)', async () => {
    const p = pool();
    await migrate(p, memoryLogger());
    await p.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'from_the_future', 'x')");
    await expect(migrate(p, memoryLogger())).rejects.toThrow(SchemaError);
    await expect(migrate(p, memoryLogger())).rejects.toThrow(
      `the database's schema is newer than this program: it has migration 99 (from_the_future), this program knows up to ${MIGRATIONS.length}`,
    );
  });

  it('refuses a migration whose SQL changed after it was applied', async () => {
    const p = pool();
    await migrate(p, memoryLogger());
    const edited = MIGRATIONS.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    await expect(migrate(p, memoryLogger(), edited)).rejects.toThrow(/migration 1 in the database \(movie_data_and_offsets\) differs/);
  });

  it('a failing migration changes nothing and is not recorded; the lock is free afterwards', async () => {
    const p = pool();
    const bad = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE half_done (x int); SELECT * FROM no_such_table;' },
    ];
    await expect(migrate(p, memoryLogger(), bad)).rejects.toThrow(
      /migration 00\d_broken\.sql failed: relation "no_such_table" does not exist/,
    );
    expect(await tables(p)).not.toContain('half_done');
    expect((await recorded(p)).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    // Another pool takes the lock at once: the failed run released it.
    const fixed = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE half_done (x int);' }];
    expect((await migrate(pool(), memoryLogger(), fixed)).applied).toEqual([MIGRATIONS.length + 1]);
  });
});
