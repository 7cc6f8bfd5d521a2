// The Batch that replaces KafkaJS's (kafkajs-batch.ts) and the deferred decoding of a fetched partition
// (kafkajs-deferred-messages.ts): on generated fetches (plain, gzip and lz4 batches, a fetched offset
// anywhere, transactions aborted and committed with their control records, compacted offsets, empty and cut
// short) every property and method gives KafkaJS's Batch's result on KafkaJS's decoding; records are made
// only when asked for and are gone after release().
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { CompressionTypes } from './kafkajs';
import { EAGER_FETCH, originalOf, outcomes } from './kafkajs-fix';
import { Encoder } from './kafkajs-fast-encoding';
import { decodeMessages as deferredDecode, made, RecordSet } from './kafkajs-deferred-messages';
import Batch = require('./kafkajs-batch');
import fastRecord = require('./kafkajs-fast-record');

const BATCH = 'src/consumer/batch.js';
const DECODE = 'src/protocol/requests/fetch/v4/decodeMessages.js';
type Decoder = Parameters<typeof deferredDecode>[0];
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => Decoder;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch(args: Record<string, unknown>): Promise<{ buffer: Buffer }>;
};
const eagerDecode = originalOf<(d: Decoder) => Promise<unknown[]>>(DECODE);
const OriginalBatch = originalOf<typeof Batch>(BATCH);

type Kind = 'plain' | 'txn' | 'abort' | 'commit';
interface Spec {
  n: number;
  codec: 'none' | 'gzip' | 'lz4';
  kind: Kind;
  producer: number;
  gap: number;
  headers: boolean;
}
const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, lz4: CompressionTypes.LZ4 };
const NOW = 1_764_000_000_000;

/** One record batch at `firstOffset` (a control batch holds one marker); returns its bytes and next offset. */
async function recordBatch(s: Spec, firstOffset: bigint): Promise<[Buffer, bigint]> {
  const control = s.kind === 'abort' || s.kind === 'commit';
  const n = control ? 1 : s.n;
  // A compacted batch keeps its offsets' gaps: record i at offset delta i * (gap + 1).
  const delta = (i: number) => i * (s.gap + 1);
  const records = Array.from({ length: n }, (_, i) =>
    control
      ? fastRecord({ offsetDelta: 0, key: Buffer.from([0, 0, 0, s.kind === 'abort' ? 0 : 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) })
      : fastRecord({
          offsetDelta: delta(i),
          timestampDelta: i,
          key: String((firstOffset + BigInt(i)) % 977n),
          value: Buffer.alloc(24, i % 251),
          ...(s.headers && i % 3 === 0 ? { headers: { h: String(i) } } : {}),
        }),
  );
  const transactional = s.kind !== 'plain';
  const { buffer } = await RecordBatch({
    compression: control ? CompressionTypes.None : CODECS[s.codec],
    firstOffset: String(firstOffset),
    firstTimestamp: NOW,
    maxTimestamp: NOW + n,
    lastOffsetDelta: delta(n - 1),
    transactional,
    producerId: transactional ? s.producer : -1,
    records,
  });
  // The control flag KafkaJS's encoder cannot set (attributes' low byte: 8 + 4 + 4 + 1 + 4 + 1); no CRC check.
  if (control) buffer[22] |= 0x20;
  return [buffer, firstOffset + BigInt(delta(n - 1) + 1)];
}

/** A partition's records in a fetch response, as decodeMessages reads them: their size, then the bytes. */
const fetched = (bytes: Buffer) => new Decoder(new Encoder().writeBytes(bytes).buffer);

interface Msg {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, unknown>;
  isControlRecord: boolean;
  batchContext: unknown;
}
const rows = (ms: unknown[]) =>
  (ms as Msg[]).map((m) => [
    m.offset,
    m.timestamp,
    m.key?.toString('hex'),
    m.value?.toString('hex'),
    m.headers,
    m.isControlRecord,
    m.batchContext,
  ]);

/** Every property and method of a Batch, as comparable values. */
function observe(b: Batch) {
  return {
    topic: b.topic,
    partition: b.partition,
    highWatermark: b.highWatermark,
    fetchedOffset: b.fetchedOffset,
    rawMessages: rows(b.rawMessages),
    messagesWithinOffset: rows(b.messagesWithinOffset),
    messages: rows(b.messages),
    methods: methods(b),
  };
}
const methods = (b: Batch) => ({
  isEmpty: b.isEmpty(),
  isEmptyIncludingFiltered: b.isEmptyIncludingFiltered(),
  isEmptyDueToFiltering: b.isEmptyDueToFiltering(),
  isEmptyControlRecord: b.isEmptyControlRecord(),
  isEmptyDueToLogCompactedMessages: b.isEmptyDueToLogCompactedMessages(),
  firstOffset: b.firstOffset(),
  lastOffset: b.lastOffset(),
  offsetLag: b.offsetLag(),
  offsetLagLow: b.offsetLagLow(),
});

const spec: fc.Arbitrary<Spec> = fc.record({
  n: fc.integer({ min: 1, max: 12 }),
  codec: fc.constantFrom('none', 'gzip', 'lz4'),
  kind: fc.constantFrom<Kind>('plain', 'plain', 'txn', 'txn', 'abort', 'commit'),
  producer: fc.integer({ min: 1, max: 3 }),
  gap: fc.constantFrom(0, 0, 0, 1, 5),
  headers: fc.boolean(),
});

describe("KafkaJS's Batch, changed, on deferred fetches", () => {
  it('is what the consumer group makes, and the fetch responses decode deferred', () => {
    expect(EAGER_FETCH).toBe(false);
    expect(outcomes[BATCH]).toBe('applied');
    expect(require('kafkajs/src/consumer/batch')).toBe(Batch);
    expect(require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages')).toBe(deferredDecode);
  });

  it("gives KafkaJS's Batch's results on generated fetches, deferred or eager, before and after release()", async () => {
    const fetches = fc.record({
      // Offsets past 2^53 too (compared as BigInt there).
      first: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.constantFrom(2n ** 53n - 5n, 2n ** 62n)),
      specs: fc.array(spec, { maxLength: 6 }),
      from: fc.nat(),
      aborted: fc.array(fc.boolean(), { maxLength: 6 }),
      cut: fc.option(fc.nat(), { freq: 3 }),
      extra: fc.nat({ max: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(fetches, async ({ first, specs, from, aborted, cut, extra }) => {
        let offset = first;
        const parts: Buffer[] = [];
        const abortedTransactions: { producerId: string; firstOffset: string }[] = [];
        for (const [i, s] of specs.entries()) {
          // A transactional batch listed as aborted (as the broker lists a transaction's first offset).
          if (s.kind === 'txn' && aborted[i]) abortedTransactions.push({ producerId: String(s.producer), firstOffset: String(offset) });
          const [bytes, next] = await recordBatch(s, offset);
          parts.push(bytes);
          offset = next;
        }
        const all = Buffer.concat(parts);
        // A fetch may end inside its last batch (maxBytes); it may start at an offset inside a batch.
        const bytes = cut === null ? all : all.subarray(0, cut % (all.length + 1));
        const fetchedOffset = String(first + (BigInt(from) % (offset - first + 2n)));
        const partition = { partition: 3, highWatermark: String(offset + BigInt(extra)), abortedTransactions };
        // KafkaJS fails on a fetch cut within the first batch's 17 bytes: so does the change.
        const failure = await eagerDecode(fetched(bytes)).then(
          () => undefined,
          (e: Error) => `${e.name}: ${e.message}`,
        );
        if (failure) {
          await expect(
            deferredDecode(fetched(bytes)).catch((e: Error) => Promise.reject(new Error(`${e.name}: ${e.message}`))),
          ).rejects.toThrow(failure);
          return;
        }
        const expected = observe(
          new OriginalBatch('ratings', fetchedOffset, { ...partition, messages: await eagerDecode(fetched(bytes)) }),
        );
        const deferred = new Batch('ratings', fetchedOffset, { ...partition, messages: await deferredDecode(fetched(bytes)) });
        const before = methods(deferred);
        expect(observe(deferred)).toEqual({ ...expected, methods: before });
        expect(before).toEqual(expected.methods);
        deferred.release();
        expect(methods(deferred)).toEqual(expected.methods);
        expect(observe(deferred)).toEqual(expected);
        const eager = new Batch('ratings', fetchedOffset, { ...partition, messages: await eagerDecode(fetched(bytes)) });
        expect(observe(eager)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
    // 300 generated fetches: seconds on a busy machine, past the root run's 5 s default.
  }, 60_000);

  it('decodes an empty record set and a fetch with no records as KafkaJS does', async () => {
    for (const bytes of [Buffer.alloc(0), Buffer.alloc(30)]) {
      const partition = { partition: 0, highWatermark: '7', abortedTransactions: [] };
      const expected = observe(new OriginalBatch('t', '5', { ...partition, messages: await eagerDecode(fetched(bytes)) }));
      expect(observe(new Batch('t', '5', { ...partition, messages: await deferredDecode(fetched(bytes)) }))).toEqual(expected);
    }
    const empty = new RecordSet([]);
    expect(observe(new Batch('t', '0', { partition: 0, highWatermark: '0', messages: empty }))).toEqual(
      observe(new OriginalBatch('t', '0', { partition: 0, highWatermark: '0', messages: [] })),
    );
  });

  it('makes the records when the batch is first asked for them, and lets them go on release()', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const plain: Spec = { n: 1000, codec: 'lz4', kind: 'plain', producer: 1, gap: 0, headers: false };
    const parts = [(await recordBatch(plain, 100n))[0], (await recordBatch({ ...plain, codec: 'none' }, 1100n))[0]];
    const records = await deferredDecode(fetched(Buffer.concat(parts)));
    expect(records).toBeInstanceOf(RecordSet);
    const start = made.records;
    const batch = new Batch('ratings', '150', { partition: 0, highWatermark: '2100', messages: records });
    expect(made.records).toBe(start);
    const handedOut = batch.messages;
    expect(made.records).toBe(start + 2000);
    expect(handedOut).toHaveLength(1950);
    expect(batch.messages).toBe(handedOut);
    const refs = [new WeakRef(batch.rawMessages), new WeakRef(batch.messagesWithinOffset), new WeakRef(handedOut[0])];
    batch.release();
    // The array handed out is the holder's: release() leaves it whole.
    expect(handedOut).toHaveLength(1950);
    expect(handedOut[0]).toBe(refs[2].deref());
    expect(methods(batch)).toMatchObject({ isEmpty: false, firstOffset: '150', lastOffset: '2099', offsetLag: '0', offsetLagLow: '1949' });
    expect(made.records).toBe(start + 2000);
    // A WeakRef keeps its target until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    // The raw array is gone; the offset-filtered one is the list handed out (nothing else was left out of it),
    // alive with the records the holder still has.
    expect(batch.messagesWithinOffset).not.toBe(handedOut);
    expect(refs.map((r) => r.deref() !== undefined)).toEqual([false, true, true]);
    // Asked again after release(): made again, the same records.
    expect(rows(batch.messages)).toEqual(rows(handedOut));
    expect(made.records).toBe(start + 4000);
    // Where nothing is left out, the lists are one array (no copy of up to ~100,000 references).
    const whole = new Batch('ratings', '100', { partition: 0, highWatermark: '2100', messages: records });
    expect(whole.messages).toBe(whole.rawMessages);
    expect(whole.messagesWithinOffset).toBe(whole.rawMessages);
    expect(whole.messages).toHaveLength(2000);
  });
});
