import { get as httpGet, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { NO_GENRES, type MovieDataRow } from '@movie-stream/movie-data';
import { HttpError, metricsRoute, sendText, startHttpServer, type HttpServer } from '@movie-stream/observability';
import { memoryMovieQueries, MovieChangeFeed, withMovieApi, type MovieApiOptions, type MovieQueries } from './index';

/** Polls `check` until it returns a value (not undefined) or `limitMs` passes. */
async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, limitMs = 20_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Sse {
  event?: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** An event-stream client that reads: its events, in order, as they arrive. */
class Stream {
  readonly events: Sse[] = [];
  private buf = '';
  private res?: IncomingMessage;
  private req?: ClientRequest;
  readonly response: Promise<IncomingMessage>;

  constructor(port: number, path: string) {
    this.response = new Promise((resolve, reject) => {
      this.req = httpGet({ host: '127.0.0.1', port, path }, (res) => {
        this.res = res;
        res.setEncoding('utf8');
        res.on('data', (d: string) => this.take(d));
        res.on('error', () => undefined);
        resolve(res);
      });
      this.req.on('error', reject);
    });
  }

  /** Waits for the `n`th event (from 1). */
  nth(n: number): Promise<Sse> {
    return waitFor(`event ${n}`, () => this.events[n - 1]);
  }

  /** Waits for an event after the first `after` that satisfies `ok`. */
  until(ok: (e: Sse) => boolean, after = 0): Promise<Sse> {
    return waitFor('an event', () => this.events.slice(after).find(ok));
  }

  close(): void {
    this.req?.destroy();
    this.res?.destroy();
  }

  private take(d: string): void {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      this.events.push({ ...(event && { event }), data: JSON.parse(data) });
    }
  }
}

const row = (movieId: number, mean: number | undefined, count: number, title = `Movie ${movieId}`, genres = 'Drama'): MovieDataRow => ({
  movieId,
  title,
  genres,
  mean,
  count,
});

let server: HttpServer | undefined;
let api: ReturnType<typeof withMovieApi> | undefined;
const streams: Stream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  api?.close();
  await server?.close();
  server = api = undefined;
});

async function serve(queries: MovieQueries, opts: MovieApiOptions, registry = new Registry()) {
  api = withMovieApi(
    queries,
    {
      routes: { '/healthz': (_q, res) => sendText(res, 200, 'ok'), '/metrics': metricsRoute({ registry } as never) },
    },
    { registry, ...opts },
  );
  server = await startHttpServer({ host: '127.0.0.1', port: 0, ...api });
  return server.port;
}
const open = (port: number, path: string) => {
  const s = new Stream(port, path);
  streams.push(s);
  return s;
};
const get = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text.trim(),
    res,
  };
};

describe('GET /api/movies/:id/events', () => {
  it('sends the movie on connect, each new mean, and the final one after a burst of changes', async () => {
    const rows = new Map([
      [1, row(1, 3, 1)],
      [2, row(2, 4, 1)],
    ]);
    const feed = new MovieChangeFeed();
    const port = await serve(memoryMovieQueries(rows), { changes: feed });
    const s = open(port, '/api/movies/1/events');
    const res = await s.response;
    expect([res.statusCode, res.headers['content-type']]).toEqual([200, 'text/event-stream']);
    expect(await s.nth(1)).toEqual({ data: (await get(port, '/api/movies/1')).body });
    for (let n = 2; n <= 5; n++) {
      rows.set(1, row(1, n / 2, n));
      feed.publish([7, 1]);
      expect(await s.nth(n)).toEqual({ data: { movieId: 1, title: 'Movie 1', genres: ['Drama'], mean: n / 2, count: n } });
    }
    // A burst: the stream may skip means in between, but ends on the last one, in order, never repeating one.
    for (let n = 6; n <= 60; n++) {
      rows.set(1, row(1, n / 20, n));
      feed.publish(n % 2 ? [1] : undefined);
    }
    await s.until((e) => e.data.count === 60, 4);
    const counts = s.events.map((e) => e.data.count);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(new Set(counts).size).toBe(counts.length);
    expect(s.events.at(-1)).toEqual({ data: (await get(port, '/api/movies/1')).body });
    // Another movie's change sends nothing here; the next own change shows it did not get lost either.
    const before = s.events.length;
    rows.set(2, row(2, 1, 9));
    feed.publish([2]);
    rows.set(1, row(1, 5, 61));
    feed.publish([1]);
    await s.until((e) => e.data.count === 61, before);
    expect(s.events.length).toBe(before + 1);
  });

  it('sends 404 and other HTTP errors as error events and goes on; a failure never ends the server', async () => {
    const rows = new Map<number, MovieDataRow>();
    const feed = new MovieChangeFeed();
    let failWith: Error | undefined;
    const plain = memoryMovieQueries(rows);
    const queries: MovieQueries = {
      getMovie: async (id) => {
        if (failWith) throw failWith;
        return plain.getMovie(id);
      },
      topMovies: (q) => plain.topMovies(q),
    };
    const errors: string[] = [];
    const port = await serve(queries, { changes: feed, onError: (e) => errors.push(e.message) });
    const s = open(port, '/api/movies/3/events');
    expect(await s.nth(1)).toEqual({ event: 'error', data: { status: 404, message: 'no movie 3' } });
    rows.set(3, row(3, 2, 1, '', ''));
    feed.publish([3]);
    expect(await s.nth(2)).toEqual({ data: { movieId: 3, title: null, genres: null, mean: 2, count: 1 } });
    failWith = new HttpError(503, 'rebalancing: try again shortly');
    feed.publish([3]);
    expect(await s.nth(3)).toEqual({ event: 'error', data: { status: 503, message: 'rebalancing: try again shortly' } });
    failWith = new Error('disk on fire');
    feed.publish([3]);
    expect(await s.nth(4)).toEqual({ event: 'error', data: { status: 500, message: 'internal error' } });
    expect(errors).toEqual(['disk on fire']);
    failWith = undefined;
    feed.publish(undefined);
    expect(await s.nth(5)).toEqual({ data: { movieId: 3, title: null, genres: null, mean: 2, count: 1 } });
    expect((await get(port, '/api/movies/3')).status).toBe(200);
  });

  it('polls when told to (changes of other instances are in no local feed)', async () => {
    const rows = new Map([[1, row(1, 3, 1)]]);
    const port = await serve(memoryMovieQueries(rows), { poll: true, pushIntervalMs: 20 });
    const s = open(port, '/api/movies/1/events');
    await s.nth(1);
    rows.set(1, row(1, 4, 2));
    expect(await s.nth(2)).toEqual({ data: (await get(port, '/api/movies/1')).body });
  });

  it('answers 400 with a reason to a bad id or any parameter, before any stream starts', async () => {
    const port = await serve(memoryMovieQueries(new Map()), {});
    for (const bad of ['0', 'abc', '-1', '2147483648', '1e3', '1/2', '']) {
      const r = await get(port, `/api/movies/${bad}/events`);
      expect([bad, r.status]).toEqual([bad, 400]);
      expect(r.body).toMatch(/^movie id must be an integer from 1 to 2147483647 \(got "/);
    }
    expect(await get(port, '/api/movies/1/events?x=1').then((r) => [r.status, r.body])).toEqual([
      400,
      '/api/movies/<id>/events takes no query parameters',
    ]);
  });
});

describe('GET /api/movies/top/events', () => {
  it('sends the top-N as GET /api/movies does, again after changes, one evaluation for streams of one query', async () => {
    const rows = new Map([
      [1, row(1, 3, 60, 'A', 'Comedy')],
      [2, row(2, 4, 70, 'B', 'Comedy|Drama')],
      [3, row(3, 5, 10, 'C', NO_GENRES)],
    ]);
    const feed = new MovieChangeFeed();
    const plain = memoryMovieQueries(rows);
    let evaluations = 0;
    const queries: MovieQueries = { getMovie: (id) => plain.getMovie(id), topMovies: (q) => (evaluations++, plain.topMovies(q)) };
    const port = await serve(queries, { changes: feed, pushIntervalMs: 10 });
    const path = 'top=2&minRatings=50&genre=Comedy';
    const a = open(port, `/api/movies/top/events?${path}`);
    const b = open(port, `/api/movies/top/events?${path}`);
    const expected = async () => ({ data: (await get(port, `/api/movies?${path}`)).body });
    const first = await a.nth(1);
    expect(first).toEqual(await expected());
    expect(first.data.movies.map((m: { movieId: number }) => m.movieId)).toEqual([2, 1]);
    expect(await b.nth(1)).toEqual(first);
    const before = evaluations;
    rows.set(1, row(1, 4.5, 61, 'A', 'Comedy'));
    feed.publish([1]);
    const second = await a.nth(2);
    expect(await b.nth(2)).toEqual(second);
    expect(second).toEqual(await expected());
    expect(second.data.movies.map((m: { movieId: number }) => m.movieId)).toEqual([1, 2]);
    expect(evaluations - before - 1).toBe(1); // one shared evaluation, and the GET above
    // A change that leaves the answer as it was sends nothing; the next real one arrives as the third.
    rows.set(3, row(3, 1, 11, 'C', NO_GENRES));
    feed.publish([3]);
    rows.set(2, row(2, 5, 80, 'B', 'Comedy|Drama'));
    feed.publish([2]);
    expect(await a.until((e) => e.data.movies[0].movieId === 2, 2)).toEqual(await expected());
    expect(a.events).toHaveLength(3);
  });

  it('answers 400 to the parameters GET /api/movies refuses', async () => {
    const port = await serve(memoryMovieQueries(new Map()), {});
    for (const [q, reason] of [
      ['?top=0', 'top must be an integer from 1 to 1000 (got "0")'],
      ['?minRatings=-5', 'minRatings must be an integer from 1 to 9007199254740991 (got "-5")'],
      ['?mintRatings=50', 'unknown query parameter mintRatings: use top, minRatings, genre'],
      ['?top=1&top=2', 'top given more than once'],
      ['?genre=', 'genre must be a genre name of 1 to 100 characters, e.g. Comedy'],
    ]) {
      const r = await get(port, `/api/movies/top/events${q}`);
      expect([q, r.status, r.body]).toEqual([q, 400, reason]);
    }
  });
});

describe('event stream bounds', () => {
  it('answers 503 with Retry-After beyond API_PUSH_MAX_CLIENTS, and takes a client again once one leaves', async () => {
    const registry = new Registry();
    const port = await serve(memoryMovieQueries(new Map([[1, row(1, 3, 1)]])), { pushMaxClients: 2 }, registry);
    const a = open(port, '/api/movies/1/events');
    const b = open(port, '/api/movies/top/events');
    await Promise.all([a.nth(1), b.nth(1)]);
    const c = await get(port, '/api/movies/1/events');
    expect([c.status, c.res.headers.get('retry-after'), c.body]).toEqual([503, '10', 'too many movie push clients (2)']);
    a.close();
    const d = await waitFor('a free slot', async () => {
      const s = new Stream(port, '/api/movies/1/events');
      streams.push(s);
      const res = await s.response;
      if (res.statusCode === 200) return s;
      s.close();
      return undefined;
    });
    expect((await d.nth(1)).data.movieId).toBe(1);
    expect(await registry.metrics()).toMatch(/movie_stream_api_push_clients_refused_total\{reason="full"\} [1-9]/);
  });

  it('drops a client that stops reading once its unsent bytes pass the bound, and keeps serving the others', async () => {
    // A big answer (1,000 movies with long titles, ~200 kB) that changes on every publish.
    const rows = new Map<number, MovieDataRow>();
    for (let id = 1; id <= 1000; id++) rows.set(id, row(id, 3, 1, `${'x'.repeat(150)} ${id}`));
    const feed = new MovieChangeFeed();
    const registry = new Registry();
    const warnings: string[] = [];
    const port = await serve(
      memoryMovieQueries(rows),
      { changes: feed, pushIntervalMs: 1, pushClientBufferBytes: 256 * 1024, logger: { warn: (w) => warnings.push(w) } },
      registry,
    );
    const slow = await new Promise<Socket>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('GET /api/movies/top/events?top=1000 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
        socket.once('data', () => {
          socket.pause(); // never reads again: the kernel's buffers fill, then the server's
          resolve(socket);
        });
      });
      socket.on('error', () => undefined);
    });
    const closed = new Promise<void>((r) => slow.once('close', () => r()));
    const fast = open(port, '/api/movies/top/events?top=1000');
    await fast.nth(1);
    let round = 0;
    await waitFor('the slow client to be dropped', async () => {
      round++;
      rows.set(1, row(1, 3 + round / 1e6, 1 + round, 'first'));
      feed.publish([1]);
      return /movie_stream_api_push_clients_refused_total\{reason="slow"\} 1\n/.test(await registry.metrics()) ? true : undefined;
    });
    slow.resume();
    await closed;
    // The reading client still gets every change; the JSON API still answers.
    rows.set(2, row(2, 5, 1000));
    feed.publish([2]);
    await fast.until((e) => e.data.movies[0].movieId === 2);
    expect((await get(port, '/api/movies/2')).status).toBe(200);
    expect(warnings.filter((w) => /closed a movie push event stream: \d+ bytes unsent \(limit 262144\)/.test(w))).toHaveLength(1);
  }, 60_000);
});

describe('the request cap', () => {
  it('answers one request over API_MAX_CONCURRENT_REQUESTS 503 with Retry-After; /healthz, /metrics and streams are not capped', async () => {
    const rows = new Map([[1, row(1, 3, 1)]]);
    const plain = memoryMovieQueries(rows);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let waiting = 0;
    const queries: MovieQueries = {
      getMovie: (id) => plain.getMovie(id),
      topMovies: async (q) => {
        waiting++;
        await gate;
        return plain.topMovies(q);
      },
    };
    const registry = new Registry();
    const port = await serve(queries, { maxConcurrentRequests: 3 }, registry);
    const slow = [1, 2, 3].map(() => get(port, '/api/movies?top=1'));
    await waitFor('three requests in progress', () => (waiting === 3 ? true : undefined));
    const over = await get(port, '/api/movies/1');
    expect([over.status, over.res.headers.get('retry-after'), over.body]).toEqual([
      503,
      '1',
      'too many movie API requests in progress (3): try again shortly',
    ]);
    expect((await get(port, '/healthz')).status).toBe(200);
    expect(await get(port, '/metrics').then((r) => r.body)).toMatch(/^movie_stream_api_requests_refused_total 1$/m);
    const s = open(port, '/api/movies/1/events');
    expect((await s.nth(1)).data.movieId).toBe(1);
    release();
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await get(port, '/api/movies/1')).status).toBe(200);
    // Refused and failed requests give their slot back too.
    expect((await get(port, '/api/movies/99')).status).toBe(404);
    const again = [1, 2, 3].map(() => get(port, '/api/movies?top=1'));
    expect((await Promise.all(again)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await registry.metrics()).toMatch(/^movie_stream_api_requests_refused_total 1$/m);
  });
});
