import { decodeMeanRatingFields, decodeRatingFields } from './codec';
import { fromBinary, MeanRatingSchema, MovieSchema, RatingSchema } from './index';
import { decodeRatingRecord, encodeMeanRating, encodeMovie, encodeRating } from './messages';

describe('Rating', () => {
  const r = { userId: 162_541, movieId: 193_609, rating: 4.5, timestamp: 1_537_799_250 };

  it('round-trips a ratings.csv row with its source, and reads as the generated message', () => {
    const value = encodeRating(r, { sourceId: 0xfedcba98, sourceRow: 25_000_095 });
    expect(decodeRatingRecord(value)).toEqual({ ...r, sourceId: 0xfedcba98, sourceRow: 25_000_095 });
    expect(fromBinary(RatingSchema, value)).toMatchObject({ userId: 162_541, movieId: 193_609, value: 4.5, timestamp: 1_537_799_250n });
    expect(decodeRatingFields(value)).toMatchObject({ movieId: 193_609, value: 4.5 });
  });

  it('says source 0, row 0 without a source, and undefined for what is no Rating', () => {
    expect(decodeRatingRecord(encodeRating(r))).toEqual({ ...r, sourceId: 0, sourceRow: 0 });
    expect(decodeRatingRecord(Buffer.from([0xff, 0xff, 0xff]))).toBeUndefined();
  });

  it('source fields add at most 10 bytes to a rating (fixed32 id: 5, varint row of 25 million: 5)', () => {
    const plain = encodeRating(r).length;
    const withSource = encodeRating(r, { sourceId: 0xfedcba98, sourceRow: 25_000_095 }).length;
    expect(withSource - plain).toBeLessThanOrEqual(10);
    process.stderr.write(`Rating: ${plain} bytes, ${withSource} with source id and row\n`);
  });
});

describe('MeanRating', () => {
  it('carries the totals, their mean and the ratings position the update covers', () => {
    const value = encodeMeanRating({ movieId: 42, sum: 7.5, count: 3 }, { partition: 3, offset: '123456789012' });
    expect(decodeMeanRatingFields(value)).toEqual({
      movieId: 42,
      sum: 7.5,
      count: 3,
      mean: 2.5,
      sourcePartition: 3,
      sourceOffset: '123456789012',
    });
    expect(fromBinary(MeanRatingSchema, value)).toMatchObject({ movieId: 42, mean: 2.5, sourceOffset: '123456789012' });
  });

  it('says partition 0, offset "0" without a source', () => {
    expect(decodeMeanRatingFields(encodeMeanRating({ movieId: 1, sum: 10, count: 3 }))).toMatchObject({
      mean: 10 / 3,
      sourcePartition: 0,
      sourceOffset: '0',
    });
  });
});

describe('Movie', () => {
  it('carries a movies.csv row (no genres: an empty list)', () => {
    expect(
      fromBinary(MovieSchema, encodeMovie({ movieId: 1, title: 'Toy Story (1995)', genres: ['Adventure', 'Animation'] })),
    ).toMatchObject({
      id: 1,
      title: 'Toy Story (1995)',
      genres: ['Adventure', 'Animation'],
    });
    expect(fromBinary(MovieSchema, encodeMovie({ movieId: 2, title: 'x', genres: [] })).genres).toEqual([]);
  });
});
