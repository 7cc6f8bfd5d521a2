// The live API from PostgreSQL and from the in-memory table: the same data gives the same answers, and
// both agree with a plain computation over the data.
import { memoryMovieQueries, withMovieApi, type MovieView } from '@movie-stream/movie-api';
import { NO_GENRES, type MovieDataRow } from '@movie-stream/movie-data';
import { startHttpServer, type HttpServer } from '@movie-stream/observability';
import { Pool } from 'pg';
import { applySinkBatch, type SinkMean, type SinkMovie } from './batches';
import { migrate } from './migrate';
import { pgMovieQueries } from './queries';
import { createTestDatabase, describeWithPostgres, memoryLogger, TestDatabase } from './test-postgres';

const GENRES = ['Action', 'Comedy', 'Drama', 'Film-Noir', 'Sci-Fi', 'Children'];

describeWithPostgres('movie API: PostgreSQL and in-memory give the same answers', () => {
  let db: TestDatabase;
  let pool: Pool;
  let servers: { pg: HttpServer; mem: HttpServer };
  const movies: SinkMovie[] = [];
  const means: SinkMean[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 4 });
    await migrate(pool, memoryLogger());
    // 600 movies: some unnamed (ratings only), some unrated, some without genres, ties in mean and count.
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let id = 1; id <= 600; id++) {
      if (id % 17 !== 0)
        movies.push({ movieId: id, title: `Movie ${id} (${1950 + (id % 70)})`, genres: GENRES.filter(() => rand() < 0.35) });
      if (id % 13 !== 0) {
        const count = 1 + Math.floor(rand() * 120);
        // Half-star sums; a coarse grid of means makes ties, which the order must break the same way.
        means.push({ movieId: id, sum: count * (1 + Math.floor(rand() * 8)) * 0.5, count });
      }
    }
    await applySinkBatch(pool, {
      groupId: 'sink',
      movies,
      means,
      offsets: [{ topic: 'movies', partition: 0, firstOffset: '0', nextOffset: '600' }],
    });

    const rows = new Map<number, MovieDataRow>();
    for (const m of movies)
      rows.set(m.movieId, { movieId: m.movieId, title: m.title, genres: m.genres.length ? m.genres.join('|') : NO_GENRES, count: 0 });
    for (const m of means) {
      const r = rows.get(m.movieId) ?? { movieId: m.movieId, title: '', genres: '', count: 0 };
      rows.set(m.movieId, { ...r, mean: m.sum / m.count, count: m.count });
    }
    const serve = (q: Parameters<typeof withMovieApi>[0]) =>
      startHttpServer({ host: '127.0.0.1', port: 0, ...withMovieApi(q, { routes: {} }) });
    servers = { pg: await serve(pgMovieQueries(pool)), mem: await serve(memoryMovieQueries(rows)) };
  });
  afterAll(async () => {
    await servers?.pg.close();
    await servers?.mem.close();
    await pool?.end();
    await db?.drop();
  });

  const get = async (server: HttpServer, path: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: res.status, body: (await res.text()).trim() };
  };

  /** The plain computation: filter, sort by mean, count, id. */
  function expectedTop(top: number, minRatings: number, genre?: string): MovieView[] {
    const named = new Map(movies.map((m) => [m.movieId, m]));
    return means
      .filter((m) => m.count >= minRatings && (genre === undefined || named.get(m.movieId)?.genres.includes(genre)))
      .map((m) => {
        const n = named.get(m.movieId);
        return { movieId: m.movieId, title: n?.title ?? null, genres: n?.genres ?? null, mean: m.sum / m.count, count: m.count };
      })
      .sort((a, b) => b.mean - a.mean || b.count - a.count || a.movieId - b.movieId)
      .slice(0, top);
  }

  it('answers every query the same from both, equal to the plain computation', async () => {
    const queries: string[] = [];
    for (const top of [1, 10, 37, 1000])
      for (const min of [undefined, 1, 50, 119, 1000])
        for (const genre of [undefined, ...GENRES, 'Western']) {
          const q = new URLSearchParams({
            top: String(top),
            ...(min !== undefined && { minRatings: String(min) }),
            ...(genre && { genre }),
          });
          queries.push(`/api/movies?${q}`);
          const body = JSON.parse((await get(servers.pg, `/api/movies?${q}`)).body);
          expect([q.toString(), body.movies]).toEqual([q.toString(), expectedTop(top, min ?? 1, genre)]);
        }
    for (const id of [1, 13, 17, 221, 600, 601, 0, 'x']) queries.push(`/api/movies/${id}`);
    queries.push('/api/movies', '/api/movies?top=0', '/api/movies?genre=', '/api/movies?what=1');
    for (const q of queries) {
      const [a, b] = await Promise.all([get(servers.pg, q), get(servers.mem, q)]);
      expect([q, a]).toEqual([q, b]);
    }
    // Some answers are non-trivial: ties broken, unnamed and unrated movies present.
    expect(JSON.parse((await get(servers.pg, '/api/movies/17')).body)).toEqual({
      movieId: 17,
      title: null,
      genres: null,
      mean: means.find((m) => m.movieId === 17)!.sum / means.find((m) => m.movieId === 17)!.count,
      count: means.find((m) => m.movieId === 17)!.count,
    });
    expect(JSON.parse((await get(servers.pg, '/api/movies/13')).body)).toEqual(
      expect.objectContaining({ movieId: 13, mean: null, count: 0 }),
    );
    expect((await get(servers.pg, '/api/movies/601')).status).toBe(404);
    const all = expectedTop(1000, 1);
    expect(all.some((m, i) => i > 0 && m.mean === all[i - 1]!.mean)).toBe(true);
  }, 60_000);
});
