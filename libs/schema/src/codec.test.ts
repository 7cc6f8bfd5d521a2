import fc from 'fast-check';
import { create, fromBinary, toBinary, MeanRatingSchema, RatingSchema } from './index';
import {
  decodeMeanRatingFields,
  decodeRatingFields,
  encodeMeanRatingFields,
  encodeRatingFields,
  MeanRatingFields,
  RatingFields,
  readMeanRatingInPlace,
  readRatingInPlace,
  WireFormatError,
} from './codec';

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
// Zero is a value of its own on the wire (left out): generated often, as are the realistic ranges.
const withZero = <T>(a: fc.Arbitrary<T>, zero: T) => fc.oneof(a, fc.constant(zero));
const ratingArb = fc.record({
  userId: withZero(int32, 0),
  movieId: withZero(int32, 0),
  value: withZero(fc.double(), 0),
  timestamp: withZero(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), 0),
  sourceId: withZero(uint32, 0),
  sourceRow: withZero(uint32, 0),
});
const meanArb = fc.record({
  movieId: withZero(int32, 0),
  mean: withZero(fc.double(), 0),
  sum: withZero(fc.double(), 0),
  count: withZero(uint32, 0),
  sourcePartition: withZero(uint32, 0),
  sourceOffset: withZero(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), 0n).map(String),
});

const reflectRating = (r: RatingFields) => toBinary(RatingSchema, create(RatingSchema, { ...r, timestamp: BigInt(r.timestamp) }));
const reflectMean = (m: MeanRatingFields) => toBinary(MeanRatingSchema, create(MeanRatingSchema, m));
// The generated message's fields, without its type name and the unknown fields it keeps (the codecs skip them).
const fields = (o: object) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== '$typeName' && k !== '$unknown'));

describe('hand-written codecs', () => {
  it('encode a Rating to the same bytes as protobuf-es reflection', () => {
    fc.assert(
      fc.property(ratingArb, (r) => expect([...encodeRatingFields(r)]).toEqual([...reflectRating(r)])),
      { numRuns: 2000 },
    );
  });

  it('encode a MeanRating to the same bytes as protobuf-es reflection', () => {
    fc.assert(
      fc.property(meanArb, (m) => expect([...encodeMeanRatingFields(m)]).toEqual([...reflectMean(m)])),
      { numRuns: 2000 },
    );
  });

  it("read a Rating's movie id and value in place as decodeRatingFields does, from anywhere in a buffer, or decline", () => {
    const outcome = (bytes: Uint8Array) => {
      try {
        const r = decodeRatingFields(bytes);
        return { movieId: r.movieId, value: r.value };
      } catch {
        return 'error';
      }
    };
    // Encoded ratings (the common case: all must be read in place), and the same cut, spliced or with bytes
    // flipped (those read in place must read as decodeRatingFields reads them).
    const encoded = ratingArb.map((r) => encodeRatingFields(r));
    const changed = fc.oneof(
      fc.tuple(encoded, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
      fc.tuple(encoded, encoded).map(([a, b]) => Buffer.concat([a, b])),
      fc.tuple(encoded, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, v]) => {
        const c = Buffer.from(b);
        if (c.length) c[i % c.length] = v;
        return c;
      }),
      fc.uint8Array({ maxLength: 40 }),
    );
    const at = fc.tuple(fc.nat({ max: 7 }), fc.nat({ max: 7 }));
    let declined = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          encoded.map((b) => [b, true] as const),
          changed.map((b) => [b, false] as const),
        ),
        at,
        ([bytes, common], [before, after]) => {
          const padded = new Uint8Array(before + bytes.length + after).fill(0xff);
          padded.set(bytes, before);
          const out = { movieId: -1, value: -1 };
          const read = readRatingInPlace(padded, before, before + bytes.length, out);
          if (common) {
            const r = decodeRatingFields(bytes);
            // The encoder writes movieId and userId as int32: a negative one is a 10-byte varint, declined.
            if (r.movieId >= 0 && r.userId >= 0) expect(read).toBe(true);
          }
          if (read) expect(outcome(bytes)).toEqual(out);
          else declined++;
        },
      ),
      { numRuns: 5000 },
    );
    expect(declined).toBeGreaterThan(0);
  });

  it("read a MeanRating's movie id, mean and count in place as decodeMeanRatingFields does, or decline", () => {
    const outcome = (bytes: Uint8Array) => {
      try {
        const m = decodeMeanRatingFields(bytes);
        return { movieId: m.movieId, mean: m.mean, count: m.count };
      } catch {
        return 'error';
      }
    };
    const encoded = meanArb.map((m) => encodeMeanRatingFields(m));
    const changed = fc.oneof(
      fc.tuple(encoded, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
      fc.tuple(encoded, encoded).map(([a, b]) => Buffer.concat([a, b])),
      fc.tuple(encoded, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, v]) => {
        const c = Buffer.from(b);
        if (c.length) c[i % c.length] = v;
        return c;
      }),
      fc.uint8Array({ maxLength: 40 }),
    );
    let declined = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          encoded.map((b) => [b, true] as const),
          changed.map((b) => [b, false] as const),
        ),
        fc.tuple(fc.nat({ max: 7 }), fc.nat({ max: 7 })),
        ([bytes, common], [before, after]) => {
          const padded = new Uint8Array(before + bytes.length + after).fill(0xff);
          padded.set(bytes, before);
          const out = { movieId: -1, mean: -1, count: -1 };
          const read = readMeanRatingInPlace(padded, before, before + bytes.length, out);
          if (common && decodeMeanRatingFields(bytes).movieId >= 0) expect(read).toBe(true);
          if (read) expect(outcome(bytes)).toEqual(out);
          else declined++;
        },
      ),
      { numRuns: 5000 },
    );
    expect(declined).toBeGreaterThan(0);
  });

  it('decode what reflection wrote to the values reflection reads', () => {
    fc.assert(
      fc.property(ratingArb, (r) => {
        const bytes = reflectRating(r);
        const ref = fromBinary(RatingSchema, bytes);
        expect(decodeRatingFields(bytes)).toEqual({ ...fields(ref), timestamp: Number(ref.timestamp) });
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(meanArb, (m) => {
        const bytes = reflectMean(m);
        expect(decodeMeanRatingFields(bytes)).toEqual(fields(fromBinary(MeanRatingSchema, bytes)));
      }),
      { numRuns: 2000 },
    );
  });

  it('returns independent buffers (the writer is reused)', () => {
    const a = encodeRatingFields({ userId: 1, movieId: 2, value: 3.5, timestamp: 4, sourceId: 5, sourceRow: 6 });
    const b = encodeRatingFields({ userId: 7, movieId: 8, value: 1, timestamp: 9, sourceId: 10, sourceRow: 11 });
    expect(decodeRatingFields(a)).toEqual({ userId: 1, movieId: 2, value: 3.5, timestamp: 4, sourceId: 5, sourceRow: 6 });
    expect(decodeRatingFields(b).movieId).toBe(8);
  });

  it('skips unknown fields as reflection does (a newer writer)', () => {
    const bytes = Buffer.concat([
      encodeRatingFields({ userId: 1, movieId: 2, value: 3, timestamp: 0, sourceId: 0, sourceRow: 0 }),
      Buffer.from([0x3a, 0x02, 0x68, 0x69]),
    ]);
    expect(decodeRatingFields(bytes)).toEqual({ userId: 1, movieId: 2, value: 3, timestamp: 0, sourceId: 0, sourceRow: 0 });
    expect(fromBinary(RatingSchema, bytes).movieId).toBe(2);
  });

  it('refuses truncated bytes, a wrong wire type and garbage with WireFormatError', () => {
    const full = encodeMeanRatingFields({ movieId: 9, mean: 2.5, sum: 5, count: 2, sourcePartition: 1, sourceOffset: '77' });
    expect(() => decodeMeanRatingFields(full.subarray(0, 5))).toThrow(WireFormatError);
    expect(() => decodeRatingFields(Buffer.from([0x11, 1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/field 2 has wire type 1/);
    expect(() => decodeRatingFields(Buffer.from('not a protobuf message at all'))).toThrow(WireFormatError);
  });

  it('agrees with reflection on random bytes whenever it accepts them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        let fast;
        try {
          fast = decodeMeanRatingFields(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(WireFormatError);
          return;
        }
        expect(fast).toEqual(fields(fromBinary(MeanRatingSchema, bytes)));
      }),
      { numRuns: 5000 },
    );
  });
});
