// The messages as the services write and read them: a ratings.csv row with its source position as a Rating,
// a movie's sum and count as a MeanRating, a movies.csv row as a Movie. The wire format is the schema's
// business, so the producers and the processor take these from here, not from each other's libs; what a
// service does with a message (the processor's range checks, its changelog, the sink's join) stays in
// its domain lib. Rating and MeanRating go through the hand-written codecs (codec.ts).
import { create, toBinary } from '@bufbuild/protobuf';
import { decodeRatingFields, encodeMeanRatingFields, encodeRatingFields } from './codec';
import { MovieSchema } from './gen/movielens/v1/movie_pb';

/** A rating as ratings.csv has it (MovieLens's `rating` is the message's `value`). */
export interface RatingRecord {
  userId: number;
  movieId: number;
  rating: number;
  timestamp: number;
}

/** Where a rating comes from: its source (a hash, never 0) and its 1-based row among the source's accepted rows. */
export interface RatingSource {
  sourceId: number;
  sourceRow: number;
}

export function encodeRating(r: RatingRecord, source?: RatingSource): Buffer {
  return encodeRatingFields({
    userId: r.userId,
    movieId: r.movieId,
    value: r.rating,
    timestamp: r.timestamp,
    sourceId: source?.sourceId ?? 0,
    sourceRow: source?.sourceRow ?? 0,
  });
}

export interface DecodedRatingRecord extends RatingRecord, RatingSource {}

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

/** A movie's absolute totals, as a MeanRating carries them (the mean is computed from them). */
export interface MeanTotals {
  movieId: number;
  sum: number;
  count: number;
}

/** Which ratings an update covers: partition p of ratings up to (not including) `offset`. */
export interface MeanSource {
  partition: number;
  offset: string;
}

export function encodeMeanRating(m: MeanTotals, source?: MeanSource): Buffer {
  return encodeMeanRatingFields({
    movieId: m.movieId,
    sum: m.sum,
    count: m.count,
    mean: m.sum / m.count,
    sourcePartition: source?.partition ?? 0,
    sourceOffset: source?.offset ?? '0',
  });
}

/** A movie as movies.csv has it (genres: [] for MovieLens's "(no genres listed)"). */
export interface MovieRecord {
  movieId: number;
  title: string;
  genres: string[];
}

export function encodeMovie(m: MovieRecord): Buffer {
  return Buffer.from(toBinary(MovieSchema, create(MovieSchema, { id: m.movieId, title: m.title, genres: m.genres })));
}
