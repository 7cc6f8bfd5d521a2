import { partitionOfKey } from './murmur2';
import { streamPartitions, type PartitionRange, type ReadPartitionsOptions, type TopicRecord } from './partition-reader';

export type { ReadPartitionsOptions, TopicRecord } from './partition-reader';

/** A partition's offsets when the read started, and its records from the start offset asked for up to `high`. */
export interface PartitionContents {
  partition: number;
  low: string;
  high: string;
  records: TopicRecord[];
}

/**
 * Reads every partition of `topic` from the offset `from` picks up to the high watermark it had when the read
 * started (records written meanwhile are left out), or up to `to` when that is before it, and returns the
 * records. For small reads (tails, single records): a caller folding many records uses streamPartitions,
 * which hands them on fetch by fetch. Joins no consumer group; partitions with nothing to read cost nothing.
 */
export async function readPartitions(
  opts: ReadPartitionsOptions,
  from: (p: PartitionRange) => string,
  /** Where to stop (exclusive) when before the high watermark. */
  to?: (p: PartitionRange) => string,
): Promise<PartitionContents[]> {
  const records = new Map<number, TopicRecord[]>();
  const ranges = await streamPartitions(
    opts,
    from,
    (partition, batch) => {
      const list = records.get(partition) ?? records.set(partition, []).get(partition)!;
      for (const r of batch) list.push(r);
    },
    to,
  );
  return ranges.map((r) => ({ ...r, records: records.get(r.partition) ?? [] }));
}

/** The last record of a partition, as far as it could be read. */
export interface PartitionTail {
  partition: number;
  low: string;
  high: string;
  /** Undefined when the partition is empty, or its last entry is no data record (a transaction marker). */
  last?: TopicRecord;
}

/**
 * The last record of every partition of `topic` (e.g. where an interrupted producer got to), read from high
 * watermark - 1 of each non-empty partition.
 */
export async function readPartitionTails(opts: ReadPartitionsOptions): Promise<PartitionTail[]> {
  const parts = await readPartitions(opts, ({ high }) => (BigInt(high) > 0n ? BigInt(high) - 1n : 0n).toString());
  return parts.map(({ partition, low, high, records }) => ({ partition, low, high, last: records.at(-1) }));
}

/** The partition a keyed message goes to: Java's murmur2, as the Publisher partitions (see murmur2.ts). */
export function keyPartitioner(_topic: string, partitions: number): (key: string | Buffer) => number {
  return (key) => partitionOfKey(key, partitions);
}
