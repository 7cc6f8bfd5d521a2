import fc from 'fast-check';
import { PartitionMetadata, Partitioners } from './kafkajs';
import { partitionOfKey } from './murmur2';

// KafkaJS's DefaultPartitioner is the Java-compatible reference (its own tests compare with Java's output).
const kafkajs = Partitioners.DefaultPartitioner();
const meta = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
const reference = (key: string | Buffer, n: number) => kafkajs({ topic: 't', partitionMetadata: meta(n), message: { key, value: null } });

describe('partitionOfKey (int32 murmur2)', () => {
  it("gives every movie id's key the partition KafkaJS's Java-compatible partitioner gives it", () => {
    for (const n of [1, 3, 6, 7, 12, 64])
      for (let id = 1; id <= 20_000; id += n === 6 ? 1 : 13) expect(partitionOfKey(String(id), n)).toBe(reference(String(id), n));
  });

  it('agrees on any string (UTF-8, every length mod 4) and any bytes', () => {
    fc.assert(
      fc.property(
        // Short keys (hashed from a reused buffer) and long ones (a buffer of their own).
        fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', minLength: 80, maxLength: 300 })),
        fc.integer({ min: 1, max: 1000 }),
        (key, n) => {
          expect(partitionOfKey(key, n)).toBe(reference(key, n));
        },
      ),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), (bytes, n) => {
        expect(partitionOfKey(bytes, n)).toBe(reference(Buffer.from(bytes), n));
      }),
      { numRuns: 5000 },
    );
  });
});
