// KafkaJS's decoding of a fetched partition's record batches (decodeMessages, replaced through
// kafkajs-fix.ts: deferred, or eager with KAFKAJS_EAGER_FETCH=1): one lz4 batch of 300,000 ratings, which the
// original cannot decode (RangeError from `push(...records)`), and fetches of several batches cut anywhere,
// decoded as the original does.
import fc from 'fast-check';
import { CompressionTypes } from './kafkajs';
import { originalOf, outcomes } from './kafkajs-fix';
import { Encoder } from './kafkajs-fast-encoding';
import { decodeMessages as deferredDecode, RecordSet } from './kafkajs-deferred-messages';
import decodeMessages = require('./kafkajs-decode-messages');
import fastRecord = require('./kafkajs-fast-record');

const FILE = 'src/protocol/requests/fetch/v4/decodeMessages.js';
const Decoder = require('kafkajs/src/protocol/decoder') as new (
  b: Buffer,
) => Parameters<typeof decodeMessages>[0] & Parameters<typeof deferredDecode>[0];
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch(args: Record<string, unknown>): Promise<{ buffer: Buffer }>;
};

interface DecodedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** One record batch of `n` ratings-sized records (key = movie id, 24-byte value) starting at `firstOffset`. */
async function batch(n: number, firstOffset: number, compression = CompressionTypes.None): Promise<Buffer> {
  const records = Array.from({ length: n }, (_, i) =>
    fastRecord({ offsetDelta: i, key: String((firstOffset + i) % 20_000), value: Buffer.alloc(24, i % 251) }),
  );
  const now = 1_764_000_000_000;
  const b = await RecordBatch({ compression, firstOffset, firstTimestamp: now, maxTimestamp: now, lastOffsetDelta: n - 1, records });
  return b.buffer;
}

/** A partition's records in a fetch response, as decodeMessages reads them: their size, then the bytes. */
const fetched = (batches: Buffer) => new Decoder(new Encoder().writeBytes(batches).buffer);

const summary = (records: unknown[]) =>
  (records as DecodedRecord[]).map((r) => [r.offset, r.key?.toString('latin1'), r.value?.toString('hex')]);

describe("KafkaJS's decodeMessages, changed", () => {
  const original = originalOf<typeof decodeMessages>(FILE);

  // The deferred decoding's records, made as the Batch makes them.
  const deferred = async (d: Parameters<typeof deferredDecode>[0]) => {
    const set = await deferredDecode(d);
    return set instanceof RecordSet ? set.decode() : set;
  };

  it('is what the fetch responses use once the seam has loaded KafkaJS: deferred', () => {
    expect(outcomes[FILE]).toBe('applied');
    expect(require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages')).toBe(deferredDecode);
  });

  it('decodes one lz4 batch of 300,000 records, where the original throws RangeError', async () => {
    const n = 300_000;
    const bytes = await batch(n, 5_000_000, CompressionTypes.LZ4);
    await expect(original(fetched(bytes))).rejects.toThrow(new RangeError('Maximum call stack size exceeded'));
    const records = (await decodeMessages(fetched(bytes))) as DecodedRecord[];
    expect(records).toHaveLength(n);
    expect(summary(await deferred(fetched(bytes)))).toEqual(summary(records));
    expect(summary([records[0], records[n - 1]])).toEqual([
      ['5000000', '0', '00'.repeat(24)],
      [String(5_000_000 + n - 1), String((5_000_000 + n - 1) % 20_000), ((n - 1) % 251).toString(16).padStart(2, '0').repeat(24)],
    ]);
    expect(records.every((r, i) => r.offset === String(5_000_000 + i))).toBe(true);
    // 300,000 records made and decoded twice take seconds on a busy machine: jest's 5 s default is too short.
  }, 60_000);

  it('decodes fetches of several batches, whole or cut short, as the original does', async () => {
    const fetches = fc.tuple(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }), fc.nat(), fc.boolean());
    await fc.assert(
      fc.asyncProperty(fetches, async ([sizes, cut, whole]) => {
        let offset = 0;
        const batches: Buffer[] = [];
        for (const n of sizes) {
          batches.push(await batch(n, offset));
          offset += n;
        }
        const all = Buffer.concat(batches);
        // A fetch may end inside its last batch (maxBytes): the batches before it are returned.
        const bytes = whole ? all : all.subarray(0, cut % (all.length + 1));
        const outcome = (p: Promise<unknown[]>) => p.then(summary, (e: Error) => `${e.name}: ${e.message}`);
        const decoded = await outcome(decodeMessages(fetched(bytes)));
        expect(decoded).toEqual(await outcome(original(fetched(bytes))));
        expect(await outcome(deferred(fetched(bytes)))).toEqual(decoded);
        if (whole) expect(decoded).toHaveLength(offset);
      }),
      { numRuns: 200 },
    );
  });
});
