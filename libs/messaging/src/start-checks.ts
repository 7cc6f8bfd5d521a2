// The checks a consumer makes before it joins its group: do the topics have the layout the state was built on,
// and is the record before each saved offset the one the state last consumed? A state that fails them is refused
// before anything (a claim, a snapshot) has touched it.
import { createHash } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import { retryForever } from './kafka-client';
import { readPartitions } from './partition-tails';

/**
 * Which record a partition's state offset was recorded after: its offset (the state's offset - 1),
 * timestamp and a hash of key and value. A topic deleted and recreated under the same name restarts its
 * offsets at 0; the record at that offset is then a different one (another timestamp at least).
 */
export interface RecordFingerprint {
  offset: string;
  timestamp: string;
  hash: string;
}

export function fingerprint(m: Pick<KafkaMessage, 'offset' | 'timestamp' | 'key' | 'value'>): RecordFingerprint {
  const h = createHash('sha256');
  // Lengths first, so key "ab" + value "c" differs from key "a" + value "bc"; -1 for a null key or value.
  const len = Buffer.alloc(8);
  len.writeInt32BE(m.key ? m.key.length : -1, 0);
  len.writeInt32BE(m.value ? m.value.length : -1, 4);
  h.update(len);
  if (m.key) h.update(m.key);
  if (m.value) h.update(m.value);
  return { offset: m.offset, timestamp: m.timestamp, hash: h.digest('hex').slice(0, 32) };
}

/** Where a consumer's state says each partition continues: the snapshot's offsets. */
export interface Checkpoint {
  /** Next offset to process, or undefined when the state holds nothing of this partition. */
  nextOffset(topic: string, partition: number): string | undefined;
  /** The record the state's offset was recorded after (checked on start); undefined when not kept. */
  lastRecord?(topic: string, partition: number): RecordFingerprint | undefined;
  /** The topic's partition count when the state was built; undefined when not kept. */
  partitionCount?(topic: string): number | undefined;
  /** Told the topic's partition count once the state is found to belong to the topic. */
  setPartitionCount?(topic: string, count: number): void;
  /**
   * Moves a partition's offset forward to `next` when the records before it were no data for the state
   * (transaction markers, aborted records); never backwards.
   */
  advance?(topic: string, partition: number, next: string): Promise<void>;
}

/** The topics a service reads together must be co-partitioned (same count): they are not. */
export class TopicLayoutError extends Error {
  constructor(counts: [string, number][]) {
    super(
      `the topics ${counts.map(([t, n]) => `${t} (${n} partitions)`).join(', ')} must have the same partition count: ` +
        'a movie lives in partition p of each, and the instance owning p owns all of it. Recreate them with one count ' +
        '(RATINGS_PARTITIONS sets it for all three when the services create them), then start with --reset-state=true',
    );
    this.name = 'TopicLayoutError';
  }
}

/** The state does not belong to the topic as it is now (deleted and recreated, partitions changed). */
export class StateMismatchError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `the saved state does not belong to the topics as they are now: ${problems.join('; ')}. ` +
        'The topic was probably deleted and recreated (or its partition count changed) after the state was saved; ' +
        'consuming would silently skip or misplace its records',
    );
    this.name = 'StateMismatchError';
  }
}

/** Each topic's partition count and each partition's first and next offset when the consumer started. */
export class TopicLayout {
  readonly counts = new Map<string, number>();
  readonly low = new Map<string, string>();
  readonly high = new Map<string, string>();

  static async read(admin: Admin, topics: Iterable<string>, logger: Logger, signal?: AbortSignal): Promise<TopicLayout> {
    const layout = new TopicLayout();
    // Right after another process created the topics their leaders may not be elected yet: retry.
    const names = [...new Set(topics)];
    await retryForever(
      `reading start offsets of ${names.join(', ')}`,
      async () => {
        for (const topic of names) {
          const offsets = await admin.fetchTopicOffsets(topic);
          layout.counts.set(topic, offsets.length);
          for (const p of offsets) {
            layout.low.set(`${topic}:${p.partition}`, p.low);
            layout.high.set(`${topic}:${p.partition}`, p.high);
          }
        }
      },
      logger,
      signal,
    );
    return layout;
  }

  /** Where a partition starts when the state holds nothing of it. */
  start(topic: string, partition: number): string {
    return this.low.get(`${topic}:${partition}`) ?? '0';
  }
}

export interface StartCheckOptions {
  kafka: Kafka;
  admin: Admin;
  brokers: string[];
  groupId: string;
  topics: string[];
  coPartitioned?: string[];
  checkpoint: Checkpoint;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * Reads the topics' layout and refuses a state that cannot belong to them: another partition count, an
 * offset past a partition's end (the topic was recreated with fewer records) or below its start (records the
 * state never saw were deleted), or another record before the saved offset (recreated with at least as many
 * records). Throws StateMismatchError or TopicLayoutError; returns the layout.
 */
export async function checkStateAgainstTopics(opts: StartCheckOptions): Promise<TopicLayout> {
  const layout = await TopicLayout.read(opts.admin, [...opts.topics, ...(opts.coPartitioned ?? [])], opts.logger, opts.signal);
  const cp = opts.checkpoint;
  const problems: string[] = [];
  const marks = new Map<string, Map<number, RecordFingerprint>>();
  for (const topic of opts.topics) {
    const count = layout.counts.get(topic) as number;
    const known = cp.partitionCount?.(topic);
    if (known !== undefined && known !== count) {
      problems.push(`${topic} has ${count} partitions, the state was built on ${known}`);
      continue;
    }
    for (let partition = 0; partition < count; partition++) {
      const next = cp.nextOffset(topic, partition);
      if (next === undefined) continue;
      const low = BigInt(layout.low.get(`${topic}:${partition}`) ?? '0');
      const high = BigInt(layout.high.get(`${topic}:${partition}`) ?? '0');
      const n = BigInt(next);
      if (n > high) {
        problems.push(`${topic} partition ${partition}: the state continues at offset ${n}, past the partition's end (${high})`);
      } else if (n < low) {
        problems.push(
          `${topic} partition ${partition}: the state continues at offset ${n}, but the partition now starts at ${low} (records the state never saw were deleted)`,
        );
      } else {
        const mark = cp.lastRecord?.(topic, partition);
        // A mark below the start was removed by retention: not comparable, the range check is all there is.
        if (mark && BigInt(mark.offset) === n - 1n && BigInt(mark.offset) >= low)
          (marks.get(topic) ?? marks.set(topic, new Map()).get(topic))?.set(partition, mark);
      }
    }
  }
  if (problems.length) throw new StateMismatchError(problems);
  for (const topic of opts.topics) cp.setPartitionCount?.(topic, layout.counts.get(topic) as number);
  await verifyMarks(opts, marks);
  const co = (opts.coPartitioned ?? []).map((t): [string, number] => [t, layout.counts.get(t) ?? 0]);
  if (new Set(co.map(([, n]) => n)).size > 1) throw new TopicLayoutError(co);
  return layout;
}

/** Reads the record before each saved offset and compares it with the one the state last consumed there. */
async function verifyMarks(opts: StartCheckOptions, marks: Map<string, Map<number, RecordFingerprint>>): Promise<void> {
  const problems: string[] = [];
  let checked = 0;
  for (const [topic, byPartition] of marks) {
    const parts = await readPartitions(
      { ...opts, topic },
      ({ partition, high }) => byPartition.get(partition)?.offset ?? high,
      ({ partition, high }) => {
        const m = byPartition.get(partition);
        return m ? (BigInt(m.offset) + 1n).toString() : high;
      },
    );
    for (const [partition, mark] of byPartition) {
      checked++;
      const at = parts.find((p) => p.partition === partition)?.records.find((r) => r.offset === mark.offset);
      if (!at) {
        // Compaction removed it (or it was a marker): nothing to compare; the range checks passed.
        opts.logger.info(`${topic}:${partition}: the state's last record (offset ${mark.offset}) is gone: resuming unchecked`);
        continue;
      }
      const found = fingerprint(at);
      if (found.timestamp !== mark.timestamp || found.hash !== mark.hash) {
        const how =
          found.hash === mark.hash
            ? `same key and value, but written at ${found.timestamp}, the state's at ${mark.timestamp}`
            : 'a different key or value';
        problems.push(
          `${topic} partition ${partition}: the record at offset ${mark.offset} is not the one the state last consumed there (${how})`,
        );
      }
    }
  }
  if (problems.length) throw new StateMismatchError(problems);
  if (checked) opts.logger.info(`the records before the state's offsets are the ones the state last consumed (${checked} partitions)`);
}
