import { NO_GENRES, type MovieDataRow } from '@movie-stream/movie-data';

/** One movie as the API answers it; the same from the in-memory table and from PostgreSQL. */
export interface MovieView {
  movieId: number;
  /** null while the movies topic has not named the movie (its ratings came first). */
  title: string | null;
  /** [] = "(no genres listed)"; null while the movie is unnamed. */
  genres: string[] | null;
  /** null while the movie has no rating. */
  mean: number | null;
  count: number;
}

export interface TopQuery {
  /** How many movies, best mean first. */
  top: number;
  /** Only movies with at least this many ratings (at least 1: a movie without ratings has no mean). */
  minRatings: number;
  /** Only movies of this genre (exact, as MovieLens spells it, e.g. "Comedy"). */
  genre?: string;
}

/**
 * The live queries, over the sink's in-memory table (CSV mode) or over movie_data (database mode). Ordered
 * by mean (highest first), then rating count (highest first), then movie id: equal answers from both.
 */
export interface MovieQueries {
  getMovie(movieId: number): Promise<MovieView | undefined>;
  topMovies(query: TopQuery): Promise<MovieView[]>;
}

/** The order of topMovies; exported so other implementations and tests use the very same. */
export function compareTop(a: MovieView, b: MovieView): number {
  return b.mean! - a.mean! || b.count - a.count || a.movieId - b.movieId;
}

export function viewOfRow(r: MovieDataRow): MovieView {
  const named = r.title !== '' || r.genres !== '';
  return {
    movieId: r.movieId,
    title: named ? r.title : null,
    genres: !named ? null : r.genres === NO_GENRES || r.genres === '' ? [] : r.genres.split('|'),
    mean: r.count > 0 && r.mean !== undefined ? r.mean : null,
    count: r.count,
  };
}

/** What the sink's table offers (its FrameTable or a Map): read only, never changed here. */
export interface ReadableMovieRows {
  get(movieId: number): MovieDataRow | undefined;
  values(): Iterable<MovieDataRow>;
}

/**
 * MovieQueries over the sink's in-memory table (CSV mode). A query reads the rows synchronously, within
 * one turn of the event loop, so it sees the table between two batches, never half a batch (rows are
 * values, replaced whole). topMovies walks every row: ~10^4..10^5 movies take a few milliseconds.
 */
export function memoryMovieQueries(rows: ReadableMovieRows): MovieQueries {
  return {
    getMovie: async (movieId) => movieOf(rows, movieId),
    topMovies: async (query) => topOf(rows, query),
  };
}

function movieOf(rows: ReadableMovieRows, movieId: number): MovieView | undefined {
  const r = rows.get(movieId);
  return r ? viewOfRow(r) : undefined;
}

function topOf(rows: ReadableMovieRows, { top, minRatings, genre }: TopQuery): MovieView[] {
  const min = Math.max(1, minRatings);
  const hits: MovieView[] = [];
  for (const r of rows.values()) {
    if (r.count < min || r.mean === undefined) continue;
    const v = viewOfRow(r);
    if (genre !== undefined && !v.genres?.includes(genre)) continue;
    hits.push(v);
  }
  return hits.sort(compareTop).slice(0, top);
}

/**
 * memoryMovieQueries over a table that a consumer changes concurrently: every query runs inside `read`
 * (the frame's lock, StorableFrame.read), so it never sees a batch half applied.
 */
export function lockedMovieQueries(read: <T>(fn: (rows: ReadableMovieRows) => T) => Promise<T>): MovieQueries {
  return {
    getMovie: (movieId) => read((rows) => movieOf(rows, movieId)),
    topMovies: (query) => read((rows) => topOf(rows, query)),
  };
}
