import { create, toBinary, MovieSchema, RatingSchema } from '@movie-stream/schema';
import { parseMovieFields, parseRatingFields } from './index';
import { MAX_ID, reasonKey } from './validate';

describe('parseRatingFields', () => {
  it('accepts a MovieLens row and parses numbers', () => {
    expect(parseRatingFields(['1', '31', '2.5', '1260759144'])).toEqual({
      userId: 1,
      movieId: 31,
      rating: 2.5,
      timestamp: 1260759144,
    });
    expect(parseRatingFields(['7', '8', '5', '0'])).toEqual({ userId: 7, movieId: 8, rating: 5, timestamp: 0 });
    expect(parseRatingFields(['7', '8', '0.5', '1'])).toMatchObject({ rating: 0.5 });
    expect(parseRatingFields(['7', '8', '4.50', '1'])).toMatchObject({ rating: 4.5 });
    expect(parseRatingFields(['007', '8', '3.0', '1'])).toMatchObject({ userId: 7 });
  });

  it.each([
    [['1', '2', '3.0'], 'expected 4 fields, got 3'],
    [['1', '2', '3.0', '4', ''], 'expected 4 fields, got 5'],
    [['abc', '2', '3.0', '4'], 'userId "abc" is not a positive integer'],
    [['0', '2', '3.0', '4'], 'userId "0" is not a positive integer'],
    [['-1', '2', '3.0', '4'], 'userId "-1" is not a positive integer'],
    [['', '2', '3.0', '4'], 'userId "" is not a positive integer'],
    [['1', '12abc', '3.0', '4'], 'movieId "12abc" is not a positive integer'],
    [['1', '1.5', '3.0', '4'], 'movieId "1.5" is not a positive integer'],
    [['1', ' 2', '3.0', '4'], 'movieId " 2" is not a positive integer'],
    [['1', '+2', '3.0', '4'], 'movieId "+2" is not a positive integer'],
    [
      ['1', '12345678901234567890', '3.0', '4'],
      'movieId "12345678901234567890" is above 2147483647, the largest id the messages carry (int32)',
    ],
    [['2147483648', '2', '3.0', '4'], 'userId "2147483648" is above 2147483647, the largest id the messages carry (int32)'],
    [['1', '2147483648', '3.0', '4'], 'movieId "2147483648" is above 2147483647, the largest id the messages carry (int32)'],
    [['1', '999999999999999', '3.0', '4'], 'movieId "999999999999999" is above 2147483647, the largest id the messages carry (int32)'],
    [['1', '-2147483647', '3.0', '4'], 'movieId "-2147483647" is not a positive integer'],
    [['1', '000', '3.0', '4'], 'movieId "000" is not a positive integer'],
    [['1', '2', '7', '4'], 'rating "7" outside 0.5-5.0'],
    [['1', '2', '0', '4'], 'rating "0" outside 0.5-5.0'],
    [['1', '2', '0.0', '4'], 'rating "0.0" outside 0.5-5.0'],
    [['1', '2', '5.5', '4'], 'rating "5.5" outside 0.5-5.0'],
    [['1', '2', '3.3', '4'], 'rating "3.3" is not a multiple of 0.5'],
    [['1', '2', '3.25', '4'], 'rating "3.25" is not a multiple of 0.5'],
    [['1', '2', 'x', '4'], 'rating "x" is not a number'],
    [['1', '2', '', '4'], 'rating "" is not a number'],
    [['1', '2', '-1', '4'], 'rating "-1" is not a number'],
    [['1', '2', '3.', '4'], 'rating "3." is not a number'],
    [['1', '2', '.5', '4'], 'rating ".5" is not a number'],
    [['1', '2', '1e0', '4'], 'rating "1e0" is not a number'],
    [['1', '2', '3.0', '-4'], 'timestamp "-4" is not a non-negative integer'],
    [['1', '2', '3.0', '4.5'], 'timestamp "4.5" is not a non-negative integer'],
    [['1', '2', '3.0', ''], 'timestamp "" is not a non-negative integer'],
  ])('rejects %j: %s', (fields, reason) => {
    expect(parseRatingFields(fields)).toBe(reason);
  });

  it('accepts ids up to 2^31-1, the int32 the Rating message carries', () => {
    expect(parseRatingFields(['2147483647', '2147483647', '3.0', '4'])).toMatchObject({ userId: 2147483647, movieId: 2147483647 });
    expect(parseRatingFields(['0002147483647', '1', '3.0', '4'])).toMatchObject({ userId: 2147483647 });
    expect(parseRatingFields(['1', '2147483646', '3.0', '999999999999999'])).toMatchObject({
      movieId: 2147483646,
      timestamp: 999999999999999,
    });
  });

  it('MAX_ID is what the messages carry: the largest accepted ids encode, one more throws', () => {
    const r = parseRatingFields([String(MAX_ID), String(MAX_ID), '5.0', '999999999999999']);
    if (typeof r === 'string') throw new Error(r);
    const rating = { userId: r.userId, movieId: r.movieId, value: r.rating, timestamp: BigInt(r.timestamp) };
    expect(() => toBinary(RatingSchema, create(RatingSchema, rating))).not.toThrow();
    expect(() => toBinary(RatingSchema, create(RatingSchema, { ...rating, userId: MAX_ID + 1 }))).toThrow();
    expect(() => toBinary(RatingSchema, create(RatingSchema, { ...rating, movieId: MAX_ID + 1 }))).toThrow();
    const m = parseMovieFields([String(MAX_ID), 'T', 'Drama']);
    if (typeof m === 'string') throw new Error(m);
    expect(() => toBinary(MovieSchema, create(MovieSchema, { id: m.movieId, title: m.title, genres: m.genres }))).not.toThrow();
    expect(() => toBinary(MovieSchema, create(MovieSchema, { id: MAX_ID + 1, title: 'T' }))).toThrow();
  });

  it('shortens long values in reasons', () => {
    const reason = parseRatingFields(['1', 'x'.repeat(500), '3.0', '4']) as string;
    expect(reason.length).toBeLessThan(100);
    expect(reason).toMatch(/^movieId "x+\.\.\." is not a positive integer$/);
  });
});

describe('parseMovieFields', () => {
  it('accepts rows and splits genres', () => {
    expect(parseMovieFields(['1', 'Toy Story (1995)', 'Adventure|Animation|Children'])).toEqual({
      movieId: 1,
      title: 'Toy Story (1995)',
      genres: ['Adventure', 'Animation', 'Children'],
    });
    expect(parseMovieFields(['2', 'Drama only', 'Drama'])).toEqual({ movieId: 2, title: 'Drama only', genres: ['Drama'] });
    expect(parseMovieFields(['2147483647', 'Last id', 'Drama'])).toMatchObject({ movieId: 2147483647 });
    expect(parseMovieFields(['3', ' Padded, "quoted" Amélie ', '(no genres listed)'])).toEqual({
      movieId: 3,
      title: ' Padded, "quoted" Amélie ',
      genres: [],
    });
  });

  it.each([
    [['1', 'T'], 'expected 3 fields, got 2'],
    [['1', 'T', 'Drama', 'x'], 'expected 3 fields, got 4'],
    [['abc', 'T', 'Drama'], 'movieId "abc" is not a positive integer'],
    [['2147483648', 'T', 'Drama'], 'movieId "2147483648" is above 2147483647, the largest id the messages carry (int32)'],
    [['0', 'T', 'Drama'], 'movieId "0" is not a positive integer'],
    [['1', '', 'Drama'], 'title is empty'],
    [['1', '  ', 'Drama'], 'title is blank'],
    [['1', 'T', ''], 'genres is empty'],
    [['1', 'T', 'Drama||Comedy'], 'genres "Drama||Comedy" has an empty genre'],
    [['1', 'T', 'Drama|'], 'genres "Drama|" has an empty genre'],
    [['1', 'T', 'Drama|(no genres listed)'], 'genres "Drama|(no genres listed)" mixes (no genres listed) with other genres'],
  ])('rejects %j: %s', (fields, reason) => {
    expect(parseMovieFields(fields)).toBe(reason);
  });
});

describe('reasonKey', () => {
  it('drops the quoted value so reasons group', () => {
    expect(reasonKey('rating "7" outside 0.5-5.0')).toBe('rating outside 0.5-5.0');
    expect(reasonKey('movieId "a"b" is not a positive integer')).toBe('movieId is not a positive integer');
    expect(reasonKey('expected 4 fields, got 3')).toBe('expected 4 fields, got 3');
    expect(reasonKey('empty line')).toBe('empty line');
  });
});
