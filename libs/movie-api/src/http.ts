import { HttpError, intParam, sendJson, type Handler, type HttpServerOptions } from '@movie-stream/observability';
import type { MovieQueries } from './queries';

export const API_PATH = '/api/movies';
export const MAX_TOP = 1000;
const MAX_ID = 2 ** 31 - 1;
const QUERY_PARAMS = ['top', 'minRatings', 'genre'];

/** GET /api/movies?top=10&minRatings=50&genre=Comedy: the best movies by mean rating. */
function listHandler(queries: MovieQueries): Handler {
  return async (_req, res, url) => {
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
    const movies = await queries.topMovies({ top, minRatings, genre });
    sendJson(res, { top, minRatings, ...(genre !== undefined && { genre }), movies });
  };
}

/** GET /api/movies/<id>: one movie; 404 when the table has no row for it. */
function movieHandler(queries: MovieQueries, idText: string): Handler {
  return async (_req, res, url) => {
    if ([...url.searchParams.keys()].length) throw new HttpError(400, `${API_PATH}/<id> takes no query parameters`);
    const id = /^\d{1,10}$/.test(idText) ? Number(idText) : Number.NaN;
    if (!(id >= 1 && id <= MAX_ID)) {
      throw new HttpError(400, `movie id must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(idText.slice(0, 40))})`);
    }
    const movie = await queries.getMovie(id);
    if (!movie) throw new HttpError(404, `no movie ${id}`);
    sendJson(res, movie);
  };
}

export type ServerRoutes = Pick<HttpServerOptions, 'routes' | 'fallback'>;

/**
 * Adds the movie API to a server's routes: `/api/movies` as a route, `/api/movies/<id>` through the
 * fallback (startHttpServer's routes are exact paths); other paths go on to `base.fallback` (or 404).
 * Use: startHttpServer({ host, port, ...withMovieApi(queries, { routes: serviceRoutes(...), fallback }) }).
 */
export function withMovieApi(queries: MovieQueries, base: ServerRoutes): ServerRoutes {
  const list = listHandler(queries);
  return {
    routes: { ...base.routes, [API_PATH]: list, [`${API_PATH}/`]: list },
    fallback: (req, res, url) => {
      if (url.pathname.startsWith(`${API_PATH}/`)) return movieHandler(queries, url.pathname.slice(API_PATH.length + 1))(req, res, url);
      if (base.fallback) return base.fallback(req, res, url);
      throw new HttpError(404, 'not found');
    },
  };
}
