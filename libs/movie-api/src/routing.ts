// Queries across instances (file mode, where each sink holds only its partitions' movies): a movie is
// answered by the instance that serves its partition, here or forwarded; a top-N is each owner's top-N over
// its partitions, merged. Which instance serves which partition comes from the consumer group (each member
// advertises its API URL in its join metadata; see GroupDirectory in libs/messaging). While partitions move,
// the answer is 503 with Retry-After: never a 404 for a movie that exists, never a partial list.
import { HttpError, intParam, sendJson, type Handler } from '@movie-stream/observability';
import { compareTop, type AsOf, type MovieAnswer, type MovieQueries, type TopAnswer, type TopQuery } from './queries';

/** Where the group stands: its state and, per partition index, the API URL of the member assigned it. */
export interface Directory {
  state: string;
  owners: ReadonlyMap<number, string>;
}

export interface Partitioning {
  count: number;
  partitionOf(movieId: number): number;
}

export interface RoutingOptions {
  /** This instance's queries: `topMovies` honours `partitions`; answers carry `asOf`. */
  local: MovieQueries;
  /** This instance's API URL as it advertises it (to tell itself apart in the directory). */
  self: string;
  /** The topics' partition count and the movie → partition hash (the producers'); may wait for the topics. */
  partitioning(): Promise<Partitioning>;
  /** Partitions consumed here now (restored and running). */
  running(): ReadonlySet<number>;
  directory(): Promise<Directory>;
  /** The directory is out of date (an owner said it no longer serves a partition). */
  invalidate(): void;
  /** Longest wait for another instance's answer. */
  timeoutMs: number;
  /** For tests: the HTTP GET of another instance's JSON answer. */
  get?(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }>;
}

/** Routes the other instances call; they answer from this instance's running partitions only, never forward. */
export const INTERNAL_PATH = '/api/internal';
const RETRY = { 'retry-after': '1' };

export const unavailable = (why: string) => new HttpError(503, `${why}; try again shortly`, RETRY);

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json')) body = JSON.parse(text);
  return { status: res.status, body };
}

/**
 * MovieQueries that answer for every movie from any instance, plus the internal routes the other instances
 * call (mount both: `withMovieApi(routed.queries, { routes: { ...routed.routes } })`).
 */
export function routedMovieQueries(opts: RoutingOptions): { queries: MovieQueries; routes: Record<string, Handler>; fallback: Handler } {
  const get = opts.get ?? getJson;
  // The broker unreachable or the topics not there yet: nothing is known about who serves what.
  const known = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (e) {
      throw unavailable(`cannot read ${what}: ${(e as Error).message}`);
    }
  };
  const partitioning = () => known("the topics' partitions", opts.partitioning);
  const directory = () => known('the consumer group', opts.directory);

  /** Asks another instance; a 503 or no answer means its partitions are moving. */
  const ask = async <T>(owner: string, path: string): Promise<T> => {
    let answer: { status: number; body: unknown };
    try {
      answer = await get(`${owner}${path}`, opts.timeoutMs);
    } catch (e) {
      opts.invalidate();
      throw unavailable(`the instance serving it (${owner}) did not answer: ${(e as Error).message}`);
    }
    if (answer.status === 200) return answer.body as T;
    opts.invalidate();
    if (answer.status === 503) throw unavailable(`the instance at ${owner} does not serve it now`);
    throw new HttpError(502, `the instance at ${owner} answered ${answer.status}: ${String(answer.body).slice(0, 200)}`);
  };

  const ownerOf = (dir: Directory, partition: number): string => {
    if (dir.state !== 'Stable') throw unavailable(`partitions are being assigned (the group is ${dir.state})`);
    const owner = dir.owners.get(partition);
    if (!owner) throw unavailable(`no instance serves partition ${partition} now`);
    // Assigned here but not running: still restoring it.
    if (owner === opts.self) throw unavailable(`partition ${partition} is being restored here`);
    return owner;
  };

  const queries: MovieQueries = {
    async getMovie(movieId) {
      const p = (await partitioning()).partitionOf(movieId);
      if (opts.running().has(p)) return opts.local.getMovie(movieId);
      const owner = ownerOf(await directory(), p);
      return ask<MovieAnswer>(owner, `${INTERNAL_PATH}/movies/${movieId}`);
    },

    async topMovies(query) {
      const { count } = await partitioning();
      const running = opts.running();
      const byOwner = new Map<string, number[]>();
      let dir: Directory | undefined;
      for (let p = 0; p < count; p++) {
        if (running.has(p)) continue;
        dir ??= await directory();
        const owner = ownerOf(dir, p);
        byOwner.set(owner, [...(byOwner.get(owner) ?? []), p]);
      }
      const mine = [...running].filter((p) => p < count).sort((a, b) => a - b);
      const parts = await Promise.all([
        mine.length ? opts.local.topMovies({ ...query, partitions: mine }) : Promise.resolve<TopAnswer>({ movies: [] }),
        ...[...byOwner].map(([owner, partitions]) => ask<TopAnswer>(owner, `${INTERNAL_PATH}/top?${topParams(query, partitions)}`)),
      ]);
      const asOf: AsOf = {};
      for (const part of parts) Object.assign(asOf, part.asOf ?? {});
      return {
        movies: parts
          .flatMap((part) => part.movies)
          .sort(compareTop)
          .slice(0, query.top),
        asOf,
      };
    },
  };

  /** GET /api/internal/top?partitions=0,3&top=10&minRatings=1[&genre=G]: this instance's share of a top-N. */
  const localTop: Handler = async (_req, res, url) => {
    const { count } = await partitioning();
    const raw = url.searchParams.get('partitions') ?? '';
    const partitions = raw.split(',').map(Number);
    if (!/^\d+(,\d+)*$/.test(raw) || partitions.some((p) => p >= count))
      throw new HttpError(400, `partitions must be a comma-separated list of partition indices below ${count}`);
    const running = opts.running();
    const missing = partitions.filter((p) => !running.has(p));
    if (missing.length) throw unavailable(`partitions ${missing.join(', ')} are not served here now`);
    const query: TopQuery = {
      top: intParam(url, 'top', 10, { min: 1, max: 100_000 }),
      minRatings: intParam(url, 'minRatings', 1, { min: 1, max: Number.MAX_SAFE_INTEGER }),
      ...(url.searchParams.has('genre') ? { genre: url.searchParams.get('genre')! } : {}),
      partitions,
    };
    sendJson(res, await opts.local.topMovies(query));
  };

  /** GET /api/internal/movies/<id>: the movie, if this instance serves its partition now; 503 otherwise. */
  const localMovie: Handler = async (_req, res, url) => {
    const idText = url.pathname.slice(`${INTERNAL_PATH}/movies/`.length);
    const id = /^\d{1,10}$/.test(idText) ? Number(idText) : Number.NaN;
    if (!(id >= 1 && id <= 2 ** 31 - 1)) throw new HttpError(400, 'movie id must be a positive integer');
    const p = (await partitioning()).partitionOf(id);
    if (!opts.running().has(p)) throw unavailable(`partition ${p} is not served here now`);
    sendJson(res, await opts.local.getMovie(id));
  };

  const fallback: Handler = (req, res, url) => {
    if (url.pathname.startsWith(`${INTERNAL_PATH}/movies/`)) return localMovie(req, res, url);
    throw new HttpError(404, 'not found');
  };
  return { queries, routes: { [`${INTERNAL_PATH}/top`]: localTop }, fallback };
}

function topParams(query: TopQuery, partitions: number[]): string {
  const params = new URLSearchParams({ partitions: partitions.join(','), top: String(query.top), minRatings: String(query.minRatings) });
  if (query.genre !== undefined) params.set('genre', query.genre);
  return params.toString();
}
