// The KafkaJS encoding and decoding changes (applied and pinned by kafkajs-fix.ts): they give the originals'
// bytes on generated values and records, and are what KafkaJS's producer and consumer get once the seam is
// loaded.
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { originalOf, outcomes } from './kafkajs-fix';
import { Encoder, EncoderInstance, ORIGINAL } from './kafkajs-fast-encoding';
import fastRecordDecoder = require('./kafkajs-fast-record-decoder');
import fastProduce = require('./kafkajs-fast-produce');
import fastRecord = require('./kafkajs-fast-record');

const RECORD = 'src/protocol/recordBatch/record/v0/index.js';
const PRODUCE = 'src/protocol/requests/produce/v3/request.js';
const RECORD_DECODER = 'src/protocol/recordBatch/record/v0/decoder.js';
const originalRecord = originalOf<typeof fastRecord>(RECORD);
const originalProduce = originalOf<typeof fastProduce>(PRODUCE);
const originalRecordDecoder = originalOf<typeof fastRecordDecoder>(RECORD_DECODER);

/** The bytes written, or the error thrown (the originals refuse a non-integer varlong: Long is a BigInt). */
const bytes = (write: (e: EncoderInstance) => void): number[] | string => {
  const e = new Encoder();
  try {
    write(e);
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return [...e.buffer];
};
const size = (v: number, sizeOf: (v: number) => number): number | string => {
  try {
    return sizeOf(v);
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
};

// Integers of every size around the fast paths' limits, negative ones, and non-integers.
const numbers = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.integer({ min: 0, max: 300 }),
  fc.constantFrom(2 ** 52 - 1, 2 ** 52, -(2 ** 52) + 1, -(2 ** 52), 2 ** 53, -(2 ** 53), 2 ** 31, -(2 ** 31), 2 ** 32, 0, -0),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }),
);

describe('KafkaJS encoding fixes', () => {
  it('are in place: the Encoder patched, the produce request using the pre-sized record encoder', () => {
    expect(outcomes['src/protocol/encoder.js']).toBe('applied');
    expect(Encoder.prototype.writeUVarInt).not.toBe(ORIGINAL.writeUVarInt);
    expect(outcomes[RECORD]).toBe('applied');
    expect(require('kafkajs/src/protocol/recordBatch/record/v0')).toBe(fastRecord);
    expect(outcomes[PRODUCE]).toBe('applied');
    expect(require('kafkajs/src/protocol/requests/produce/v3/request')).toBe(fastProduce);
    expect(outcomes[RECORD_DECODER]).toBe('applied');
    expect(require('kafkajs/src/protocol/recordBatch/record/v0/decoder')).toBe(fastRecordDecoder);
  });

  it('write varints and varlongs, and size varlongs, as the originals do', () => {
    fc.assert(
      fc.property(numbers, (v) => {
        expect(bytes((e) => e.writeUVarInt(v))).toEqual(bytes((e) => ORIGINAL.writeUVarInt.call(e, v)));
        expect(bytes((e) => e.writeVarInt(v))).toEqual(bytes((e) => ORIGINAL.writeUVarInt.call(e, (v << 1) ^ (v >> 31))));
        expect(bytes((e) => e.writeVarLong(v))).toEqual(bytes((e) => ORIGINAL.writeVarLong.call(e, v)));
        expect(size(v, (x) => Encoder.sizeOfVarLong(x))).toEqual(size(v, ORIGINAL.sizeOfVarLong));
        if (Number.isInteger(v)) expect(Encoder.sizeOfVarLong(v)).toBe(bytes((e) => e.writeVarLong(v)).length);
      }),
      { numRuns: 10_000 },
    );
  });

  it('write many values into one encoder as the originals do (growth, offsets)', () => {
    fc.assert(
      fc.property(fc.array(numbers.filter(Number.isInteger), { maxLength: 400 }), (vs) => {
        const fast = bytes((e) => vs.forEach((v) => e.writeVarLong(v).writeUVarInt(v)));
        const slow = bytes((e) => vs.forEach((v) => (ORIGINAL.writeVarLong.call(e, v), ORIGINAL.writeUVarInt.call(e, v))));
        expect(fast).toEqual(slow);
      }),
      { numRuns: 300 },
    );
  });

  it('encode records as the original record encoder does', () => {
    const data = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)),
    );
    const record = fc.record(
      {
        offsetDelta: fc.integer({ min: 0, max: 100_000 }),
        timestampDelta: fc.oneof(
          fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
          fc.constantFrom(0, 2 ** 52 - 1, 2 ** 52, -(2 ** 52) + 1, -(2 ** 52), Number.MAX_SAFE_INTEGER),
        ),
        key: fc.oneof(data, fc.constant(null)),
        value: fc.oneof(data, fc.constant(null)),
        headers: fc.option(
          fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(data, fc.array(data, { maxLength: 3 })), { maxKeys: 3 }),
          { nil: undefined },
        ),
      },
      { requiredKeys: ['key', 'value'] },
    );
    fc.assert(
      fc.property(record, (r) => {
        const fast = fastRecord(r);
        expect([...fast.buffer]).toEqual([...originalRecord(r).buffer]);
        expect(fast.size()).toBe(fast.buffer.length);
      }),
      { numRuns: 4000 },
    );
  });

  it('decode records as the original record decoder does (and fail where it fails)', () => {
    const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => { readVarIntBytes(): Buffer };
    const int64 = fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(String);
    const context = fc.record({
      firstOffset: int64,
      firstTimestamp: int64,
      maxTimestamp: int64,
      timestampType: fc.constantFrom(-1, 0, 1),
      isControlBatch: fc.boolean(),
      magicByte: fc.constant(2),
    });
    const data = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
    );
    const record = fc.record({
      offsetDelta: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      timestampDelta: fc.oneof(fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), fc.constantFrom(0, 2 ** 48, -(2 ** 48), 2 ** 49)),
      key: fc.oneof(data, fc.constant(null)),
      value: fc.oneof(data, fc.constant(null)),
      headers: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), data, { maxKeys: 2 }), { nil: undefined }),
    });
    // Every field of a record, read by name (the fast records make theirs on first read).
    const FIELDS = ['magicByte', 'attributes', 'timestamp', 'offset', 'key', 'value', 'headers', 'isControlRecord', 'batchContext'];
    const outcome = (decode: () => unknown) => {
      try {
        const r = decode() as Record<string, unknown> & {
          value: Buffer | null;
          valueSize?: number;
          readValue?: (read: (b: Uint8Array | null, start: number, end: number) => Buffer | null) => Buffer | null;
        };
        // The fast records' value in place and its size read as the value does (the original has neither).
        const inPlace = r.readValue ? r.readValue((b, start, end) => (b ? Buffer.from(b.subarray(start, end)) : null)) : r.value;
        const size = r.valueSize ?? r.value?.length ?? 0;
        return { ...Object.fromEntries(FIELDS.map((f) => [f, r[f]])), inPlace, size };
      } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`;
      }
    };
    // Encoded records, whole and cut short (a truncated record must fail, or not, as it does today; random
    // bytes are no use: the original loops for minutes over a garbage header count).
    const encoded = record.map((r) => new Decoder(fastRecord(r).buffer).readVarIntBytes());
    const body = fc.oneof(
      encoded,
      fc.tuple(encoded, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
    );
    fc.assert(
      fc.property(body, context, (bytes, ctx) => {
        const fast = outcome(() => fastRecordDecoder(new Decoder(bytes) as never, ctx));
        expect(fast).toEqual(outcome(() => originalRecordDecoder(new Decoder(bytes) as never, ctx)));
      }),
      { numRuns: 5000 },
    );
  });

  it('encode produce requests as the original does (plain batches in one pass, others as before)', async () => {
    const Long = require('kafkajs/src/utils/long') as { fromValue(v: unknown): unknown };
    const data = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.uint8Array({ maxLength: 90 }).map((b) => Buffer.from(b)),
    );
    const message = fc.record(
      {
        key: fc.oneof(data, fc.constant(null)),
        value: fc.oneof(data, fc.constant(null)),
        headers: fc.oneof(fc.constant({}), fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), data, { maxKeys: 2 })),
        timestamp: fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }).map(String),
        partition: fc.nat(5),
      },
      { requiredKeys: ['key', 'value'] },
    );
    // What the Publisher sends (the one-pass path), and anything else (the original's path).
    const plainMessage = fc.record({
      key: fc.oneof(data, fc.constant(null)),
      value: fc.oneof(data, fc.constant(null)),
      partition: fc.nat(5),
    });
    const messages = fc.oneof(fc.array(plainMessage, { maxLength: 300 }), fc.array(message, { maxLength: 40 }));
    const request = fc.record({
      acks: fc.constantFrom(-1, 0, 1),
      timeout: fc.nat(60_000),
      transactionalId: fc.constantFrom(null, undefined, '', 'mean-ratings.p03'),
      producerId: fc.option(
        fc.bigInt({ min: -1n, max: 2n ** 40n }).map((v) => Long.fromValue(v)),
        { nil: undefined },
      ),
      producerEpoch: fc.option(fc.nat(300), { nil: undefined }),
      compression: fc.constantFrom(0, 0, 0, 1, undefined),
      topicData: fc.array(
        fc.record({
          topic: fc.string({ minLength: 1, maxLength: 10 }),
          partitions: fc.array(
            fc.record({ partition: fc.nat(50), firstSequence: fc.nat(2 ** 31 - 1), messages }, { requiredKeys: ['partition', 'messages'] }),
            { maxLength: 3 },
          ),
        }),
        { maxLength: 2 },
      ),
    });
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_764_000_000_000);
    try {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const args = r as unknown as Parameters<typeof fastProduce>[0];
          const fast = fastProduce(args);
          const slow = originalProduce(args);
          expect({ ...fast, encode: undefined, expectResponse: fast.expectResponse() }).toEqual({
            ...slow,
            encode: undefined,
            expectResponse: slow.expectResponse(),
          });
          expect([...(await fast.encode()).buffer]).toEqual([...(await slow.encode()).buffer]);
        }),
        { numRuns: 400 },
      );
    } finally {
      now.mockRestore();
    }
  });

  it('keep a fetched record small: under 80 bytes of heap for a rating (the original ≈ 380), held until its fetch is handled', () => {
    const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => { readVarIntBytes(): Buffer };
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const n = 100_000;
    const bytes = Buffer.concat(
      Array.from({ length: n }, (_, i) => fastRecord({ offsetDelta: i, key: String(i % 20_000), value: Buffer.alloc(24, 7) }).buffer),
    );
    const ctx = { firstOffset: '123456', firstTimestamp: '1764000000000', magicByte: 2, timestampType: 0, maxTimestamp: '1764000000000' };
    const perRecord = (decode: typeof fastRecordDecoder) => {
      const d = new Decoder(bytes);
      gc();
      const before = process.memoryUsage().heapUsed;
      const records = Array.from({ length: n }, () => decode(new Decoder(d.readVarIntBytes()) as never, ctx));
      gc();
      const used = (process.memoryUsage().heapUsed - before) / n;
      // A handler reads every value (and the last record's key): the records must not grow by it.
      let bytesRead = 0;
      for (const r of records) bytesRead += (r as { value: Buffer }).value.length + ((r as { key: Buffer }).key?.length ?? 0);
      gc();
      const afterRead = (process.memoryUsage().heapUsed - before) / n;
      expect(records).toHaveLength(n);
      expect(bytesRead).toBeGreaterThan(n * 24);
      return { used, afterRead };
    };
    const fast = perRecord(fastRecordDecoder);
    const original = perRecord(originalRecordDecoder);
    // The figures docs/PERFORMANCE.md quotes come from this line.
    process.stdout.write(
      `heap per decoded rating: ${fast.used.toFixed(0)} bytes, ${fast.afterRead.toFixed(0)} once every value was read (KafkaJS's decoder: ${original.used.toFixed(0)})\n`,
    );
    expect(fast.used).toBeLessThan(80);
    expect(fast.afterRead - fast.used).toBeLessThan(24);
    expect(original.used).toBeGreaterThan(300);
  });
});
