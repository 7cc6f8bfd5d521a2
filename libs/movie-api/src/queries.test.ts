import fc from 'fast-check';
import { MOVIE_DATA_COLUMNS, NO_GENRES, type MovieDataRow } from '@movie-stream/movie-data';
import { FrameTable } from '@movie-stream/storable-frame';
import { compareTop, lockedMovieQueries, memoryMovieQueries, viewOfRow, type ReadableMovieRows, type TopQuery } from './queries';

const GENRES = ['Comedy', 'Drama', 'Film-Noir'];
const partitionOf = (id: number) => id % 4;

/** The independent computation: filter, then sort the whole table by compareTop. */
function plainTop(rows: MovieDataRow[], q: TopQuery) {
  const parts = q.partitions && new Set(q.partitions);
  return rows
    .filter((r) => r.count >= Math.max(1, q.minRatings) && r.mean !== undefined)
    .map(viewOfRow)
    .filter((v) => q.genre === undefined || (v.genres ?? []).includes(q.genre))
    .filter((v) => !parts || parts.has(partitionOf(v.movieId)))
    .sort(compareTop)
    .slice(0, q.top);
}

// Few ids, means and counts: ties on mean and count are common, so the order's tie-breaks are exercised.
const rowArb = fc.record({
  movieId: fc.integer({ min: 1, max: 40 }),
  title: fc.constantFrom('', 'A', 'B (1995)'),
  genres: fc.constantFrom('', NO_GENRES, 'Comedy', 'Drama|Comedy', 'Film-Noir'),
  mean: fc.option(fc.constantFrom(1, 2.5, 3, 3.5, 5), { nil: undefined }),
  count: fc.integer({ min: 0, max: 5 }),
});
const queryArb: fc.Arbitrary<TopQuery> = fc.record(
  {
    top: fc.integer({ min: 1, max: 12 }),
    minRatings: fc.integer({ min: 1, max: 4 }),
    genre: fc.constantFrom(...GENRES),
    partitions: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  },
  { requiredKeys: ['top', 'minRatings'] },
);
type Step = { set: MovieDataRow } | { del: number } | { query: TopQuery; delay: number } | { yield: number };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: rowArb.map((set) => ({ set })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((del) => ({ del })) },
  { weight: 3, arbitrary: fc.record({ query: queryArb, delay: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }).map((n) => ({ yield: n })) },
);
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe('topMovies', () => {
  it('equals filtering and sorting the table, with changes between and during requests', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { maxLength: 60 }), async (steps) => {
        const table = new FrameTable<number, MovieDataRow>(MOVIE_DATA_COLUMNS);
        // What each read saw (the table when the query's lock was held), by the order of the calls.
        const seen: MovieDataRow[][] = [];
        let delayNext = 0;
        const read = async <T>(fn: (rows: ReadableMovieRows) => T): Promise<T> => {
          const i = seen.push([]) - 1;
          await turns(delayNext);
          seen[i] = [...table.values()];
          return fn(table);
        };
        const q = lockedMovieQueries(read, { partitionOf });
        const asked: { query: TopQuery; at: number; answer: Promise<unknown> }[] = [];
        for (const s of steps) {
          if ('set' in s) table.set(s.set.movieId, { ...s.set });
          else if ('del' in s) table.delete(s.del);
          else if ('yield' in s) await turns(s.yield);
          else {
            delayNext = s.delay;
            asked.push({ query: s.query, at: seen.length, answer: q.topMovies(s.query).then((a) => a.movies) });
          }
        }
        for (const a of asked) expect([a.query, await a.answer]).toEqual([a.query, plainTop(seen[a.at], a.query)]);
      }),
      { numRuns: 300 },
    );
  });

  it('ranks the table once per change: concurrent requests of one version share the ranking', async () => {
    const rows = new Map<number, MovieDataRow>();
    for (let id = 1; id <= 50; id++) rows.set(id, { movieId: id, title: `M${id}`, genres: 'Drama', mean: (id % 7) / 2, count: id % 5 });
    let walks = 0;
    let version = 0;
    const table: ReadableMovieRows = {
      get: (id) => rows.get(id),
      values: () => (walks++, rows.values()),
      get version() {
        return version;
      },
    };
    const q = memoryMovieQueries(table);
    const queries: TopQuery[] = [
      { top: 5, minRatings: 1 },
      { top: 3, minRatings: 3 },
      { top: 50, minRatings: 1, genre: 'Drama' },
    ];
    const answers = await Promise.all([...queries, ...queries].map((x) => q.topMovies(x)));
    expect(walks).toBe(1);
    expect(answers.map((a) => a.movies)).toEqual([...queries, ...queries].map((x) => plainTop([...rows.values()], x)));
    expect((await q.topMovies(queries[0])).movies).toEqual(plainTop([...rows.values()], queries[0]));
    expect(walks).toBe(1);
    rows.set(3, { movieId: 3, title: 'M3', genres: 'Drama', mean: 5, count: 4 });
    version++;
    expect((await q.topMovies(queries[0])).movies).toEqual(plainTop([...rows.values()], queries[0]));
    expect(walks).toBe(2);
    // Answers are copies: changing one does not change the next.
    (await q.topMovies(queries[0])).movies[0].genres!.push('Changed');
    expect((await q.topMovies(queries[0])).movies).toEqual(plainTop([...rows.values()], queries[0]));
  });

  it('computes a movie partition once, and refuses a partitions query without partitionOf', async () => {
    const table = new FrameTable<number, MovieDataRow>(MOVIE_DATA_COLUMNS);
    for (let id = 1; id <= 20; id++) table.set(id, { movieId: id, title: 'T', genres: 'Drama', mean: id / 4, count: 2 });
    const calls: number[] = [];
    const q = memoryMovieQueries(table, { partitionOf: (id) => (calls.push(id), partitionOf(id)) });
    const query = { top: 20, minRatings: 1, partitions: [1, 3] };
    expect((await q.topMovies(query)).movies).toEqual(plainTop([...table.values()], query));
    table.set(5, { movieId: 5, title: 'T', genres: 'Drama', mean: 4, count: 3 });
    expect((await q.topMovies(query)).movies).toEqual(plainTop([...table.values()], query));
    expect(calls.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await expect(memoryMovieQueries(table).topMovies(query)).rejects.toThrow(/partitionOf/);
  });
});
