// The one mechanism behind the KafkaJS changes: the installed version and every pinned file are checked
// (with errors that say what to do), each change is what KafkaJS's modules get once the seam is loaded, and
// the grouping change gives the original's result on generated sends.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Kafka } from './kafkajs';
import { CHANGES, checkPins, checkVersion, KAFKAJS_VERSION, originalOf, outcomes, RELIED_ON } from './kafkajs-fix';
import linearGrouping = require('./kafkajs-linear-grouping');

const GROUPING = 'src/producer/groupMessagesPerPartition.js';
const installed = (file: string) => readFileSync(require.resolve(`kafkajs/${file}`));

interface Msg {
  key: number;
  id: number;
}

describe('KafkaJS changes', () => {
  it('were written for the KafkaJS installed: its version and every pinned file', () => {
    expect((require('kafkajs/package.json') as { version: string }).version).toBe(KAFKAJS_VERSION);
    expect(() => checkPins(installed)).not.toThrow();
  });

  it('refuse another KafkaJS version, saying which and what to do', () => {
    expect(() => checkVersion('2.3.0')).toThrow(
      /^kafkajs 2\.3\.0 is installed \(node_modules\/kafkajs\), but libs\/messaging\/src\/kafkajs-fix\.ts changes KafkaJS 2\.2\.4's files: install kafkajs 2\.2\.4 \(npm ci\), or port each change/,
    );
    expect(() => checkVersion(KAFKAJS_VERSION)).not.toThrow();
  });

  it('refuse a KafkaJS file that differs from its pin, naming it and saying what to do', () => {
    const edited = 'src/protocol/requests/fetch/v4/decodeMessages.js';
    const read = (file: string) => (file === edited ? Buffer.concat([installed(file), Buffer.from('\n// patched\n')]) : installed(file));
    let error: Error | undefined;
    try {
      checkPins(read);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(
      /^KafkaJS files differ from the ones libs\/messaging\/src\/kafkajs-fix\.ts was written for: kafkajs\/src\/protocol\/requests\/fetch\/v4\/decodeMessages\.js \(sha256 [0-9a-f]{64}, pinned d9fede59bebf84ee15169d0ecc54df594a11722b6ba8d5db535ed1d8548d4fcc\)\. Reinstall kafkajs 2\.2\.4 \(npm ci/,
    );
    // Only the edited file is named; a file the changes only rely on is checked the same way.
    expect(error?.message.match(/kafkajs\/src\//g)).toHaveLength(1);
    expect(() => checkPins((file) => (file === 'src/utils/long.js' ? Buffer.from('') : installed(file)))).toThrow(
      /kafkajs\/src\/utils\/long\.js \(sha256 e3b0c442/,
    );
  });

  it('pin every file that binds a changed module', () => {
    const pinned = new Set([...CHANGES.map((c) => c.file), ...Object.keys(RELIED_ON)]);
    for (const c of CHANGES) for (const f of c.boundBy) expect([c.file, f, pinned.has(f)]).toEqual([c.file, f, true]);
  });

  it('are all in place once the seam has loaded KafkaJS', () => {
    expect(typeof Kafka).toBe('function');
    expect(outcomes).toEqual(Object.fromEntries(CHANGES.map((c) => [c.file, 'applied'])));
    // sendMessages.js binds this module's export when KafkaJS loads, which the seam did after the change.
    expect(require('kafkajs/src/producer/groupMessagesPerPartition')).toBe(linearGrouping);
    // consumerGroup.js makes the replacement Batch, which reads the deferred fetch's record sets.
    expect(require('kafkajs/src/consumer/batch')).toBe(require('./kafkajs-batch'));
  });

  it('group every generated send as the original does: same partitions, same messages, same order', () => {
    const original = originalOf<typeof linearGrouping>(GROUPING);
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
});
