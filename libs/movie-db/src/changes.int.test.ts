// The change feed against a real PostgreSQL: what a listener hears is exactly what committed batches changed.
import { Pool } from 'pg';
import { applySinkBatch, type SinkBatch } from './batches';
import { MOVIE_CHANGES_APPLICATION_NAME, pgMovieChanges, type PgMovieChanges } from './changes';
import { migrate } from './migrate';
import { createTestDatabase, describeWithPostgres, memoryLogger, TestDatabase } from './test-postgres';

jest.setTimeout(60_000);

/** What one listener heard, and a way to wait for something it has heard (or will). */
function record(changes: PgMovieChanges) {
  const events: (readonly number[] | undefined)[] = [];
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  changes.subscribe((ids) => {
    events.push(ids);
    for (const w of waiters.splice(0))
      if (w.test()) w.resolve();
      else waiters.push(w);
  });
  const until = (test: () => boolean) => new Promise<void>((resolve) => (test() ? resolve() : waiters.push({ test, resolve })));
  const heard = () => new Set(events.flatMap((e) => e ?? []));
  return {
    events,
    heard,
    /** Until `n` undefined events have come (the first: LISTEN is in place). */
    untilAnything: (n: number) => until(() => events.filter((e) => e === undefined).length >= n),
    /** Until every one of `ids` has been heard. */
    untilHeard: (ids: readonly number[]) =>
      until(() => {
        const h = heard();
        return ids.every((id) => h.has(id));
      }),
  };
}

const batch = (from: number, to: number, movies: SinkBatch['movies'], means: SinkBatch['means']): SinkBatch => ({
  groupId: 'sink',
  movies,
  means,
  offsets: [{ topic: 'movies', partition: 0, firstOffset: String(from), nextOffset: String(to) }],
});

describeWithPostgres('pgMovieChanges: LISTEN/NOTIFY of the movies a sink batch changed', () => {
  let db: TestDatabase;
  let pool: Pool;
  const feeds: PgMovieChanges[] = [];
  const feed = (logger = memoryLogger()) => {
    const f = pgMovieChanges(pool, { logger, minBackoffMs: 10, maxBackoffMs: 100 });
    feeds.push(f);
    return f;
  };
  beforeEach(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 3 });
    await migrate(pool, memoryLogger());
  });
  afterEach(async () => {
    await Promise.all(feeds.splice(0).map((f) => f.close()));
    await pool.end();
    await db.drop();
  });

  it('every listener hears the ids of the rows a committed batch changed, and nothing of a batch rolled back at its commit', async () => {
    // Two listeners: two sink instances, each hearing the other's batches too.
    const [a, b] = [record(feed()), record(feed())];
    await Promise.all([a.untilAnything(1), b.untilAnything(1)]);

    await applySinkBatch(
      pool,
      batch(
        0,
        3,
        [
          { movieId: 1, title: 'One', genres: ['Drama'] },
          { movieId: 2, title: 'Two', genres: [] },
        ],
        [{ movieId: 3, sum: 8, count: 2 }],
      ),
    );
    await Promise.all([a.untilHeard([1, 2, 3]), b.untilHeard([1, 2, 3])]);

    // A stale mean (lower count) and a title unchanged change nothing: only 2 (new title) and 4 (new) are heard.
    const before = a.events.length;
    await applySinkBatch(
      pool,
      batch(
        3,
        7,
        [
          { movieId: 1, title: 'One', genres: ['Drama'] },
          { movieId: 2, title: 'Two (fixed)', genres: [] },
        ],
        [
          { movieId: 3, sum: 1, count: 1 },
          { movieId: 4, sum: 5, count: 1 },
        ],
      ),
    );
    await a.untilHeard([4]);
    expect(new Set(a.events.slice(before).flat())).toEqual(new Set([2, 4]));

    // A batch whose COMMIT fails (a deferred constraint trigger, checked at commit: after its pg_notify ran)
    // is rolled back, notifications included.
    await pool.query(`
      CREATE FUNCTION refuse_666() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
      CREATE CONSTRAINT TRIGGER refuse_666 AFTER INSERT OR UPDATE ON movie_data DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.movie_id = 666) EXECUTE FUNCTION refuse_666();`);
    await expect(
      applySinkBatch(
        pool,
        batch(
          7,
          9,
          [],
          [
            { movieId: 5, sum: 4, count: 1 },
            { movieId: 666, sum: 4, count: 1 },
          ],
        ),
      ),
    ).rejects.toThrow('refused at commit');
    expect((await pool.query('SELECT 1 FROM movie_data WHERE movie_id IN (5, 666)')).rowCount).toBe(0);
    // Notifications come in commit order on one connection: once the next batch's ids are heard, the refused
    // one's would have been heard before them.
    await applySinkBatch(pool, batch(7, 9, [], [{ movieId: 7, sum: 3, count: 1 }]));
    await Promise.all([a.untilHeard([7]), b.untilHeard([7])]);
    for (const r of [a, b]) expect([...r.heard()].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 7]);
    // A replayed batch changes nothing and says nothing.
    expect((await applySinkBatch(pool, batch(7, 9, [], [{ movieId: 8, sum: 3, count: 1 }]))).status).toBe('replayed');
    await applySinkBatch(pool, batch(9, 10, [], [{ movieId: 9, sum: 3, count: 1 }]));
    await a.untilHeard([9]);
    expect(a.heard().has(8)).toBe(false);
  });

  it('after its connection is terminated it reconnects, says anything may have changed, and hears later batches', async () => {
    const logger = memoryLogger();
    const r = record(feed(logger));
    await r.untilAnything(1);
    await applySinkBatch(pool, batch(0, 1, [], [{ movieId: 10, sum: 4, count: 1 }]));
    await r.untilHeard([10]);

    for (let round = 2; round <= 3; round++) {
      const killed = await pool.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
        [MOVIE_CHANGES_APPLICATION_NAME],
      );
      expect(killed.rowCount).toBe(1);
      await r.untilAnything(round);
      const id = 10 + round;
      await applySinkBatch(pool, batch(round - 1, round, [], [{ movieId: id, sum: 4, count: 1 }]));
      await r.untilHeard([id]);
    }
    expect(r.events).toEqual([undefined, [10], undefined, [12], undefined, [13]]);
    expect(logger.lines.filter((l) => l.startsWith('warn movie changes: LISTEN connection lost'))).toHaveLength(2);
    expect(logger.lines.filter((l) => l.startsWith('info movie changes: listening again'))).toHaveLength(2);
  });

  it('a batch of 20,000 movies (several notifications under the 8000-byte limit) is heard whole', async () => {
    const r = record(feed());
    await r.untilAnything(1);
    // Ten-digit ids too: the longest payload entries.
    const ids = [...Array.from({ length: 10_000 }, (_, i) => i + 1), ...Array.from({ length: 10_000 }, (_, i) => 2_147_000_000 + i * 37)];
    await applySinkBatch(
      pool,
      batch(
        0,
        20_000,
        [],
        ids.map((movieId) => ({ movieId, sum: 3, count: 1 })),
      ),
    );
    await r.untilHeard(ids);
    expect(r.heard()).toEqual(new Set(ids));
  });

  it('close() ends its connection and tells subscribers nothing more', async () => {
    const r = record(feed());
    await r.untilAnything(1);
    const listeners = async () =>
      (
        await pool.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [
          MOVIE_CHANGES_APPLICATION_NAME,
        ])
      ).rowCount;
    expect(await listeners()).toBe(1);
    await feeds[0]!.close();
    // close() resolves once the Terminate is sent; the server ends the backend a moment later.
    while (await listeners()) await new Promise((res) => setImmediate(res));
    // A second listener hears a later batch; the closed one heard nothing after its first event.
    const other = record(feed());
    await other.untilAnything(1);
    await applySinkBatch(pool, batch(0, 1, [], [{ movieId: 3, sum: 4, count: 1 }]));
    await other.untilHeard([3]);
    expect(r.events).toEqual([undefined]);
  });
});
