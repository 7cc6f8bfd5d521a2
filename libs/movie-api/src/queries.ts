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
  /**
   * Only movies whose partition (MovieQueriesOptions.partitionOf) is in this list; absent = every movie.
   * The routing asks each owner for the top of the partitions it owns.
   */
  partitions?: readonly number[];
}

/**
 * Where an answer stands: per partition index (as a string, JSON's keys), per consumed topic, the next offset
 * applied. The answer holds everything before those offsets and nothing after. Absent where unknown.
 */
export type AsOf = Record<string, Record<string, string>>;

export interface MovieAnswer {
  /** undefined: the table has no row for the movie. */
  movie: MovieView | undefined;
  asOf?: AsOf;
}

export interface TopAnswer {
  movies: MovieView[];
  asOf?: AsOf;
}

/**
 * The live queries, over the sink's in-memory table (CSV mode) or over movie_data (database mode). Ordered
 * by mean (highest first), then rating count (highest first), then movie id: equal answers from both.
 */
export interface MovieQueries {
  getMovie(movieId: number): Promise<MovieAnswer>;
  topMovies(query: TopQuery): Promise<TopAnswer>;
}

/**
 * What changed in a table: after each applied batch, the ids of the movies it changed; `undefined` when any
 * movie may have changed (e.g. a listener that reconnected). The push endpoints re-evaluate on it.
 */
export interface MovieChanges {
  subscribe(listener: (movieIds: readonly number[] | undefined) => void): () => void;
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
  /**
   * A change counter (FrameTable.version): equal values mean the same rows. With it topMovies ranks the
   * table once per change and answers from that ranking; without it (a plain Map) every query filters and sorts.
   */
  readonly version?: number;
}

export interface MovieQueriesOptions {
  /**
   * The partition a movie's messages go to (the routing passes keyPartitioner over String(movieId)); needed
   * by TopQuery.partitions. Computed once per movie id and remembered.
   */
  partitionOf?(movieId: number): number;
  /**
   * Where the table stands, for these partitions (all when undefined): called inside `read`, with the rows
   * read, so an answer and its asOf are of the same moment. Answers carry no asOf without it.
   */
  asOf?(partitions: readonly number[] | undefined): AsOf;
}

/**
 * MovieQueries over the sink's in-memory table (CSV mode), for a table nobody changes while a query runs
 * (tests, tools). See lockedMovieQueries for the sink's table.
 */
export function memoryMovieQueries(rows: ReadableMovieRows, opts: MovieQueriesOptions = {}): MovieQueries {
  return lockedMovieQueries(async (fn) => fn(rows), opts);
}

/**
 * MovieQueries over a table that a consumer changes concurrently: every query reads inside `read` (the
 * frame's lock, StorableFrame.read), so it never sees a batch half applied.
 *
 * topMovies does not sort the table under the lock per request: when the table has a change counter
 * (ReadableMovieRows.version), the rated rows are copied under the lock (references: rows are frozen values)
 * once per table change, ranked by compareTop outside it, and every request until the next change walks that
 * ranking (the first `top` that pass the filters). Requests arriving while a ranking of the same version is
 * being built wait for it instead of building their own. The ranking holds one view per rated movie.
 */
export function lockedMovieQueries(
  read: <T>(fn: (rows: ReadableMovieRows) => T) => Promise<T>,
  opts: MovieQueriesOptions = {},
): MovieQueries {
  const partitionOf = cachedPartitionOf(opts.partitionOf);
  // Every partition's position when the ranking's copy was taken; an answer names the ones it covers.
  const asOfAll = () => opts.asOf?.(undefined);
  const answer = (movies: MovieView[], asOf: AsOf | undefined, query: TopQuery): TopAnswer =>
    asOf ? { movies, asOf: query.partitions ? onlyPartitions(asOf, query.partitions) : asOf } : { movies };
  let built: { version: number; ranked: Ranked[]; asOf?: AsOf } | undefined;
  const building = new Map<number, Promise<Ranked[]>>();
  return {
    getMovie: (movieId) =>
      read((rows) => {
        const movie = movieOf(rows, movieId);
        const asOf = partitionOf && opts.asOf?.([partitionOf(movieId)]);
        return asOf ? { movie, asOf } : { movie };
      }),
    topMovies: async (query) => {
      if (query.partitions && !partitionOf) throw new Error('topMovies: a query by partitions needs MovieQueriesOptions.partitionOf');
      type Got = { movies: MovieView[]; asOf?: AsOf } | { ranked: Ranked[] | Promise<Ranked[]>; asOf?: AsOf } | { build: Build };
      const got = await read((rows): Got => {
        const version = rows.version;
        if (version === undefined) return { movies: pick(rank(rated(rows), partitionOf), query), asOf: asOfAll() };
        if (built?.version === version) return { ranked: built.ranked, asOf: built.asOf };
        const pending = building.get(version);
        // Same version: the same rows as when that build's copy (and asOf) was taken.
        if (pending) return { ranked: pending, asOf: asOfAll() };
        // Registered here, under the lock, so that requests of this version from now on wait for this build.
        const build = new Build(version, rated(rows), asOfAll());
        building.set(version, build.ranking);
        return { build };
      });
      if ('movies' in got) return answer(got.movies, got.asOf, query);
      if ('ranked' in got) return answer(pick(await got.ranked, query), got.asOf, query);
      const { build } = got;
      try {
        const ranked = build.run(partitionOf);
        if (!built || built.version < build.version) built = { version: build.version, ranked, asOf: build.asOf };
        return answer(pick(ranked, query), build.asOf, query);
      } finally {
        building.delete(build.version);
      }
    },
  };
}

/** One ranking being built outside the lock from a copy taken under it; others of its version await `ranking`. */
class Build {
  readonly ranking: Promise<Ranked[]>;
  private settle!: { resolve(r: Ranked[]): void; reject(e: unknown): void };

  constructor(
    readonly version: number,
    private readonly copy: MovieDataRow[],
    readonly asOf: AsOf | undefined,
  ) {
    this.ranking = new Promise<Ranked[]>((resolve, reject) => (this.settle = { resolve, reject }));
    // Nobody else may be waiting: a failure is the builder's to report.
    this.ranking.catch(() => undefined);
  }

  run(partitionOf: ((movieId: number) => number) | undefined): Ranked[] {
    try {
      const ranked = rank(this.copy, partitionOf);
      this.settle.resolve(ranked);
      return ranked;
    } catch (e) {
      this.settle.reject(e);
      throw e;
    }
  }
}

function onlyPartitions(asOf: AsOf, partitions: readonly number[]): AsOf {
  const out: AsOf = {};
  for (const p of partitions) if (asOf[p] !== undefined) out[p] = asOf[p];
  return out;
}

interface Ranked {
  view: MovieView;
  /** -1 without partitionOf. */
  partition: number;
}

function cachedPartitionOf(fn: MovieQueriesOptions['partitionOf']): ((movieId: number) => number) | undefined {
  if (!fn) return undefined;
  // Bounded by the movie ids the table ever held (MovieLens: ~10^5); murmur2 per movie per ranking is not.
  const known = new Map<number, number>();
  return (id) => {
    let p = known.get(id);
    if (p === undefined) known.set(id, (p = fn(id)));
    return p;
  };
}

function movieOf(rows: ReadableMovieRows, movieId: number): MovieView | undefined {
  const r = rows.get(movieId);
  return r ? viewOfRow(r) : undefined;
}

/** The rows topMovies can answer: rated ones (a mean needs at least one rating). */
function rated(rows: ReadableMovieRows): MovieDataRow[] {
  const out: MovieDataRow[] = [];
  for (const r of rows.values()) if (r.count >= 1 && r.mean !== undefined) out.push(r);
  return out;
}

function rank(rows: MovieDataRow[], partitionOf: ((movieId: number) => number) | undefined): Ranked[] {
  return rows
    .map((r) => ({ view: viewOfRow(r), partition: partitionOf ? partitionOf(r.movieId) : -1 }))
    .sort((a, b) => compareTop(a.view, b.view));
}

/** The first `top` of a ranking that pass the query's filters, as copies (the ranking is shared). */
function pick(ranked: readonly Ranked[], { top, minRatings, genre, partitions }: TopQuery): MovieView[] {
  const min = Math.max(1, minRatings);
  const parts = partitions && new Set(partitions);
  const out: MovieView[] = [];
  for (const { view: v, partition } of ranked) {
    if (out.length >= top) break;
    if (v.count < min) continue;
    if (genre !== undefined && !v.genres?.includes(genre)) continue;
    if (parts && !parts.has(partition)) continue;
    out.push({ ...v, genres: v.genres && [...v.genres] });
  }
  return out;
}
