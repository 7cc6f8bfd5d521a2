import type { ColumnSpec } from '@movie-stream/storable-frame';
import { decodeMeanRatingFields, decodeRatingFields, encodeMeanRatingFields, encodeRatingFields } from '@movie-stream/schema';

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

/** Decodes Rating messages; a message that fails to decode or breaks the schema's rules is reported, not thrown. */
export function decodeRatings<M extends { offset: string; value: Buffer | null }>(
  messages: M[],
  onBad: (m: M, reason: string) => void,
): DecodedRating[] {
  const out: DecodedRating[] = [];
  for (const m of messages) {
    if (!m.value) {
      onBad(m, 'empty message value');
      continue;
    }
    let r;
    try {
      r = decodeRatingFields(m.value);
    } catch (e) {
      onBad(m, `not a Rating: ${(e as Error).message}`);
      continue;
    }
    if (!(r.movieId > 0)) onBad(m, `movie_id ${r.movieId} is not positive`);
    else if (!(r.value >= 0.5 && r.value <= 5)) onBad(m, `rating ${r.value} outside 0.5-5.0`);
    else out.push({ movieId: r.movieId, value: r.value });
  }
  return out;
}

/**
 * The new state of every movie the ratings touch, one entry per movie (so one MeanRating per movie and
 * batch: downstream sees the same final values with fewer messages). `table` is NOT changed: the caller
 * publishes first and applies after, so a failed publish leaves state and offsets untouched.
 */
export function aggregate(table: { get(movieId: number): MovieMean | undefined }, ratings: DecodedRating[]): MovieMean[] {
  const next = new Map<number, MovieMean>();
  for (const r of ratings) {
    let m = next.get(r.movieId);
    if (!m) {
      const cur = table.get(r.movieId);
      m = { movieId: r.movieId, sum: cur?.sum ?? 0, count: cur?.count ?? 0 };
      next.set(r.movieId, m);
    }
    m.sum += r.value;
    m.count += 1;
  }
  return [...next.values()];
}

/** Which ratings an update covers: partition p of ratings up to (not including) `offset`. */
export interface MeanSource {
  partition: number;
  offset: string;
}

export function encodeMeanRating(m: MovieMean, source?: MeanSource): Buffer {
  return encodeMeanRatingFields({
    movieId: m.movieId,
    sum: m.sum,
    count: m.count,
    mean: m.sum / m.count,
    sourcePartition: source?.partition ?? 0,
    sourceOffset: source?.offset ?? '0',
  });
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

/** Where a rating comes from: its source (a hash, never 0) and its 1-based row among the source's accepted rows. */
export interface RatingSource {
  sourceId: number;
  sourceRow: number;
}

export function encodeRating(r: { userId: number; movieId: number; rating: number; timestamp: number }, source?: RatingSource): Buffer {
  return encodeRatingFields({
    userId: r.userId,
    movieId: r.movieId,
    value: r.rating,
    timestamp: r.timestamp,
    sourceId: source?.sourceId ?? 0,
    sourceRow: source?.sourceRow ?? 0,
  });
}

export interface DecodedRatingRecord extends RatingSource {
  userId: number;
  movieId: number;
  rating: number;
  timestamp: number;
}

/** A Rating message with its source, for the producer's resume; undefined when it is not a Rating. */
export function decodeRatingRecord(value: Uint8Array): DecodedRatingRecord | undefined {
  try {
    const r = decodeRatingFields(value);
    return {
      userId: r.userId,
      movieId: r.movieId,
      rating: r.value,
      timestamp: r.timestamp,
      sourceId: r.sourceId,
      sourceRow: r.sourceRow,
    };
  } catch {
    return undefined;
  }
}
