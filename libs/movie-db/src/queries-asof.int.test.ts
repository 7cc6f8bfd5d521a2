// pgMovieQueries' asOf: the sink group's offsets from the same snapshot as the rows.
import type { AsOf } from '@movie-stream/movie-api';
import { Pool } from 'pg';
import { applyRatingsBatch, applySinkBatch } from './batches';
import { migrate } from './migrate';
import { pgMovieQueries } from './queries';
import { createTestDatabase, describeWithPostgres, memoryLogger, TestDatabase } from './test-postgres';

jest.setTimeout(60_000);

describeWithPostgres('pgMovieQueries with the sink group: answers carry asOf', () => {
  let db: TestDatabase;
  let pool: Pool;
  beforeEach(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 4 });
    await migrate(pool, memoryLogger());
  });
  afterEach(async () => {
    await pool.end();
    await db.drop();
  });

  it('asOf is the offsets committed with the batches, of the group only; the rows are those without asOf', async () => {
    const q = pgMovieQueries(pool, { groupId: 'sink' });
    const plain = pgMovieQueries(pool);
    expect(await q.getMovie(1)).toEqual({ movie: undefined, asOf: {} });
    expect(await q.topMovies({ top: 10, minRatings: 1 })).toEqual({ movies: [], asOf: {} });

    const off = (topic: string, partition: number, first: number, next: number) => ({
      topic,
      partition,
      firstOffset: String(first),
      nextOffset: String(next),
    });
    await applySinkBatch(pool, {
      groupId: 'sink',
      movies: [{ movieId: 1, title: 'One', genres: ['Drama'] }],
      means: [],
      offsets: [off('movies', 0, 0, 3)],
    });
    await applySinkBatch(pool, {
      groupId: 'sink',
      movies: [],
      means: [
        { movieId: 1, sum: 9, count: 2 },
        { movieId: 2, sum: 4, count: 1 },
      ],
      offsets: [off('mean-ratings', 0, 5, 8), off('mean-ratings', 1, 10, 13)],
    });
    // Another group's offsets (a processor in the same database) are not the sink's.
    await applyRatingsBatch(pool, { groupId: 'proc', ...off('ratings', 0, 0, 40), deltas: [{ movieId: 9, sum: 1, count: 1 }] });
    await applySinkBatch(pool, { groupId: 'other-sink', movies: [], means: [], offsets: [off('movies', 2, 0, 1)] });

    const asOf: AsOf = { 0: { movies: '3', 'mean-ratings': '8' }, 1: { 'mean-ratings': '13' } };
    expect(await q.getMovie(1)).toEqual({ ...(await plain.getMovie(1)), asOf });
    expect((await q.getMovie(1)).movie).toEqual({ movieId: 1, title: 'One', genres: ['Drama'], mean: 4.5, count: 2 });
    expect(await q.getMovie(3)).toEqual({ movie: undefined, asOf });
    for (const query of [
      { top: 10, minRatings: 1 },
      { top: 1, minRatings: 1 },
      { top: 10, minRatings: 2 },
      { top: 10, minRatings: 1, genre: 'Drama' },
    ]) {
      expect(await q.topMovies(query)).toEqual({ ...(await plain.topMovies(query)), asOf });
    }
    expect((await q.topMovies({ top: 10, minRatings: 1 })).movies.map((m) => m.movieId)).toEqual([1, 2]);
    expect(await q.topMovies({ top: 10, minRatings: 3 })).toEqual({ movies: [], asOf });
  });

  it('each answer is of one snapshot: its rows are exactly the batches up to its asOf, while batches commit', async () => {
    // Batch k (offsets k-1..k) gives movies 1 and 2 count k: an answer's counts must equal its offset.
    const q = pgMovieQueries(pool, { groupId: 'sink' });
    const BATCHES = 300;
    const writer = (async () => {
      for (let k = 1; k <= BATCHES; k++)
        await applySinkBatch(pool, {
          groupId: 'sink',
          movies: [],
          means: [
            { movieId: 1, sum: 4 * k, count: k },
            { movieId: 2, sum: 3 * k, count: k },
          ],
          offsets: [{ topic: 'mean-ratings', partition: 0, firstOffset: String(k - 1), nextOffset: String(k) }],
        });
    })();
    let done = false;
    void writer.finally(() => (done = true));
    let answers = 0;
    const seen = new Set<string>();
    while (!done) {
      const [m, t] = await Promise.all([q.getMovie(2), q.topMovies({ top: 5, minRatings: 1 })]);
      const at = m.asOf?.['0']?.['mean-ratings'];
      expect([at, m.movie?.count]).toEqual([at, at === undefined ? undefined : Number(at)]);
      const tAt = t.asOf?.['0']?.['mean-ratings'];
      expect([tAt, t.movies.map((v) => v.count)]).toEqual([tAt, tAt === undefined ? [] : [Number(tAt), Number(tAt)]]);
      if (at) seen.add(at);
      answers++;
    }
    await writer;
    // Answers were read while batches committed (not all before or all after).
    expect(answers).toBeGreaterThan(1);
    expect(seen.size).toBeGreaterThan(1);
  });

  it('the top query with asOf still walks movie_data_top', async () => {
    const N = 20_000;
    await applySinkBatch(pool, {
      groupId: 'sink',
      movies: [],
      means: Array.from({ length: N }, (_, i) => ({ movieId: i + 1, sum: ((i * 7919) % 10) + 1, count: 1 + (i % 300) })),
      offsets: [{ topic: 'mean-ratings', partition: 0, firstOffset: '0', nextOffset: String(N) }],
    });
    await pool.query('ANALYZE movie_data');
    // The statement pgMovieQueries sends, caught on its way to the pool, then explained.
    let sent: { sql: string; params: unknown[] } | undefined;
    const catcher = {
      query: async (sql: string, params: unknown[]) => {
        sent = { sql, params };
        throw new Error('caught');
      },
    } as unknown as Pool;
    await expect(pgMovieQueries(catcher, { groupId: 'sink' }).topMovies({ top: 10, minRatings: 50 })).rejects.toThrow('caught');
    const plan = (await pool.query(`EXPLAIN ${sent!.sql}`, sent!.params)).rows.map((r) => r['QUERY PLAN'] as string).join('\n');
    expect(plan).toContain('Index Scan using movie_data_top on movie_data');
    expect(plan).not.toContain('Seq Scan on movie_data');
  });
});
