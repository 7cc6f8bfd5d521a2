import type { ColumnSpec } from '@movie-stream/storable-frame';
import { decodeMeanRatingFields, fromBinary, MovieSchema, readMeanRatingInPlace } from '@movie-stream/schema';

/** One row of movie-data.csv: a movie joined with its latest mean rating. */
export interface MovieDataRow {
  movieId: number;
  title: string;
  /** MovieLens style: "|"-joined, NO_GENRES for none; empty only while movies.csv has not named the movie. */
  genres: string;
  /** undefined while the movie has no rating. */
  mean?: number;
  count: number;
}

/** movie-data.csv: movieId;title;genres;mean_rating;rating_count */
export const MOVIE_DATA_COLUMNS: ColumnSpec<MovieDataRow>[] = [
  { name: 'movieId', kind: 'number', get: (r) => r.movieId },
  { name: 'title', kind: 'string', get: (r) => r.title },
  { name: 'genres', kind: 'string', get: (r) => r.genres },
  { name: 'mean_rating', kind: 'number', get: (r) => r.mean },
  { name: 'rating_count', kind: 'number', get: (r) => r.count },
];

export function movieDataFromRecord(rec: Record<string, string>): [number, MovieDataRow] {
  const movieId = Number(rec.movieId);
  const count = Number(rec.rating_count);
  if (!Number.isInteger(movieId) || !Number.isInteger(count)) throw new Error(`bad movie-data snapshot row ${JSON.stringify(rec)}`);
  return [
    movieId,
    {
      movieId,
      title: rec.title ?? '',
      genres: rec.genres ?? '',
      count,
      mean: rec.mean_rating === '' ? undefined : Number(rec.mean_rating),
    },
  ];
}

/** The rows the sink changes: a Map, or the storable frame's table (rows are values there: set, never mutate). */
export interface MovieDataRows {
  get(movieId: number): MovieDataRow | undefined;
  set(movieId: number, row: MovieDataRow): unknown;
}

/**
 * MovieLens's spelling of an empty genre list. movies.csv says it, the reader turns it into an empty
 * `genres` list on the Movie message (the message's way of saying "none"), and movie-data.csv says it again:
 * users of MovieLens files filter on this token.
 */
export const NO_GENRES = '(no genres listed)';

const emptyRow = (movieId: number): MovieDataRow => ({ movieId, title: '', genres: '', mean: undefined, count: 0 });

export type DecodeResult = { ok: true } | { ok: false; reason: string };

/** Applies a Movie message: title and genres (latest wins, as on the compacted topic). */
export function applyMovie(rows: MovieDataRows, value: Buffer): DecodeResult {
  let m;
  try {
    m = fromBinary(MovieSchema, value);
  } catch (e) {
    return { ok: false, reason: `not a Movie: ${(e as Error).message}` };
  }
  if (!(m.id > 0)) return { ok: false, reason: `movie id ${m.id} is not positive` };
  rows.set(m.id, { ...(rows.get(m.id) ?? emptyRow(m.id)), title: m.title, genres: m.genres.length === 0 ? NO_GENRES : m.genres.join('|') });
  return { ok: true };
}

/**
 * Applies a MeanRating message. Updates are absolute (sum and count), so the one with the highest count
 * is the newest: older or replayed updates are ignored, whatever order they arrive in.
 */
export function applyMeanRating(rows: MovieDataRows, value: Buffer): DecodeResult {
  let m;
  try {
    m = decodeMeanRatingFields(value);
  } catch (e) {
    return { ok: false, reason: `not a MeanRating: ${(e as Error).message}` };
  }
  if (!(m.movieId > 0)) return { ok: false, reason: `movie_id ${m.movieId} is not positive` };
  if (!(m.count > 0)) return { ok: false, reason: `count ${m.count} is not positive` };
  const r = rows.get(m.movieId) ?? emptyRow(m.movieId);
  if (m.count >= r.count) rows.set(m.movieId, { ...r, count: m.count, mean: m.mean });
  return { ok: true };
}

/** A fetched record that can hand its value's bytes where they lie (the messaging seam's records can). */
interface InPlaceValue {
  readValue?<T>(read: (bytes: Uint8Array | null, start: number, end: number) => T): T;
}

/**
 * Applies a batch of MeanRating messages as applyMeanRating applies them one by one, but sets each movie's
 * row once: the last of the batch's updates with the highest count (what one-by-one would leave). A row is
 * a value (a new object per change, kept until replaced): one per message made the sink's heap follow the
 * mean-ratings stream. Values are read in place where the record allows it, and nothing is made per
 * message. `onBad` hears about each message applyMeanRating would refuse, with its reason.
 */
export function applyMeanRatings<M extends { value: Buffer | null } & InPlaceValue>(
  rows: MovieDataRows,
  messages: M[],
  onBad: (m: M, reason: string) => void,
): void {
  // Per movie, its newest update's slot in two columns.
  const slot = new Map<number, number>();
  const counts = new Float64Array(messages.length);
  const means = new Float64Array(messages.length);
  const scratch = { movieId: 0, mean: 0, count: 0 };
  const inPlace = (bytes: Uint8Array | null, start: number, end: number) =>
    bytes !== null && readMeanRatingInPlace(bytes, start, end, scratch) && scratch.movieId > 0 && scratch.count > 0;
  for (const msg of messages) {
    if (!msg.readValue?.(inPlace)) {
      if (!msg.value) {
        onBad(msg, 'empty message value');
        continue;
      }
      let m;
      try {
        m = decodeMeanRatingFields(msg.value);
      } catch (e) {
        onBad(msg, `not a MeanRating: ${(e as Error).message}`);
        continue;
      }
      if (!(m.movieId > 0)) {
        onBad(msg, `movie_id ${m.movieId} is not positive`);
        continue;
      }
      if (!(m.count > 0)) {
        onBad(msg, `count ${m.count} is not positive`);
        continue;
      }
      scratch.movieId = m.movieId;
      scratch.mean = m.mean;
      scratch.count = m.count;
    }
    let i = slot.get(scratch.movieId);
    if (i === undefined) {
      i = slot.size;
      slot.set(scratch.movieId, i);
    } else if (scratch.count < counts[i]) continue;
    counts[i] = scratch.count;
    means[i] = scratch.mean;
  }
  for (const [movieId, i] of slot) {
    const r = rows.get(movieId) ?? emptyRow(movieId);
    if (counts[i] >= r.count) rows.set(movieId, { ...r, count: counts[i], mean: means[i] });
  }
}

/** A Movie message as the database sink stores it: genres as a list ([] = "(no genres listed)"). */
export interface MovieUpdate {
  movieId: number;
  title: string;
  genres: string[];
}

/** A MeanRating message's absolute values. */
export interface MeanUpdate {
  movieId: number;
  sum: number;
  count: number;
}

/** A message's value decoded, or undefined once `onBad` was told why it cannot be. */
function decodeValue<M extends { value: Buffer | null }, T>(
  msg: M,
  onBad: (m: M, reason: string) => void,
  what: string,
  decode: (value: Buffer) => T,
): T | undefined {
  if (!msg.value) {
    onBad(msg, 'empty message value');
    return undefined;
  }
  try {
    return decode(msg.value);
  } catch (e) {
    onBad(msg, `not a ${what}: ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * Decodes a batch of Movie messages (database mode) with the same rules as applyMovie; an unusable
 * message is reported to `onBad` with the reason, never dropped silently.
 */
export function decodeMovies<M extends { value: Buffer | null }>(messages: M[], onBad: (m: M, reason: string) => void): MovieUpdate[] {
  const out: MovieUpdate[] = [];
  for (const msg of messages) {
    const m = decodeValue(msg, onBad, 'Movie', (v) => fromBinary(MovieSchema, v));
    if (!m) continue;
    if (!(m.id > 0)) onBad(msg, `movie id ${m.id} is not positive`);
    else if (m.genres.some((g) => g === '')) onBad(msg, `movie ${m.id}: an empty genre name`);
    else out.push({ movieId: m.id, title: m.title, genres: [...m.genres] });
  }
  return out;
}

/** Decodes a batch of MeanRating messages (database mode) with the same rules as applyMeanRating. */
export function decodeMeans<M extends { value: Buffer | null }>(messages: M[], onBad: (m: M, reason: string) => void): MeanUpdate[] {
  const out: MeanUpdate[] = [];
  for (const msg of messages) {
    const m = decodeValue(msg, onBad, 'MeanRating', decodeMeanRatingFields);
    if (!m) continue;
    if (!(m.movieId > 0)) onBad(msg, `movie_id ${m.movieId} is not positive`);
    else if (!(m.count > 0)) onBad(msg, `count ${m.count} is not positive`);
    else if (!Number.isFinite(m.sum)) onBad(msg, `sum ${m.sum} is not a finite number`);
    else out.push({ movieId: m.movieId, sum: m.sum, count: m.count });
  }
  return out;
}
