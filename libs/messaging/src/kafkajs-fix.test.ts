// The KafkaJS grouping fix: written for one file of KafkaJS (pinned by its hash), gives the original's
// result on generated sends, and is what KafkaJS's producer gets once the seam is loaded.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Kafka } from './kafkajs';
import { GROUPING_MODULE, linearGroupingFix } from './kafkajs-fix';
import linearGrouping = require('./kafkajs-linear-grouping');

// sha256 of KafkaJS 2.2.4's src/producer/groupMessagesPerPartition.js. Another text (a KafkaJS upgrade)
// fails here: check whether the fix still matches the original, or is still needed, then update the hash.
const ORIGINAL_SHA256 = 'ea72357721fbf67770b5e06b9bf4260faa1e60f3affb556bff2cc7892c1881fb';

const originalText = readFileSync(require.resolve(`${GROUPING_MODULE}.js`), 'utf8');

/** The original function, evaluated from the file's text (the module cache holds the fix). */
function loadOriginal(): typeof linearGrouping {
  const module = { exports: {} as unknown };
  new Function('module', 'exports', originalText)(module, module.exports);
  return module.exports as typeof linearGrouping;
}

interface Msg {
  key: number;
  id: number;
}

describe('KafkaJS grouping fix', () => {
  it('was written for the KafkaJS file installed', () => {
    expect(createHash('sha256').update(originalText).digest('hex')).toBe(ORIGINAL_SHA256);
  });

  it('groups every generated send as the original does: same partitions, same messages, same order', () => {
    const original = loadOriginal();
    expect(original).not.toBe(linearGrouping);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 300 }), (partitions, keys) => {
        const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i }));
        const messages: Msg[] = keys.map((key, id) => ({ key, id }));
        const partitioner = ({ partitionMetadata: pm, message }: { partitionMetadata: unknown[]; message: Msg }) => message.key % pm.length;
        const args = { topic: 'ratings', partitionMetadata, messages, partitioner };
        const expected = original(args);
        const actual = linearGrouping(args);
        expect(Object.keys(actual)).toEqual(Object.keys(expected));
        for (const p of Object.keys(expected)) {
          const want = expected[Number(p)];
          const got = actual[Number(p)];
          expect(got.length).toBe(want.length);
          // The same message objects, in the same order.
          got.forEach((m, i) => expect(m).toBe(want[i]));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is what KafkaJS producers use once the seam has loaded KafkaJS', () => {
    expect(typeof Kafka).toBe('function');
    expect(linearGroupingFix).toBe('applied');
    // sendMessages.js binds this module's export when KafkaJS loads, which the seam did after the fix.
    expect(require(GROUPING_MODULE)).toBe(linearGrouping);
  });
});
