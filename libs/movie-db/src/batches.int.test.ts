import { Pool } from 'pg';
import { applyRatingsBatch, applySinkBatch, loadOffsets, loadResumeOffsets, SinkMean, SinkMovie } from './batches';
import { migrate } from './migrate';
import { BatchOffsets, OffsetOverlapError } from './offsets';
import { createTestDatabase, describeWithPostgres, memoryLogger, TestDatabase } from './test-postgres';

/** Deterministic random numbers (mulberry32): a failing seed can be run again. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

interface Log<T> {
  topic: string;
  partition: number;
  records: T[];
}

const off = (topic: string, partition: number, first: number, next: number): BatchOffsets => ({
  topic,
  partition,
  firstOffset: String(first),
  nextOffset: String(next),
});

describeWithPostgres('exactly-once batches against PostgreSQL', () => {
  let db: TestDatabase;
  const pools: Pool[] = [];
  const pool = () => {
    const p = new Pool({ connectionString: db.url, max: 2 });
    pools.push(p);
    return p;
  };
  beforeEach(async () => {
    db = await createTestDatabase();
    await migrate(pool(), memoryLogger());
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await db.drop();
  });

  const movieTable = async (p: Pool) =>
    (
      await p.query<{
        movie_id: number;
        title: string | null;
        genres: string[] | null;
        rating_sum: number;
        rating_count: string;
        mean: number | null;
      }>('SELECT movie_id, title, genres, rating_sum, rating_count, mean FROM movie_data ORDER BY movie_id')
    ).rows.map((r) => ({ ...r, rating_count: Number(r.rating_count) }));
  const fullTable = async (p: Pool) => (await p.query('SELECT * FROM movie_data ORDER BY movie_id')).rows;

  describe('applySinkBatch', () => {
    it('applies movies (latest wins) and means (highest count wins) with the offsets; a replayed batch changes nothing', async () => {
      const p = pool();
      const batch = {
        groupId: 'g',
        movies: [
          { movieId: 1, title: 'Toy Story (1995)', genres: ['Adventure', 'Animation'] },
          { movieId: 2, title: 'Jumanji', genres: [] },
          { movieId: 1, title: 'Toy Story (1995) fixed', genres: ['Animation'] },
        ],
        means: [
          { movieId: 1, sum: 9, count: 2 },
          { movieId: 3, sum: 4, count: 1 },
          { movieId: 1, sum: 7, count: 2 - 1 },
        ],
        offsets: [off('movies', 0, 0, 3), off('mean-ratings', 1, 10, 13)],
      };
      expect(await applySinkBatch(p, batch)).toEqual({ status: 'applied', rowsChanged: 3 });
      expect(await movieTable(p)).toEqual([
        { movie_id: 1, title: 'Toy Story (1995) fixed', genres: ['Animation'], rating_sum: 9, rating_count: 2, mean: 4.5 },
        { movie_id: 2, title: 'Jumanji', genres: [], rating_sum: 0, rating_count: 0, mean: null },
        { movie_id: 3, title: null, genres: null, rating_sum: 4, rating_count: 1, mean: 4 },
      ]);
      expect(await loadOffsets(p, 'g', ['movies', 'mean-ratings', 'other'])).toEqual({
        movies: { 0: '3' },
        'mean-ratings': { 1: '13' },
        other: {},
      });
      const before = await fullTable(p);
      expect(await applySinkBatch(p, batch)).toEqual({ status: 'replayed', rowsChanged: 0 });
      expect(await fullTable(p)).toEqual(before); // updated_at included
      // Another group is another consumer: its offsets are its own.
      expect(await loadOffsets(p, 'other-group', ['movies'])).toEqual({ movies: {} });
    });

    it('ignores a stale mean (lower count) and re-applies an equal one without a change', async () => {
      const p = pool();
      await applySinkBatch(p, { groupId: 'g', movies: [], means: [{ movieId: 7, sum: 20, count: 5 }], offsets: [off('m', 0, 0, 1)] });
      const before = await fullTable(p);
      const r = await applySinkBatch(p, {
        groupId: 'g',
        movies: [],
        means: [
          { movieId: 7, sum: 9, count: 3 },
          { movieId: 7, sum: 20, count: 5 },
        ],
        offsets: [off('m', 0, 1, 3)],
      });
      expect(r).toEqual({ status: 'applied', rowsChanged: 0 });
      expect(await fullTable(p)).toEqual(before);
      expect(await loadOffsets(p, 'g', ['m'])).toEqual({ m: { 0: '3' } });
      // A stale mean beside a new title of the same movie: the title changes, the mean stays.
      await applySinkBatch(p, {
        groupId: 'g',
        movies: [{ movieId: 7, title: 'Seven', genres: ['Drama'] }],
        means: [{ movieId: 7, sum: 2, count: 1 }],
        offsets: [off('m', 0, 3, 5)],
      });
      expect(await movieTable(p)).toEqual([{ movie_id: 7, title: 'Seven', genres: ['Drama'], rating_sum: 20, rating_count: 5, mean: 4 }]);
    });

    it('refuses a batch that straddles the stored offset, or is new for one partition and stored for another, changing nothing', async () => {
      const p = pool();
      await applySinkBatch(p, {
        groupId: 'g',
        movies: [{ movieId: 1, title: 'a', genres: [] }],
        means: [],
        offsets: [off('movies', 0, 0, 10)],
      });
      const before = await fullTable(p);
      const straddling = { groupId: 'g', movies: [{ movieId: 1, title: 'b', genres: [] }], means: [], offsets: [off('movies', 0, 5, 15)] };
      await expect(applySinkBatch(p, straddling)).rejects.toThrow(OffsetOverlapError);
      await expect(applySinkBatch(p, straddling)).rejects.toThrow('batch movies[0] 5..15 overlaps what the database holds (up to 10)');
      const mixed = { ...straddling, offsets: [off('movies', 0, 0, 10), off('movies', 1, 0, 4)] };
      await expect(applySinkBatch(p, mixed)).rejects.toThrow(
        /new for some partitions and already stored for others .*movies\[0\] 0\.\.10: replayed; movies\[1\] 0\.\.4: new/,
      );
      expect(await fullTable(p)).toEqual(before);
      expect(await loadOffsets(p, 'g', ['movies'])).toEqual({ movies: { 0: '10' } });
      // After a gap (compaction, transaction markers) a batch is new.
      expect((await applySinkBatch(p, { ...straddling, offsets: [off('movies', 0, 12, 15)] })).status).toBe('applied');
    });

    it('rejects bad input naming the row and field', async () => {
      const p = pool();
      const base = { groupId: 'g', movies: [] as SinkMovie[], means: [] as SinkMean[], offsets: [off('m', 0, 0, 1)] };
      await expect(applySinkBatch(p, { ...base, offsets: [] })).rejects.toThrow('sink batch has no offsets');
      await expect(applySinkBatch(p, { ...base, movies: [{ movieId: 0, title: 'x', genres: [] }] })).rejects.toThrow(
        'sink batch movies[0]: movieId 0 is not an integer from 1 to 2147483647',
      );
      await expect(applySinkBatch(p, { ...base, movies: [{ movieId: 4, title: 'x', genres: [''] }] })).rejects.toThrow(
        'sink batch movies[0] (movie 4): genres must be a list of non-empty strings',
      );
      await expect(applySinkBatch(p, { ...base, means: [{ movieId: 4, sum: Number.NaN, count: 1 }] })).rejects.toThrow(
        'sink batch means[0] (movie 4): sum NaN is not a finite number',
      );
      await expect(applySinkBatch(p, { ...base, means: [{ movieId: 4, sum: 1, count: 0 }] })).rejects.toThrow(
        'sink batch means[0] (movie 4): count 0 is not a positive integer',
      );
      await expect(applySinkBatch(p, { ...base, offsets: [off('m', 0, 5, 5)] })).rejects.toThrow('firstOffset 5 is not below nextOffset 5');
      await expect(applySinkBatch(p, { ...base, offsets: [{ ...off('m', 0, 0, 1), nextOffset: '1e3' }] })).rejects.toThrow(
        'nextOffset "1e3" is not an offset',
      );
      expect(await fullTable(p)).toEqual([]);
      expect(await loadOffsets(p, 'g', ['m'])).toEqual({ m: {} });
    });

    it(`random batches from two sinks at once, with replays and restarts, give the independent result exactly (seed ${SEED})`, async () => {
      const rand = rng(SEED);
      const pick = (n: number) => Math.floor(rand() * n);
      const MOVIES = 400;
      const movieLogs: Log<SinkMovie>[] = [0, 1].map((partition) => ({ topic: 'movies', partition, records: [] }));
      const meanLogs: Log<SinkMean>[] = [0, 1, 2].map((partition) => ({ topic: 'mean-ratings', partition, records: [] }));
      const genres = ['Action', 'Comedy', 'Drama', 'Sci-Fi', 'Film-Noir'];
      for (let i = 0; i < 1500; i++) {
        const movieId = 1 + pick(MOVIES);
        movieLogs[movieId % 2]!.records.push({ movieId, title: `Movie ${movieId} v${i}`, genres: genres.filter(() => rand() < 0.3) });
      }
      // The processor's absolute updates: counts rise per movie; a few stale ones (a processor's replay) mixed in.
      const totals = new Map<number, SinkMean>();
      for (let i = 0; i < 6000; i++) {
        const movieId = 1 + pick(MOVIES);
        const t = totals.get(movieId) ?? { movieId, sum: 0, count: 0 };
        const next = { movieId, sum: t.sum + (1 + pick(10)) / 2, count: t.count + 1 };
        totals.set(movieId, next);
        meanLogs[movieId % 3]!.records.push(next);
        if (rand() < 0.05 && t.count > 0) meanLogs[movieId % 3]!.records.push(t);
      }
      // Not co-partitioned on purpose: both sinks write rows of the same movies at once.
      const sinks = [
        { logs: [movieLogs[0]!, meanLogs[0]!, meanLogs[1]!] as Log<SinkMovie | SinkMean>[] },
        { logs: [movieLogs[1]!, meanLogs[2]!] as Log<SinkMovie | SinkMean>[] },
      ];
      let replays = 0;
      const run = async (logs: Log<SinkMovie | SinkMean>[]) => {
        const p = pool();
        const load = async () => {
          const stored = await loadOffsets(p, 'sink', ['movies', 'mean-ratings']);
          return logs.map((l) => Number(stored[l.topic]![String(l.partition)] ?? 0));
        };
        let pos = await load();
        let previous: Parameters<typeof applySinkBatch>[1] | undefined;
        while (logs.some((l, i) => pos[i]! < l.records.length)) {
          const batch = { groupId: 'sink', movies: [] as SinkMovie[], means: [] as SinkMean[], offsets: [] as BatchOffsets[] };
          const nextPos = [...pos];
          logs.forEach((l, i) => {
            const n = Math.min(l.records.length - pos[i]!, pick(400));
            if (n === 0) return;
            const records = l.records.slice(pos[i], pos[i]! + n);
            if (l.topic === 'movies') batch.movies.push(...(records as SinkMovie[]));
            else batch.means.push(...(records as SinkMean[]));
            batch.offsets.push(off(l.topic, l.partition, pos[i]!, pos[i]! + n));
            nextPos[i] = pos[i]! + n;
          });
          if (!batch.offsets.length) continue;
          expect((await applySinkBatch(p, batch)).status).toBe('applied');
          if (previous && rand() < 0.3) {
            expect(await applySinkBatch(p, previous)).toEqual({ status: 'replayed', rowsChanged: 0 });
            replays++;
          }
          previous = batch;
          // A restart now and then: the position comes from the database.
          pos = rand() < 0.2 ? await load() : nextPos;
          expect(pos).toEqual(nextPos);
        }
      };
      await Promise.all(sinks.map((s) => run(s.logs)));
      expect(replays).toBeGreaterThan(0);

      // The independent computation: the last movie record of each movie, the highest-count mean.
      const expected = new Map<
        number,
        { movie_id: number; title: string | null; genres: string[] | null; rating_sum: number; rating_count: number; mean: number | null }
      >();
      const get = (id: number) =>
        expected.get(id) ??
        expected.set(id, { movie_id: id, title: null, genres: null, rating_sum: 0, rating_count: 0, mean: null }).get(id)!;
      for (const l of movieLogs) for (const m of l.records) Object.assign(get(m.movieId), { title: m.title, genres: m.genres });
      for (const t of totals.values()) Object.assign(get(t.movieId), { rating_sum: t.sum, rating_count: t.count, mean: t.sum / t.count });
      expect(await movieTable(pools[0]!)).toEqual([...expected.values()].sort((a, b) => a.movie_id - b.movie_id));
      expect(await loadOffsets(pools[0]!, 'sink', ['movies', 'mean-ratings'])).toEqual({
        movies: { 0: String(movieLogs[0]!.records.length), 1: String(movieLogs[1]!.records.length) },
        'mean-ratings': Object.fromEntries(meanLogs.map((l) => [String(l.partition), String(l.records.length)])),
      });
    }, 120_000);

    it('takes a batch of 20 000 movies and 20 000 means in one statement each', async () => {
      const p = pool();
      const movies = Array.from({ length: 20_000 }, (_, i) => ({ movieId: i + 1, title: `t${i}`, genres: ['Drama'] }));
      const means = Array.from({ length: 20_000 }, (_, i) => ({ movieId: 20_000 - i, sum: 3.5 * (i + 1), count: i + 1 }));
      const started = Date.now();
      expect(
        await applySinkBatch(p, { groupId: 'g', movies, means, offsets: [off('movies', 0, 0, 20_000), off('mean-ratings', 0, 0, 20_000)] }),
      ).toEqual({
        status: 'applied',
        rowsChanged: 20_000,
      });
      process.stderr.write(`applySinkBatch of 20 000 movies + 20 000 means: ${Date.now() - started} ms\n`);
      const { rows } = await p.query(
        'SELECT count(*)::int AS n, sum(rating_count)::bigint AS c, min(mean) AS lo, max(mean) AS hi FROM movie_data',
      );
      expect(rows[0]).toEqual({ n: 20_000, c: String((20_000 * 20_001) / 2), lo: 3.5, hi: 3.5 });
    }, 60_000);
  });

  describe('applyRatingsBatch', () => {
    it('adds deltas once and returns the new absolute rows; a replay returns nothing and changes nothing; an overlap is refused', async () => {
      const p = pool();
      const b1 = {
        groupId: 'proc',
        ...off('ratings', 2, 0, 4),
        deltas: [
          { movieId: 5, sum: 3.5, count: 1 },
          { movieId: 1, sum: 9, count: 2 },
          { movieId: 5, sum: 1, count: 1 },
        ],
      };
      expect(await applyRatingsBatch(p, b1)).toEqual({
        status: 'applied',
        rowsChanged: 2,
        rows: [
          { movieId: 1, sum: 9, count: 2 },
          { movieId: 5, sum: 4.5, count: 2 },
        ],
      });
      expect(await applyRatingsBatch(p, b1)).toEqual({ status: 'replayed', rowsChanged: 0, rows: [] });
      const b2 = { groupId: 'proc', ...off('ratings', 2, 4, 6), deltas: [{ movieId: 5, sum: 5, count: 1 }] };
      expect((await applyRatingsBatch(p, b2)).rows).toEqual([{ movieId: 5, sum: 9.5, count: 3 }]);
      await expect(applyRatingsBatch(p, { ...b2, ...off('ratings', 2, 5, 8) })).rejects.toThrow(
        'batch ratings[2] 5..8 overlaps what the database holds (up to 6): send only the records from offset 6 on',
      );
      const state = await p.query('SELECT movie_id, rating_sum, rating_count::int AS c FROM movie_ratings_state ORDER BY 1');
      expect(state.rows).toEqual([
        { movie_id: 1, rating_sum: 9, c: 2 },
        { movie_id: 5, rating_sum: 9.5, c: 3 },
      ]);
      expect(await loadOffsets(p, 'proc', ['ratings'])).toEqual({ ratings: { 2: '6' } });
      // A batch whose ratings were all rejected still moves the offset.
      expect(await applyRatingsBatch(p, { groupId: 'proc', ...off('ratings', 2, 6, 9), deltas: [] })).toEqual({
        status: 'applied',
        rowsChanged: 0,
        rows: [],
      });
      expect(await loadOffsets(p, 'proc', ['ratings'])).toEqual({ ratings: { 2: '9' } });
    });

    it('keeps the published offset with the batches: a processor resumes there, never backwards nor past the stored offset; the sink at its stored offset', async () => {
      const p = pool();
      const batch = (first: number, next: number, publishedOffset?: number) => ({
        groupId: 'proc',
        ...off('ratings', 1, first, next),
        deltas: [{ movieId: 7, sum: 4, count: 1 }],
        ...(publishedOffset === undefined ? {} : { publishedOffset: String(publishedOffset) }),
      });
      const published = async () =>
        (await p.query('SELECT published_offset::int AS o FROM consumer_offsets WHERE group_id = $1', ['proc'])).rows[0].o;
      // The first batch is stored, not yet published: a crash now resumes at 0 and finds it stored.
      await applyRatingsBatch(p, batch(0, 10));
      expect([await published(), await loadResumeOffsets(p, 'proc', ['ratings'])]).toEqual([0, { ratings: { 1: '0' } }]);
      expect(await loadOffsets(p, 'proc', ['ratings'])).toEqual({ ratings: { 1: '10' } });
      // Its publish acknowledged, the next batch records it.
      await applyRatingsBatch(p, batch(10, 20, 10));
      expect(await loadResumeOffsets(p, 'proc', ['ratings'])).toEqual({ ratings: { 1: '10' } });
      // A replay read again after a crash records how far the publishes before it went; a lower (stale) value changes nothing.
      expect((await applyRatingsBatch(p, batch(10, 20, 20))).status).toBe('replayed');
      expect(await published()).toBe(20);
      await applyRatingsBatch(p, batch(20, 30, 5));
      expect(await published()).toBe(20);
      // Never past the stored offset.
      expect((await applyRatingsBatch(p, batch(20, 30, 99))).status).toBe('replayed');
      expect(await published()).toBe(30);
      // A partition the group wrote before migration 002 (NULL) resumes at its stored offset, as it did then.
      await p.query('UPDATE consumer_offsets SET published_offset = NULL');
      expect(await loadResumeOffsets(p, 'proc', ['ratings'])).toEqual({ ratings: { 1: '30' } });
      await applyRatingsBatch(p, batch(30, 40));
      expect(await published()).toBe(30);
      // The sink does not publish: it resumes at its stored offsets.
      await applySinkBatch(p, { groupId: 'sink', movies: [], means: [{ movieId: 7, sum: 4, count: 1 }], offsets: [off('means', 1, 0, 5)] });
      expect(await loadResumeOffsets(p, 'sink', ['means'])).toEqual({ means: { 1: '5' } });
    });

    it(`three processors sharing the table, ratings of every movie on every partition, with replays: exact sums, each count published once (seed ${SEED})`, async () => {
      const rand = rng(SEED + 1);
      const pick = (n: number) => Math.floor(rand() * n);
      const logs = [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, records: [] as { movieId: number; rating: number }[] }));
      // Not keyed: any movie on any partition, the hardest case for a shared table.
      for (let i = 0; i < 30_000; i++) logs[pick(6)]!.records.push({ movieId: 1 + pick(500), rating: (1 + pick(10)) / 2 });
      const published = new Map<number, number[]>();
      let replays = 0;
      const run = async (mine: typeof logs) => {
        const p = pool();
        const pos = mine.map(() => 0);
        while (mine.some((l, i) => pos[i]! < l.records.length)) {
          const i = pick(mine.length);
          const l = mine[i]!;
          const n = Math.min(l.records.length - pos[i]!, 1 + pick(800));
          if (n <= 0) continue;
          const deltas = l.records.slice(pos[i], pos[i]! + n).map((r) => ({ movieId: r.movieId, sum: r.rating, count: 1 }));
          const batch = { groupId: 'proc', ...off('ratings', l.partition, pos[i]!, pos[i]! + n), deltas };
          const res = await applyRatingsBatch(p, batch);
          expect(res.status).toBe('applied');
          for (const r of res.rows) published.set(r.movieId, [...(published.get(r.movieId) ?? []), r.count]);
          if (rand() < 0.25) {
            expect(await applyRatingsBatch(p, batch)).toEqual({ status: 'replayed', rowsChanged: 0, rows: [] });
            replays++;
          }
          pos[i] = pos[i]! + n;
        }
      };
      await Promise.all([run(logs.slice(0, 2)), run(logs.slice(2, 4)), run(logs.slice(4))]);
      expect(replays).toBeGreaterThan(0);

      const expected = new Map<number, { sum: number; count: number }>();
      for (const l of logs)
        for (const r of l.records) {
          const e = expected.get(r.movieId) ?? { sum: 0, count: 0 };
          expected.set(r.movieId, { sum: e.sum + r.rating, count: e.count + 1 });
        }
      const { rows } = await pools[0]!.query<{ movie_id: number; rating_sum: number; c: number }>(
        'SELECT movie_id, rating_sum, rating_count::int AS c FROM movie_ratings_state ORDER BY 1',
      );
      expect(rows).toEqual(
        [...expected.entries()].sort(([a], [b]) => a - b).map(([id, e]) => ({ movie_id: id, rating_sum: e.sum, c: e.count })),
      );
      // Every returned row is a new absolute state: per movie no count comes twice, and the highest is the total.
      for (const [id, counts] of published) {
        expect([id, new Set(counts).size]).toEqual([id, counts.length]);
        expect([id, Math.max(...counts)]).toEqual([id, expected.get(id)!.count]);
      }
      expect(await loadOffsets(pools[0]!, 'proc', ['ratings'])).toEqual({
        ratings: Object.fromEntries(logs.map((l) => [String(l.partition), String(l.records.length)])),
      });
    }, 120_000);
  });
});
