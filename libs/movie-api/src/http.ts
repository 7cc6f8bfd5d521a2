import {
  HttpError,
  intParam,
  requestCap,
  sendJson,
  type Handler,
  type HttpServerOptions,
  type Registry,
} from '@movie-stream/observability';
import { MoviePush } from './push';
import type { MovieChanges, MovieQueries, TopQuery } from './queries';

export const API_PATH = '/api/movies';
export const MAX_TOP = 1000;
/** The push stream of a top-N (an exact path: "top" is no movie id). */
export const TOP_EVENTS_PATH = `${API_PATH}/top/events`;
const MAX_ID = 2 ** 31 - 1;
const QUERY_PARAMS = ['top', 'minRatings', 'genre'];

/** Defaults of MovieApiOptions (and of the API_* settings). */
export const MOVIE_API_DEFAULTS = {
  maxConcurrentRequests: 64,
  pushIntervalMs: 250,
  pushMaxClients: 100,
  pushClientBufferBytes: 1024 * 1024,
} as const;

/** ?top=10&minRatings=50&genre=Comedy, validated (HttpError 400 with a reason). */
function topQueryOf(url: URL): TopQuery & { genre?: string } {
  // A typo (?mintRatings=50) must not silently answer an unfiltered list.
  const unknown = [...new Set(url.searchParams.keys())].filter((k) => !QUERY_PARAMS.includes(k));
  if (unknown.length) throw new HttpError(400, `unknown query parameter ${unknown.join(', ')}: use ${QUERY_PARAMS.join(', ')}`);
  for (const k of QUERY_PARAMS) if (url.searchParams.getAll(k).length > 1) throw new HttpError(400, `${k} given more than once`);
  const top = intParam(url, 'top', 10, { min: 1, max: MAX_TOP });
  const minRatings = intParam(url, 'minRatings', 1, { min: 1, max: Number.MAX_SAFE_INTEGER });
  const genre = url.searchParams.get('genre') ?? undefined;
  if (genre !== undefined && (genre.trim() === '' || genre.length > 100)) {
    throw new HttpError(400, 'genre must be a genre name of 1 to 100 characters, e.g. Comedy');
  }
  return { top, minRatings, ...(genre !== undefined && { genre }) };
}

/** The body of GET /api/movies for a query. */
async function topBody(queries: MovieQueries, query: TopQuery): Promise<unknown> {
  const { top, minRatings, genre } = query;
  const { movies, asOf } = await queries.topMovies(query);
  return { top, minRatings, ...(genre !== undefined && { genre }), movies, ...(asOf && { asOf }) };
}

/** A movie id from the path, validated (HttpError 400 with a reason). */
function movieIdOf(idText: string): number {
  const id = /^\d{1,10}$/.test(idText) ? Number(idText) : Number.NaN;
  if (!(id >= 1 && id <= MAX_ID)) {
    throw new HttpError(400, `movie id must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(idText.slice(0, 40))})`);
  }
  return id;
}

/** The body of GET /api/movies/<id>; HttpError 404 when the table has no row for it. */
async function movieBody(queries: MovieQueries, id: number): Promise<unknown> {
  const { movie, asOf } = await queries.getMovie(id);
  if (!movie) throw new HttpError(404, `no movie ${id}`);
  return { ...movie, ...(asOf && { asOf }) };
}

export type ServerRoutes = Pick<HttpServerOptions, 'routes' | 'fallback'>;

export interface MovieApiOptions {
  /** Most API requests in progress at once (API_MAX_CONCURRENT_REQUESTS); more get 503 with Retry-After. */
  maxConcurrentRequests?: number;
  /** What changed in the local table: the push streams re-evaluate on it. */
  changes?: MovieChanges;
  /** Push streams also re-evaluate every pushIntervalMs (answers that include other instances' tables). */
  poll?: boolean;
  /** Top streams re-evaluate at most once per this; the poll period (API_PUSH_INTERVAL_MS). */
  pushIntervalMs?: number;
  /** Most push streams at once (API_PUSH_MAX_CLIENTS); more get 503. */
  pushMaxClients?: number;
  /** A push stream with more than this unsent is closed (API_PUSH_CLIENT_BUFFER_BYTES). */
  pushClientBufferBytes?: number;
  /** Where the API's metrics go (the service's registry). */
  registry?: Registry;
  logger?: { warn(msg: string): void };
  /** Told about a failed evaluation of a push stream that is no HttpError (the stream gets status 500). */
  onError?: (e: Error) => void;
}

export interface MovieApi extends ServerRoutes {
  /** Ends the push streams and stops their re-evaluation. */
  close(): void;
}

/**
 * Adds the movie API to a server's routes; other paths go on to `base.fallback` (or 404):
 * - GET /api/movies?top=&minRatings=&genre= and GET /api/movies/<id>: JSON, at most maxConcurrentRequests
 *   at once (over them 503 with Retry-After, counted in movie_stream_api_requests_refused_total);
 * - GET /api/movies/<id>/events and GET /api/movies/top/events?top=&minRatings=&genre=: server-sent events,
 *   the same JSON as `data:` on connect and whenever it changes; a 404 or another HttpError as
 *   `event: error` with {status, message}, and the stream goes on. Not counted in the request cap: they
 *   have their own (pushMaxClients, pushClientBufferBytes).
 * The base routes (/metrics, /healthz) are never capped. startHttpServer's routes are exact paths, so
 * /api/movies/<id>... go through the fallback.
 * Use: startHttpServer({ host, port, ...withMovieApi(queries, { routes: serviceRoutes(...), fallback }, opts) }).
 */
export function withMovieApi(queries: MovieQueries, base: ServerRoutes, opts: MovieApiOptions = {}): MovieApi {
  const d = MOVIE_API_DEFAULTS;
  const cap = requestCap({
    maxConcurrent: opts.maxConcurrentRequests ?? d.maxConcurrentRequests,
    what: 'movie API',
    registry: opts.registry,
    refusedMetric: {
      name: 'movie_stream_api_requests_refused_total',
      help: 'Movie API requests answered 503 because API_MAX_CONCURRENT_REQUESTS were in progress.',
    },
  });
  const push = new MoviePush({
    changes: opts.changes,
    poll: opts.poll,
    intervalMs: opts.pushIntervalMs ?? d.pushIntervalMs,
    maxClients: opts.pushMaxClients ?? d.pushMaxClients,
    clientBufferBytes: opts.pushClientBufferBytes ?? d.pushClientBufferBytes,
    registry: opts.registry,
    logger: opts.logger,
    onError: opts.onError,
  });
  const list: Handler = cap.wrap(async (_req, res, url) => sendJson(res, await topBody(queries, topQueryOf(url))));
  const movie: Handler = cap.wrap(async (_req, res, url) => {
    const idText = url.pathname.slice(API_PATH.length + 1);
    if ([...url.searchParams.keys()].length) throw new HttpError(400, `${API_PATH}/<id> takes no query parameters`);
    sendJson(res, await movieBody(queries, movieIdOf(idText)));
  });
  const topEvents: Handler = (req, res, url) => {
    const q = topQueryOf(url);
    push.streamTop(req, res, JSON.stringify([q.top, q.minRatings, q.genre ?? null]), () => topBody(queries, q));
  };
  const movieEvents: Handler = (req, res, url) => {
    const id = movieIdOf(url.pathname.slice(API_PATH.length + 1, -'/events'.length));
    if ([...url.searchParams.keys()].length) throw new HttpError(400, `${API_PATH}/<id>/events takes no query parameters`);
    push.streamMovie(req, res, id, () => movieBody(queries, id));
  };
  return {
    routes: { ...base.routes, [API_PATH]: list, [`${API_PATH}/`]: list, [TOP_EVENTS_PATH]: topEvents },
    fallback: (req, res, url) => {
      if (url.pathname.startsWith(`${API_PATH}/`)) return (url.pathname.endsWith('/events') ? movieEvents : movie)(req, res, url);
      if (base.fallback) return base.fallback(req, res, url);
      throw new HttpError(404, 'not found');
    },
    close: () => push.close(),
  };
}
