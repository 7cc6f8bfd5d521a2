// Routing across instances without a broker: three "instances" (one routed query set each) over one
// table split by partition, the directory and the HTTP hop faked; answers compared with one plain table.
import { HttpError } from '@movie-stream/observability';
import { compareTop, type MovieQueries, type MovieView, type TopQuery } from './queries';
import { routedMovieQueries, type Directory, type RoutingOptions } from './routing';

const COUNT = 3;
const partitionOf = (id: number) => (id * 7) % COUNT;
const movies: MovieView[] = Array.from({ length: 60 }, (_, i) => ({
  movieId: i + 1,
  title: `m${i + 1}`,
  genres: i % 2 ? ['Comedy'] : ['Drama'],
  mean: i % 5 === 0 ? null : ((i * 37) % 9) / 2 + 0.5,
  count: i % 5 === 0 ? 0 : (i % 4) + 1,
}));

/** One instance's table: only its partitions' movies, answering as of offsets that name the partition. */
function localOf(partitions: number[]): MovieQueries {
  const mine = movies.filter((m) => partitions.includes(partitionOf(m.movieId)));
  const asOf = (ps: readonly number[]) => Object.fromEntries(ps.map((p) => [String(p), { ratings: `${p}00` }]));
  return {
    getMovie: async (id) => ({ movie: mine.find((m) => m.movieId === id), asOf: asOf([partitionOf(id)]) }),
    topMovies: async (q) => ({ movies: plainTop(q, mine), asOf: asOf(q.partitions ?? partitions) }),
  };
}

function plainTop(q: TopQuery, from = movies): MovieView[] {
  return from
    .filter((m) => m.mean !== null && m.count >= q.minRatings)
    .filter((m) => q.genre === undefined || m.genres?.includes(q.genre))
    .filter((m) => q.partitions === undefined || q.partitions.includes(partitionOf(m.movieId)))
    .sort(compareTop)
    .slice(0, q.top);
}

interface Cluster {
  directory: Directory;
  running: Map<string, Set<number>>;
  down: Set<string>;
  calls: string[];
  instances: Map<string, ReturnType<typeof routedMovieQueries>>;
}

/** Instances a, b, c own partitions 0, 1, 2; the HTTP hop calls the owner's internal routes in memory. */
function cluster(): Cluster {
  const names = ['http://a', 'http://b', 'http://c'];
  const c: Cluster = {
    directory: { state: 'Stable', owners: new Map(names.map((n, p) => [p, n])) },
    running: new Map(),
    down: new Set(),
    calls: [],
    instances: new Map(),
  };
  names.forEach((self, p) => {
    c.running.set(self, new Set([p]));
    const opts: RoutingOptions = {
      local: localOf([p]),
      self,
      partitioning: async () => ({ count: COUNT, partitionOf }),
      running: () => c.running.get(self)!,
      directory: async () => c.directory,
      invalidate: () => undefined,
      timeoutMs: 1000,
      get: async (url) => {
        c.calls.push(url);
        const u = new URL(url);
        const owner = `${u.protocol}//${u.host}`;
        if (c.down.has(owner)) throw new Error('connect ECONNREFUSED');
        const target = c.instances.get(owner)!;
        let status = 200;
        let body: unknown;
        const res = {
          writeHead: (s: number) => ((status = s), res),
          end: (text: string) => (body = JSON.parse(text)),
        };
        const route = target.routes[u.pathname] ?? target.fallback;
        try {
          await route({} as never, res as never, u);
        } catch (e) {
          status = e instanceof HttpError ? e.status : 500;
          body = (e as Error).message;
        }
        return { status, body };
      },
    };
    c.instances.set(self, routedMovieQueries(opts));
  });
  return c;
}

describe('routedMovieQueries', () => {
  it('answers every movie from every instance: its own partition locally, the others forwarded to their owner', async () => {
    const c = cluster();
    let p = 0;
    for (const inst of c.instances.values()) {
      const before = c.calls.length;
      for (const m of movies) {
        const answer = await inst.queries.getMovie(m.movieId);
        expect(answer.movie).toEqual(m);
        expect(Object.keys(answer.asOf ?? {})).toEqual([String(partitionOf(m.movieId))]);
      }
      expect(await inst.queries.getMovie(999)).toEqual({
        movie: undefined,
        asOf: { [partitionOf(999)]: { ratings: `${partitionOf(999)}00` } },
      });
      // Only the other partitions' movies went over the hop.
      const others = [...movies.map((m) => m.movieId), 999].filter((id) => partitionOf(id) !== p).length;
      expect(c.calls.length - before).toBe(others);
      p++;
    }
  });

  it('gives the same global top-N from every instance, equal to a plain computation over all movies', async () => {
    const c = cluster();
    for (const q of [
      { top: 10, minRatings: 1 },
      { top: 5, minRatings: 3, genre: 'Comedy' },
      { top: 100, minRatings: 1 },
    ] as TopQuery[]) {
      const answers = await Promise.all([...c.instances.values()].map((i) => i.queries.topMovies(q)));
      for (const a of answers) {
        expect(a.movies).toEqual(plainTop(q));
        expect(Object.keys(a.asOf ?? {}).sort()).toEqual(['0', '1', '2']);
      }
    }
  });

  it('answers 503 with Retry-After, never a 404 or a partial list, while partitions move', async () => {
    const c = cluster();
    const a = c.instances.get('http://a')!.queries;
    const ofPartition1 = movies.find((m) => partitionOf(m.movieId) === 1)!.movieId;
    const expect503 = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(HttpError);
      expect((e as HttpError).status).toBe(503);
      expect((e as HttpError).headers['retry-after']).toBe('1');
    };
    // A rebalance in progress.
    c.directory = { ...c.directory, state: 'PreparingRebalance' };
    await expect503(a.getMovie(ofPartition1));
    await expect503(a.topMovies({ top: 10, minRatings: 1 }));
    // Its own partition is still answered while it runs it.
    const own = movies.find((m) => partitionOf(m.movieId) === 0)!;
    expect((await a.getMovie(own.movieId)).movie).toEqual(own);
    // Stable again, but b lost partition 1 (its task stopped running) before the directory knew.
    c.directory = { ...c.directory, state: 'Stable' };
    c.running.get('http://b')!.delete(1);
    await expect503(a.getMovie(ofPartition1));
    await expect503(a.topMovies({ top: 10, minRatings: 1 }));
    // Assigned to a but not restored yet.
    c.directory = { state: 'Stable', owners: new Map([...c.directory.owners, [1, 'http://a']]) };
    await expect503(a.getMovie(ofPartition1));
    // The owner is down (killed, not yet out of the group).
    c.directory = { state: 'Stable', owners: new Map([...c.directory.owners, [1, 'http://b']]) };
    c.running.get('http://b')!.add(1);
    c.down.add('http://b');
    await expect503(a.getMovie(ofPartition1));
    await expect503(a.topMovies({ top: 10, minRatings: 1 }));
    c.down.clear();
    expect((await a.getMovie(ofPartition1)).movie?.movieId).toBe(ofPartition1);
  });

  it('internal routes refuse partitions not served here and bad input, and never forward', async () => {
    const c = cluster();
    const b = c.instances.get('http://b')!;
    const call = async (path: string) => {
      const u = new URL(`http://b${path}`);
      let status = 200;
      const res = { writeHead: (s: number) => ((status = s), res), end: () => undefined };
      try {
        await (b.routes[u.pathname] ?? b.fallback)({} as never, res as never, u);
      } catch (e) {
        status = (e as HttpError).status;
      }
      return status;
    };
    const ofPartition0 = movies.find((m) => partitionOf(m.movieId) === 0)!.movieId;
    const ofPartition1 = movies.find((m) => partitionOf(m.movieId) === 1)!.movieId;
    expect(await call(`/api/internal/movies/${ofPartition1}`)).toBe(200);
    expect(await call(`/api/internal/movies/${ofPartition0}`)).toBe(503);
    expect(await call('/api/internal/top?partitions=1&top=3&minRatings=1')).toBe(200);
    expect(await call('/api/internal/top?partitions=0,1&top=3&minRatings=1')).toBe(503);
    expect(await call('/api/internal/top?partitions=7&top=3')).toBe(400);
    expect(await call('/api/internal/top?partitions=x')).toBe(400);
    expect(await call('/api/internal/movies/abc')).toBe(400);
    expect(c.calls).toEqual([]);
  });
});
