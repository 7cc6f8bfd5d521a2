import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from './kafkajs';
import { partitionOfKey } from './murmur2';
import type { Logger } from '@movie-stream/logging';
import { connectWithRetry, retryForever } from './kafka-client';

/** One record as it is stored in a partition. */
export interface TopicRecord {
  partition: number;
  offset: string;
  /** Create or log-append time, ms since the epoch, as KafkaJS gives it. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** A partition's offsets when the read started, and its records from the start offset asked for up to `high`. */
export interface PartitionContents {
  partition: number;
  low: string;
  high: string;
  records: TopicRecord[];
}

export interface ReadPartitionsOptions {
  kafka: Kafka;
  admin: Admin;
  brokers: string[];
  topic: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Prefix of the throw-away consumer group's id (a random suffix is added; the group is deleted afterwards). */
  groupIdPrefix?: string;
  /** Give up (throw) when the read has not finished after this long; default: wait as long as it takes. */
  timeoutMs?: number;
}

/**
 * Reads every partition of `topic` from the offset `from` picks up to the high watermark it had when the read
 * started (records written meanwhile are left out). Partitions with nothing to read cost nothing; when no
 * partition has anything to read, no consumer is started at all.
 *
 * KafkaJS has no assign(): a throw-away consumer group (one member, so it gets every partition) joins and seeks
 * each assigned partition to its start on GROUP_JOIN, as CheckpointedConsumer does. A partition counts as read
 * when a fetched batch reaches high - 1, also a batch KafkaJS emptied (transaction markers).
 */
export async function readPartitions(
  opts: ReadPartitionsOptions,
  from: (p: { partition: number; low: string; high: string }) => string,
  /** Where to stop (exclusive) when before the high watermark. */
  to?: (p: { partition: number; low: string; high: string }) => string,
): Promise<PartitionContents[]> {
  const { kafka, admin, topic, logger, signal } = opts;
  const offsets = await retryForever(`reading the offsets of ${topic}`, () => admin.fetchTopicOffsets(topic), logger, signal);
  // next: where reading continues (after a rebalance too, so no record is taken twice).
  const parts = new Map<number, PartitionContents & { next: bigint; end: bigint }>();
  for (const o of offsets) {
    const low = BigInt(o.low);
    const high = BigInt(o.high);
    let start = BigInt(from({ partition: o.partition, low: o.low, high: o.high }));
    if (start < low) start = low;
    let end = high;
    const stop = to?.({ partition: o.partition, low: o.low, high: o.high });
    if (stop !== undefined && BigInt(stop) < end) end = BigInt(stop);
    parts.set(o.partition, { partition: o.partition, low: o.low, high: o.high, records: [], next: start, end });
  }
  const pending = new Set([...parts.values()].filter((p) => p.next < p.end).map((p) => p.partition));
  const result = () =>
    [...parts.values()]
      .sort((a, b) => a.partition - b.partition)
      .map(({ partition, low, high, records }) => ({ partition, low, high, records }));
  if (pending.size === 0) return result();

  const groupId = `${opts.groupIdPrefix ?? 'movie-stream.read'}-${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 2_000,
    maxWaitTimeInMs: 200,
  });
  let done!: () => void;
  let fail!: (e: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  finished.catch(() => undefined); // awaited below; a failure before that is not unhandled
  const markRead = (partition: number, lastOffset: string | null | undefined) => {
    const p = parts.get(partition);
    if (p && lastOffset != null && BigInt(lastOffset) >= p.end - 1n && pending.delete(partition) && pending.size === 0) done();
  };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    for (const partition of e.payload.memberAssignment[topic] ?? []) {
      const p = parts.get(partition);
      // Partitions with nothing (more) to read go to their end: records written meanwhile are ignored below.
      if (p) consumer.seek({ topic, partition, offset: (pending.has(partition) ? p.next : p.end).toString() });
    }
  });
  // Fires after eachBatch for every batch, also one whose records KafkaJS all filtered out.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => markRead(e.payload.partition, e.payload.lastOffset));
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error);
  });
  const onAbort = () => fail((signal?.reason as Error) ?? new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => fail(new Error(`reading ${topic} partitions ${[...pending].join(', ')} did not finish within ${opts.timeoutMs! / 1000} s`)),
          opts.timeoutMs,
        );
  try {
    await connectWithRetry(consumer, opts.brokers, logger, signal);
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const p = parts.get(batch.partition);
        if (!p || !pending.has(batch.partition)) return;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < p.next || offset >= p.end) continue;
          p.records.push({ partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value });
          p.next = offset + 1n;
        }
      },
    });
    await finished;
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
    // The group committed nothing; deleting it keeps the broker's group list free of one-off readers.
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return result();
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
