import type { ColumnSpec } from '@movie-stream/storable-frame';
import { decodeMeanRatingFields, decodeRatingFields, readRatingInPlace } from '@movie-stream/schema';

/** State of one movie in the processor: enough to make every published update absolute. */
export interface MovieMean {
  movieId: number;
  sum: number;
  count: number;
}

/** mean-ratings.csv: movieId;sum;count;mean */
export const MEAN_RATING_COLUMNS: ColumnSpec<MovieMean>[] = [
  { name: 'movieId', kind: 'number', get: (r) => r.movieId },
  { name: 'sum', kind: 'number', get: (r) => r.sum },
  { name: 'count', kind: 'number', get: (r) => r.count },
  { name: 'mean', kind: 'number', get: (r) => (r.count > 0 ? r.sum / r.count : undefined) },
];

export function meanFromRecord(rec: Record<string, string>): [number, MovieMean] {
  const row = { movieId: Number(rec.movieId), sum: Number(rec.sum), count: Number(rec.count) };
  if (!Number.isInteger(row.movieId) || !Number.isFinite(row.sum) || !Number.isInteger(row.count)) {
    throw new Error(`bad mean-ratings snapshot row ${JSON.stringify(rec)}`);
  }
  return [row.movieId, row];
}

export interface DecodedRating {
  movieId: number;
  value: number;
}

/**
 * A batch's decoded ratings as two columns: no object per rating, as a batch's ratings stay alive while its
 * update is published (an object each made the processor's heap follow its batches).
 */
export class Ratings {
  readonly movieIds: Int32Array;
  readonly values: Float64Array;
  length = 0;

  constructor(capacity: number) {
    this.movieIds = new Int32Array(capacity);
    this.values = new Float64Array(capacity);
  }

  static of(ratings: DecodedRating[]): Ratings {
    const out = new Ratings(ratings.length);
    for (const r of ratings) out.push(r.movieId, r.value);
    return out;
  }

  push(movieId: number, value: number): void {
    this.movieIds[this.length] = movieId;
    this.values[this.length++] = value;
  }

  /** The movies rated, each once. */
  movies(): number[] {
    return [...new Set(this.movieIds.subarray(0, this.length))];
  }

  toArray(): DecodedRating[] {
    return Array.from({ length: this.length }, (_, i) => ({ movieId: this.movieIds[i], value: this.values[i] }));
  }
}

/** A fetched record that can hand its value's bytes where they lie (the messaging seam's records can). */
interface InPlaceValue {
  readValue?<T>(read: (bytes: Uint8Array | null, start: number, end: number) => T): T;
}

const isRating = (movieId: number, value: number) => movieId > 0 && value >= 0.5 && value <= 5;

/** Decodes Rating messages; a message that fails to decode or breaks the schema's rules is reported, not thrown. */
export function decodeRatings<M extends { offset: string; value: Buffer | null } & InPlaceValue>(
  messages: M[],
  onBad: (m: M, reason: string) => void,
): Ratings {
  const out = new Ratings(messages.length);
  // Read in place where the record allows it (nothing allocated per rating); anything else, and any rating
  // that breaks a rule, takes the full decoding below, which names the reason.
  const scratch = { movieId: 0, value: 0 };
  const inPlace = (bytes: Uint8Array | null, start: number, end: number) =>
    bytes !== null && readRatingInPlace(bytes, start, end, scratch) && isRating(scratch.movieId, scratch.value);
  for (const m of messages) {
    if (m.readValue?.(inPlace)) {
      out.push(scratch.movieId, scratch.value);
      continue;
    }
    const bytes = m.value;
    if (!bytes) {
      onBad(m, 'empty message value');
      continue;
    }
    let r;
    try {
      r = decodeRatingFields(bytes);
    } catch (e) {
      onBad(m, `not a Rating: ${(e as Error).message}`);
      continue;
    }
    if (!(r.movieId > 0)) onBad(m, `movie_id ${r.movieId} is not positive`);
    else if (!(r.value >= 0.5 && r.value <= 5)) onBad(m, `rating ${r.value} outside 0.5-5.0`);
    else out.push(r.movieId, r.value);
  }
  return out;
}

/**
 * The new state of every movie the ratings touch, one entry per movie (so one MeanRating per movie and
 * batch: downstream sees the same final values with fewer messages). `table` is NOT changed: the caller
 * publishes first and applies after, so a failed publish leaves state and offsets untouched.
 */
export function aggregate(table: { get(movieId: number): MovieMean | undefined }, ratings: Ratings): MovieMean[] {
  const next = new Map<number, MovieMean>();
  const { movieIds, values } = ratings;
  for (let i = 0; i < ratings.length; i++) {
    const movieId = movieIds[i];
    let m = next.get(movieId);
    if (!m) {
      const cur = table.get(movieId);
      m = { movieId, sum: cur?.sum ?? 0, count: cur?.count ?? 0 };
      next.set(movieId, m);
    }
    m.sum += values[i];
    m.count += 1;
  }
  return [...next.values()];
}

/**
 * A mean-ratings record read back as the processor's changelog: the row it sets and the ratings offset it
 * covers; undefined when it is no valid MeanRating.
 */
export function decodeMeanChangelog(value: Uint8Array): { key: number; row: MovieMean; sourceOffset: string } | undefined {
  let m;
  try {
    m = decodeMeanRatingFields(value);
  } catch {
    return undefined;
  }
  if (!(m.movieId > 0) || !(m.count > 0)) return undefined;
  return { key: m.movieId, row: { movieId: m.movieId, sum: m.sum, count: m.count }, sourceOffset: m.sourceOffset };
}
