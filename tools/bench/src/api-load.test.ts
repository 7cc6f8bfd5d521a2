import { freePorts } from '@movie-stream/test-support';
import { sendText, startHttpServer, type HttpServer } from '@movie-stream/observability';
import {
  apiLoadTable,
  DEFAULT_API_MIX,
  EndpointStats,
  LatencyHistogram,
  mixCycle,
  parseApiMix,
  requestPath,
  startApiLoad,
  withApiClients,
  type Endpoint,
} from './api-load';
import type { Variant } from './bench';
import { percentile } from './freshness';
import { mulberry32 } from '@movie-stream/data-generator';

describe('the request mix', () => {
  it('parses weights; an endpoint left out weighs 0', () => {
    expect(parseApiMix('movie=8,top=1,genre=1')).toEqual(DEFAULT_API_MIX);
    expect(parseApiMix('top=3')).toEqual({ movie: 0, top: 3, genre: 0 });
    expect(() => parseApiMix('movies=1')).toThrow('"movies=1" is not ENDPOINT=WEIGHT');
    expect(() => parseApiMix('top')).toThrow('"top" is not ENDPOINT=WEIGHT');
    expect(() => parseApiMix('top=1.5')).toThrow('weight of top must be an integer 0 to 1000');
    expect(() => parseApiMix('top=0,movie=0')).toThrow('every weight is 0');
  });

  it('one cycle holds each endpoint as often as its weight, spread out', () => {
    for (const mix of [DEFAULT_API_MIX, { movie: 1, top: 1, genre: 1 }, { movie: 0, top: 2, genre: 5 }, { movie: 3, top: 0, genre: 0 }]) {
      const cycle = mixCycle(mix);
      const counts = { movie: 0, top: 0, genre: 0 };
      for (const e of cycle) counts[e]++;
      expect(counts).toEqual(mix);
    }
    // 8:1:1 → the two rare endpoints are not next to each other, and never more than 4 movies in a row
    const c = mixCycle(DEFAULT_API_MIX).join(',');
    expect(c).not.toMatch(/(top,genre|genre,top)/);
    expect((c + ',' + c).split(/top|genre/).map((run) => run.split('movie').length - 1)).not.toContain(5);
  });

  it('paths: a movie of the list, the top 10, a genre top 10 with the genres in turn', () => {
    const rnd = mulberry32(1);
    const ids = [3, 7, 11];
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(requestPath('movie', { movieIds: ids, genres: [], rnd, turn: i }));
    expect([...seen].sort()).toEqual(['/api/movies/11', '/api/movies/3', '/api/movies/7']);
    expect(requestPath('top', { movieIds: ids, genres: [], rnd, turn: 0 })).toBe('/api/movies?top=10&minRatings=1');
    const genres = ['Sci-Fi', 'Film Noir'];
    expect([0, 1, 2].map((turn) => requestPath('genre', { movieIds: ids, genres, rnd, turn }))).toEqual([
      '/api/movies?top=10&minRatings=1&genre=Sci-Fi',
      '/api/movies?top=10&minRatings=1&genre=Film%20Noir',
      '/api/movies?top=10&minRatings=1&genre=Sci-Fi',
    ]);
  });
});

describe('LatencyHistogram', () => {
  it('percentiles within 2 % above the exact nearest-rank ones', () => {
    const rnd = mulberry32(7);
    // spread over five orders of magnitude, with a tail
    const xs = Array.from({ length: 20_000 }, () => 0.05 * 10 ** (rnd() * 5));
    const h = new LatencyHistogram();
    for (const x of xs) h.record(x);
    expect(h.count).toBe(xs.length);
    for (const p of [1, 50, 90, 99, 99.9, 100]) {
      const exact = percentile(xs, p);
      const got = h.percentile(p);
      expect([p, got >= exact * 0.9999, got <= exact * LatencyHistogram.RATIO * 1.0001]).toEqual([p, true, true]);
    }
  });

  it('no samples: NaN; out of range values land in the end buckets', () => {
    const h = new LatencyHistogram();
    expect(h.percentile(50)).toBeNaN();
    h.record(0);
    h.record(1e9);
    expect(h.percentile(50)).toBe(LatencyHistogram.MIN_MS);
    expect(h.percentile(100)).toBeGreaterThanOrEqual(LatencyHistogram.MAX_MS);
  });
});

it('EndpointStats counts statuses; errors have no latency', () => {
  const s = new EndpointStats();
  for (const st of [200, 200, 404, 503, 500, 400] as const) s.record(st, 2);
  s.record('error', 10_000);
  const f = s.figures(2);
  expect(f.statuses).toEqual({ '200': 2, '404': 1, '503': 1, other: 2, error: 1 });
  expect(f).toMatchObject({ requests: 6, rps: 3 });
  expect(f.p99_ms).toBeLessThan(2 * LatencyHistogram.RATIO + 1e-9);
});

it('withApiClients: one count loads every configuration, several measure each per count', () => {
  const configs: Variant[] = [
    { name: 'baseline', env: {} },
    { name: 'v', env: { A: '1' } },
  ];
  expect(withApiClients(configs, [0])).toEqual(configs);
  expect(withApiClients(configs, [8]).map((v) => [v.name, v.apiClients])).toEqual([
    ['baseline', 8],
    ['v', 8],
  ]);
  expect(withApiClients(configs, [0, 16]).map((v) => [v.name, v.apiClients, v.env])).toEqual([
    ['baseline', undefined, {}],
    ['baseline+api=16', 16, {}],
    ['v', undefined, { A: '1' }],
    ['v+api=16', 16, { A: '1' }],
  ]);
});

it('apiLoadTable: a row per loaded column and endpoint of the mix; nothing without load', () => {
  const ep = (rps: number) => ({
    requests: rps * 2,
    rps,
    p50_ms: 1.5,
    p99_ms: 12.25,
    statuses: { '200': 3, '404': 4, '503': 5, other: 6, error: 7 },
  });
  const load = {
    clients: 8,
    mix: { movie: 8, top: 1, genre: 0 },
    seconds: 2,
    endpoints: { movie: ep(1234), top: ep(55), genre: ep(0) },
    e2e_ratings_per_s: 150_000,
  };
  expect(apiLoadTable([{ name: 'baseline', load: undefined }])).toBe('');
  const t = apiLoadTable([
    { name: 'baseline', load: undefined },
    { name: 'baseline+api=8', load },
  ]).split('\n');
  expect(t).toHaveLength(4); // head, rule, movie, top (genre weighs 0)
  expect(t[2].split(/\s+/)).toEqual(['baseline+api=8', '8', 'movie', '1,234', '1.5', '12.3', '3', '4', '5', '6', '7', '150,000']);
  expect(t[3]).toContain(' top ');
});

describe('startApiLoad against two stub sinks', () => {
  jest.setTimeout(20_000);
  let servers: HttpServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  it('round robin over the sinks, at most N in flight, and its counts are what the servers answered', async () => {
    const clients = 4;
    let inFlight = 0;
    let maxInFlight = 0;
    const answered: Record<string, Record<Endpoint, Record<string, number>>> = {};
    const target = 400;
    let total = 0;
    let reached = () => undefined as void;
    const enough = new Promise<void>((r) => (reached = r));
    const stub = (name: string) => {
      answered[name] = { movie: {}, top: {}, genre: {} };
      return startHttpServer({
        host: '127.0.0.1',
        port: 0,
        routes: {},
        fallback: async (_req, res, url) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          // one turn of the event loop, so concurrent requests overlap here
          await new Promise((r) => setImmediate(r));
          const endpoint: Endpoint = url.pathname !== '/api/movies' ? 'movie' : url.searchParams.has('genre') ? 'genre' : 'top';
          // the movie's owner answers 200, the other 404 (as unrouted sinks do); genres 503 on one sink
          const status =
            endpoint === 'movie'
              ? Number(url.pathname.split('/').pop()) % 2 === (name === 'a' ? 0 : 1)
                ? 200
                : 404
              : endpoint === 'genre' && name === 'b'
                ? 503
                : 200;
          const tally = answered[name][endpoint];
          tally[status] = (tally[status] ?? 0) + 1;
          inFlight--;
          sendText(res, status, 'x');
          if (++total === target) reached();
        },
      });
    };
    servers = [await stub('a'), await stub('b')];
    const load = startApiLoad({
      ports: servers.map((s) => s.port),
      clients,
      mix: { movie: 2, top: 1, genre: 1 },
      movieIds: [1, 2, 3, 4, 5],
      genres: ['Comedy', 'Drama'],
      seed: 3,
    });
    await enough;
    const f = await load.stop();
    expect(maxInFlight).toBeLessThanOrEqual(clients);
    expect(f.clients).toBe(clients);
    const sum = (e: Endpoint, status: number) => (answered.a[e][status] ?? 0) + (answered.b[e][status] ?? 0);
    for (const e of ['movie', 'top', 'genre'] as const) {
      const s = f.endpoints[e].statuses;
      expect([e, s['200'], s['404'], s['503'], s.other, s.error]).toEqual([e, sum(e, 200), sum(e, 404), sum(e, 503), 0, 0]);
      // round robin: each sink got half of each endpoint's requests (±1 for the last turn)
      const perSink = ['a', 'b'].map((n) => Object.values(answered[n][e]).reduce((x, y) => x + y, 0));
      expect(Math.abs(perSink[0] - perSink[1])).toBeLessThanOrEqual(1);
    }
    const requests = f.endpoints.movie.requests + f.endpoints.top.requests + f.endpoints.genre.requests;
    expect(requests).toBe(total);
    // the mix 2:1:1, exact to within a cycle per client
    expect(Math.abs(f.endpoints.movie.requests - 2 * f.endpoints.top.requests)).toBeLessThanOrEqual(2 * 4 * clients);
    expect(f.endpoints.movie.rps).toBeCloseTo(f.endpoints.movie.requests / f.seconds, 2);
  });

  it('a sink that does not listen: each client counts an error, and stop() ends', async () => {
    const [port] = await freePorts(1);
    const f = await startApiLoad({
      ports: [port],
      clients: 3,
      mix: { movie: 1, top: 0, genre: 0 },
      movieIds: [1],
      genres: [],
      seed: 1,
    }).stop();
    expect(f.endpoints.movie.statuses).toEqual({ '200': 0, '404': 0, '503': 0, other: 0, error: 3 });
    expect(f.endpoints.movie.requests).toBe(0);
  });
});
