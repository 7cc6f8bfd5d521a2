import { encodeMeanRating, encodeRating } from '@movie-stream/schema';
import { aggregate, decodeMeanChangelog, decodeRatings, MovieMean, meanFromRecord, Ratings } from './index';

describe('aggregate', () => {
  it('adds ratings to the existing sums without changing the table', () => {
    const table = new Map<number, MovieMean>([[1, { movieId: 1, sum: 4, count: 1 }]]);
    const out = aggregate(
      table,
      Ratings.of([
        { movieId: 1, value: 3 },
        { movieId: 2, value: 0.5 },
        { movieId: 1, value: 5 },
      ]),
    );
    expect(out).toEqual([
      { movieId: 1, sum: 12, count: 3 },
      { movieId: 2, sum: 0.5, count: 1 },
    ]);
    expect(table.get(1)).toEqual({ movieId: 1, sum: 4, count: 1 });
  });
});

describe('decodeRatings', () => {
  it('decodes valid ratings and reports garbage and out-of-range values with their offsets', () => {
    const bad: { offset: string; reason: string }[] = [];
    const msgs = [
      { offset: '0', value: encodeRating({ userId: 1, movieId: 10, rating: 4.5, timestamp: 1 }) },
      { offset: '1', value: Buffer.from([0xff, 0xff, 0xff]) },
      { offset: '2', value: encodeRating({ userId: 1, movieId: 10, rating: 7, timestamp: 1 }) },
      { offset: '3', value: encodeRating({ userId: 1, movieId: 0, rating: 3, timestamp: 1 }) },
      { offset: '4', value: null },
    ];
    expect(decodeRatings(msgs, (m, reason) => bad.push({ offset: m.offset, reason })).toArray()).toEqual([{ movieId: 10, value: 4.5 }]);
    expect(bad.map((b) => b.offset)).toEqual(['1', '2', '3', '4']);
    expect(bad[1].reason).toMatch(/rating 7 outside/);
  });
});

describe('decodeRatings in place', () => {
  it('reads records that hand their value where it lies as it reads their values, bad ones named the same', () => {
    const values = [
      encodeRating({ userId: 1, movieId: 10, rating: 4.5, timestamp: 1 }),
      Buffer.from([0xff, 0xff, 0xff]),
      encodeRating({ userId: 1, movieId: 10, rating: 7, timestamp: 1 }),
      encodeRating({ userId: 7, movieId: 193_609, rating: 0.5, timestamp: 1_537_799_250 }, { sourceId: 0xfedcba98, sourceRow: 25 }),
      encodeRating({ userId: 1, movieId: 0, rating: 3, timestamp: 1 }),
      null,
      encodeRating({ userId: -1, movieId: 12, rating: 5, timestamp: -5 }),
    ];
    // All values in one buffer, each record reading its own part of it.
    const all = Buffer.concat(values.map((v) => v ?? Buffer.alloc(0)));
    let at = 0;
    let reads = 0;
    const inPlace = values.map((value, i) => {
      const start = at;
      at += value?.length ?? 0;
      return {
        offset: String(i),
        value,
        readValue<T>(read: (bytes: Uint8Array | null, start: number, end: number) => T): T {
          reads++;
          return value ? read(all, start, start + value.length) : read(null, 0, 0);
        },
      };
    });
    const plain = values.map((value, i) => ({ offset: String(i), value }));
    const bad = (msgs: { offset: string; value: Buffer | null }[]) => {
      const out: [string, string][] = [];
      const ratings = decodeRatings(msgs, (m, reason) => out.push([m.offset, reason]));
      return { ratings: ratings.toArray(), bad: out };
    };
    expect(bad(inPlace)).toEqual(bad(plain));
    expect(bad(plain).ratings).toEqual([
      { movieId: 10, value: 4.5 },
      { movieId: 193_609, value: 0.5 },
      { movieId: 12, value: 5 },
    ]);
    expect(reads).toBe(values.length);
  });
});

describe('meanFromRecord', () => {
  it('round-trips a snapshot row and rejects a broken one', () => {
    expect(meanFromRecord({ movieId: '3', sum: '7.5', count: '2', mean: '3.75' })).toEqual([3, { movieId: 3, sum: 7.5, count: 2 }]);
    expect(() => meanFromRecord({ movieId: 'x', sum: '1', count: '1' })).toThrow(/bad mean-ratings snapshot row/);
  });
});

describe('Rating source fields', () => {
  it('are ignored by the processor (libs/schema tests their encoding)', () => {
    const r = { userId: 162_541, movieId: 193_609, rating: 4.5, timestamp: 1_537_799_250 };
    const value = encodeRating(r, { sourceId: 0xfedcba98, sourceRow: 25_000_095 });
    expect(decodeRatings([{ offset: '0', value }], () => undefined).toArray()).toEqual([{ movieId: 193_609, value: 4.5 }]);
  });
});

describe('the mean-ratings changelog', () => {
  it('reads back the row and the ratings offset an update covers', () => {
    const value = encodeMeanRating({ movieId: 42, sum: 7.5, count: 2 }, { partition: 3, offset: '123456789012' });
    expect(decodeMeanChangelog(value)).toEqual({ key: 42, row: { movieId: 42, sum: 7.5, count: 2 }, sourceOffset: '123456789012' });
  });

  it('says "0" for updates written without a source (before scale-out) and rejects what is no MeanRating', () => {
    expect(decodeMeanChangelog(encodeMeanRating({ movieId: 1, sum: 3, count: 1 }))?.sourceOffset).toBe('0');
    expect(decodeMeanChangelog(Buffer.from([0xff, 0xff, 0xff]))).toBeUndefined();
    expect(decodeMeanChangelog(encodeMeanRating({ movieId: 0, sum: 3, count: 1 }, { partition: 0, offset: '5' }))).toBeUndefined();
  });
});
