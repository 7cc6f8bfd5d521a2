// API load (issue 22's load figure): N concurrent HTTP clients in the bench process, against the sinks'
// APIs while the pipeline runs, round robin over the sink instances. Per endpoint: requests/s, p50/p99
// latency and counts by status; the run's own figures give the sink's throughput under that load.
// Each client has one request outstanding at a time, so at most N are in flight; latencies go into a
// fixed-size histogram, so memory does not grow with the length of the run.
import { Agent, request } from 'node:http';
import { mulberry32 } from '@movie-stream/data-generator';
import type { Variant } from './variant';

export const ENDPOINTS = ['movie', 'top', 'genre'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];
export type ApiMix = Record<Endpoint, number>;

/** Read-mostly: one movie's page for most requests, a top-10 and a genre top-10 for a tenth each. */
export const DEFAULT_API_MIX: ApiMix = { movie: 8, top: 1, genre: 1 };

/** `movie=8,top=1,genre=1` → weights (an endpoint left out weighs 0; at least one must weigh more). */
export function parseApiMix(spec: string): ApiMix {
  const mix: ApiMix = { movie: 0, top: 0, genre: 0 };
  for (const part of spec.split(',')) {
    const [name, weight, ...rest] = part.split('=');
    if (!(ENDPOINTS as readonly string[]).includes(name.trim()) || rest.length || weight === undefined)
      throw new Error(`--api-mix ${spec}: "${part}" is not ENDPOINT=WEIGHT with ENDPOINT one of ${ENDPOINTS.join(', ')}`);
    const w = Number(weight);
    if (!Number.isInteger(w) || w < 0 || w > 1000) throw new Error(`--api-mix ${spec}: weight of ${name} must be an integer 0 to 1000`);
    mix[name.trim() as Endpoint] = w;
  }
  if (ENDPOINTS.every((e) => mix[e] === 0)) throw new Error(`--api-mix ${spec}: every weight is 0`);
  return mix;
}

/**
 * One cycle of the mix, spread out (smooth weighted round robin): each endpoint appears `weight` times,
 * and no endpoint's turns bunch up, so a short stretch of the run already has the mix's proportions.
 */
export function mixCycle(mix: ApiMix): Endpoint[] {
  const total = ENDPOINTS.reduce((s, e) => s + mix[e], 0);
  const current: Record<Endpoint, number> = { movie: 0, top: 0, genre: 0 };
  const cycle: Endpoint[] = [];
  for (let i = 0; i < total; i++) {
    for (const e of ENDPOINTS) current[e] += mix[e];
    const pick = ENDPOINTS.reduce((best, e) => (current[e] > current[best] ? e : best));
    current[pick] -= total;
    cycle.push(pick);
  }
  return cycle;
}

/** The request path of an endpoint: a random movie of the data set, the top 10, a genre's top 10 (genres in turn). */
export function requestPath(
  endpoint: Endpoint,
  o: { movieIds: readonly number[]; genres: readonly string[]; rnd: () => number; turn: number },
): string {
  switch (endpoint) {
    case 'movie':
      return `/api/movies/${o.movieIds[Math.floor(o.rnd() * o.movieIds.length)]}`;
    case 'top':
      return '/api/movies?top=10&minRatings=1';
    case 'genre':
      return `/api/movies?top=10&minRatings=1&genre=${encodeURIComponent(o.genres[o.turn % o.genres.length])}`;
  }
}

/**
 * Latencies in logarithmic buckets, each 2 % wider than the one before, from 10 µs to 100 s (≈ 800
 * buckets): a percentile is exact to 2 % (the bucket's upper end is reported) whatever the sample count.
 */
export class LatencyHistogram {
  static readonly MIN_MS = 0.01;
  static readonly MAX_MS = 100_000;
  static readonly RATIO = 1.02;
  private readonly buckets = new Float64Array(
    Math.ceil(Math.log(LatencyHistogram.MAX_MS / LatencyHistogram.MIN_MS) / Math.log(LatencyHistogram.RATIO)) + 1,
  );
  count = 0;

  record(ms: number): void {
    const i = ms <= LatencyHistogram.MIN_MS ? 0 : Math.ceil(Math.log(ms / LatencyHistogram.MIN_MS) / Math.log(LatencyHistogram.RATIO));
    this.buckets[Math.min(this.buckets.length - 1, i)]++;
    this.count++;
  }

  /** The p-th percentile (0-100) by nearest rank, as its bucket's upper end; NaN without samples. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank) return LatencyHistogram.MIN_MS * LatencyHistogram.RATIO ** i;
    }
    return LatencyHistogram.MAX_MS;
  }
}

/** Responses by status; `error`: no response (refused, reset, timed out). */
export interface StatusCounts {
  '200': number;
  '404': number;
  '503': number;
  other: number;
  error: number;
}

export interface EndpointFigures {
  /** Requests answered (any status; errors excluded). */
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  statuses: StatusCounts;
}

/** What one run's load did (snake_case: it goes into the JSON line as it is). */
export interface ApiLoadFigures {
  clients: number;
  mix: ApiMix;
  /** From the first request to the last answer. */
  seconds: number;
  endpoints: Record<Endpoint, EndpointFigures>;
  /** The pipeline under this load (the run's own figures; the load spans the run's end-to-end window). */
  e2e_ratings_per_s?: number;
  sink_per_s?: number;
}

export class EndpointStats {
  readonly latency = new LatencyHistogram();
  readonly statuses: StatusCounts = { '200': 0, '404': 0, '503': 0, other: 0, error: 0 };

  record(status: number | 'error', ms: number): void {
    if (status === 'error') {
      this.statuses.error++;
      return;
    }
    this.latency.record(ms);
    if (status === 200 || status === 404 || status === 503) this.statuses[String(status) as '200' | '404' | '503']++;
    else this.statuses.other++;
  }

  figures(seconds: number): EndpointFigures {
    const r = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);
    return {
      requests: this.latency.count,
      rps: r(this.latency.count / Math.max(0.001, seconds)),
      p50_ms: r(this.latency.percentile(50)),
      p99_ms: r(this.latency.percentile(99)),
      statuses: { ...this.statuses },
    };
  }
}

export interface ApiLoad {
  /** Stops issuing requests, waits for the ones in flight, and returns the figures. */
  stop(): Promise<ApiLoadFigures>;
}

/** One GET; resolves with the status once the body is read (the connection goes back to the agent), or 'error'. */
function get(agent: Agent, port: number, path: string, timeoutMs: number): Promise<number | 'error'> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent, timeout: timeoutMs }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve('error'));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve('error'));
    req.end();
  });
}

/**
 * Starts `clients` loops, each sending its next request when the last one was answered. Request k takes
 * the endpoint at k in the mix's cycle; each endpoint goes round robin over `ports`.
 */
export function startApiLoad(o: {
  ports: readonly number[];
  clients: number;
  mix: ApiMix;
  movieIds: readonly number[];
  genres: readonly string[];
  seed: number;
  /** A request unanswered this long counts as an error (default 10 s). */
  timeoutMs?: number;
}): ApiLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: o.clients });
  const cycle = mixCycle(o.mix);
  const stats: Record<Endpoint, EndpointStats> = { movie: new EndpointStats(), top: new EndpointStats(), genre: new EndpointStats() };
  const turns: Record<Endpoint, number> = { movie: 0, top: 0, genre: 0 };
  const rnd = mulberry32(o.seed);
  let next = 0;
  let stopping = false;
  const t0 = performance.now();
  const client = async () => {
    while (!stopping) {
      const endpoint = cycle[next++ % cycle.length];
      const turn = turns[endpoint]++;
      const port = o.ports[turn % o.ports.length];
      const path = requestPath(endpoint, { movieIds: o.movieIds, genres: o.genres, rnd, turn });
      const start = performance.now();
      const status = await get(agent, port, path, o.timeoutMs ?? 10_000);
      stats[endpoint].record(status, performance.now() - start);
      // A refused connection fails at once: without a pause the loop would take the CPU the pipeline needs.
      if (status === 'error') await new Promise((r) => setTimeout(r, 50));
    }
  };
  const loops = Array.from({ length: o.clients }, client);
  return {
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      // rounded once, so each rps is its requests over exactly the seconds reported beside it
      const seconds = Math.round(performance.now() - t0) / 1000;
      agent.destroy();
      return {
        clients: o.clients,
        mix: { ...o.mix },
        seconds,
        endpoints: { movie: stats.movie.figures(seconds), top: stats.top.figures(seconds), genre: stats.genre.figures(seconds) },
      };
    },
  };
}

/** The load's figures of each column (medians over its runs), one row per column and endpoint; '' when no column had load. */
export function apiLoadTable(columns: { name: string; load: ApiLoadFigures | undefined }[]): string {
  const loaded = columns.filter((c) => c.load && c.load.clients > 0);
  if (loaded.length === 0) return '';
  const f = (x: number | undefined) =>
    x === undefined || !Number.isFinite(x) ? String(x ?? '') : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
  const head = ['API load', 'clients', 'endpoint', 'req/s', 'p50 ms', 'p99 ms', '200', '404', '503', 'other', 'error', 'e2e ratings/s'];
  const rows = loaded.flatMap((c) =>
    ENDPOINTS.filter((e) => c.load!.mix[e] > 0).map((e) => {
      const x = c.load!.endpoints[e];
      const s = x.statuses;
      return [
        c.name,
        String(c.load!.clients),
        e,
        f(x.rps),
        f(x.p50_ms),
        f(x.p99_ms),
        ...[s['200'], s['404'], s['503'], s.other, s.error].map(String),
        f(c.load!.e2e_ratings_per_s),
      ];
    }),
  );
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 1 || i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * The configurations with their API clients: one count loads every configuration; several counts measure
 * each configuration once per count, side by side (0 keeps the configuration's name, others add "+api=N").
 */
export function withApiClients(configurations: Variant[], counts: number[]): Variant[] {
  if (counts.length <= 1) return configurations.map((v) => (counts[0] ? { ...v, apiClients: counts[0] } : v));
  return configurations.flatMap((v) => counts.map((n) => (n === 0 ? v : { ...v, name: `${v.name}+api=${n}`, apiClients: n })));
}
