import type { ColumnSpec } from '@movie-stream/storable-frame';
import { decodeMeanRatingFields, decodeRatingFields } from '@movie-stream/schema';

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
