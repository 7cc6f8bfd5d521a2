import { NO_GENRES, type MovieDataRow } from '@movie-stream/movie-data';
import { sendText, startHttpServer, type HttpServer } from '@movie-stream/observability';
import { lockedMovieQueries, memoryMovieQueries, withMovieApi } from './index';

const rows = new Map<number, MovieDataRow>();
const add = (r: MovieDataRow) => rows.set(r.movieId, r);
add({ movieId: 1, title: 'Toy Story (1995)', genres: 'Adventure|Animation|Comedy', mean: 3.9, count: 215 });
add({ movieId: 2, title: 'Jumanji (1995)', genres: 'Adventure|Fantasy', mean: 3.4, count: 110 });
add({ movieId: 3, title: 'Grumpier Old Men (1995)', genres: 'Comedy|Romance', mean: 3.9, count: 52 });
add({ movieId: 4, title: 'Unrated', genres: NO_GENRES, mean: undefined, count: 0 });
add({ movieId: 5, title: '', genres: '', mean: 5, count: 1 }); // ratings came before the movie
add({ movieId: 6, title: 'Tie', genres: 'Comedy', mean: 3.9, count: 52 });

let server: HttpServer;
const get = async (path: string) => {
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text.trim() };
};

beforeAll(async () => {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    ...withMovieApi(memoryMovieQueries(rows), {
      routes: { '/healthz': (_q, res) => sendText(res, 200, 'ok') },
      fallback: (_q, res) => sendText(res, 404, 'not found: try /metrics or /healthz'),
    }),
  });
});
afterAll(() => server.close());

describe('GET /api/movies/:id', () => {
  it('answers one movie as a view: genres as a list, null for what is not known yet', async () => {
    expect(await get('/api/movies/1')).toEqual({
      status: 200,
      body: { movieId: 1, title: 'Toy Story (1995)', genres: ['Adventure', 'Animation', 'Comedy'], mean: 3.9, count: 215 },
    });
    expect((await get('/api/movies/4')).body).toEqual({ movieId: 4, title: 'Unrated', genres: [], mean: null, count: 0 });
    expect((await get('/api/movies/5')).body).toEqual({ movieId: 5, title: null, genres: null, mean: 5, count: 1 });
  });

  it('answers 404 for an unknown movie and 400 with a reason for a bad id', async () => {
    expect(await get('/api/movies/99')).toEqual({ status: 404, body: 'no movie 99' });
    for (const bad of ['0', 'abc', '-1', '1.5', '2147483648', '99999999999', '1e3', '%31', '1/2'].map((b) => `/api/movies/${b}`)) {
      const r = await get(bad);
      expect([bad, r.status]).toEqual([bad, 400]);
      expect(r.body).toMatch(/^movie id must be an integer from 1 to 2147483647 \(got "/);
    }
    expect(await get('/api/movies/1?x=1')).toEqual({ status: 400, body: '/api/movies/<id> takes no query parameters' });
  });

  it('leaves the other routes alone', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok' });
    expect(await get('/nothing')).toEqual({ status: 404, body: 'not found: try /metrics or /healthz' });
  });
});

describe('GET /api/movies', () => {
  const ids = async (q: string) => ((await get(`/api/movies${q}`)).body.movies as { movieId: number }[]).map((m) => m.movieId);

  it('lists rated movies by mean, then count, then id; top, minRatings and genre filter', async () => {
    expect(await get('/api/movies')).toEqual({
      status: 200,
      body: { top: 10, minRatings: 1, movies: [5, 1, 3, 6, 2].map((id) => expect.objectContaining({ movieId: id })) },
    });
    expect(await ids('?top=2')).toEqual([5, 1]);
    expect(await ids('?top=10&minRatings=50')).toEqual([1, 3, 6, 2]);
    expect(await ids('?minRatings=53')).toEqual([1, 2]);
    expect(await get('/api/movies?genre=Comedy&top=2')).toEqual({
      status: 200,
      body: {
        top: 2,
        minRatings: 1,
        genre: 'Comedy',
        movies: [
          { movieId: 1, title: 'Toy Story (1995)', genres: ['Adventure', 'Animation', 'Comedy'], mean: 3.9, count: 215 },
          { movieId: 3, title: 'Grumpier Old Men (1995)', genres: ['Comedy', 'Romance'], mean: 3.9, count: 52 },
        ],
      },
    });
    expect(await ids('?genre=comedy')).toEqual([]); // exact, as MovieLens spells it
    expect(await ids('?genre=Film-Noir')).toEqual([]);
  });

  it('answers 400 with a reason for bad parameters', async () => {
    const cases: [string, string][] = [
      ['?top=0', 'top must be an integer from 1 to 1000 (got "0")'],
      ['?top=1001', 'top must be an integer from 1 to 1000 (got "1001")'],
      ['?top=ten', 'top must be an integer from 1 to 1000 (got "ten")'],
      ['?top=', 'top must be an integer from 1 to 1000 (got "")'],
      ['?minRatings=-5', 'minRatings must be an integer from 1 to 9007199254740991 (got "-5")'],
      ['?minRatings=0', 'minRatings must be an integer from 1 to 9007199254740991 (got "0")'],
      ['?mintRatings=50', 'unknown query parameter mintRatings: use top, minRatings, genre'],
      ['?top=1&top=2', 'top given more than once'],
      ['?genre=', 'genre must be a genre name of 1 to 100 characters, e.g. Comedy'],
      [`?genre=${'x'.repeat(101)}`, 'genre must be a genre name of 1 to 100 characters, e.g. Comedy'],
    ];
    for (const [q, reason] of cases) expect([q, await get(`/api/movies${q}`)]).toEqual([q, { status: 400, body: reason }]);
  });
});

describe('lockedMovieQueries', () => {
  it('answers as the in-memory queries do, each query inside the read lock it is given', async () => {
    let reads = 0;
    let inside = false;
    const q = lockedMovieQueries(async (fn) => {
      reads++;
      inside = true;
      try {
        return fn(rows);
      } finally {
        inside = false;
      }
    });
    const plain = memoryMovieQueries(rows);
    expect(await q.getMovie(1)).toEqual(await plain.getMovie(1));
    expect(await q.topMovies({ top: 3, minRatings: 50, genre: 'Comedy' })).toEqual(
      await plain.topMovies({ top: 3, minRatings: 50, genre: 'Comedy' }),
    );
    expect(reads).toBe(2);
    expect(inside).toBe(false);
  });
});
