import { createHash } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import { connectWithRetry, retryForever } from './kafka-client';
import type { MetaReporter } from './meta-reporter';

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

export interface PartitionBatch {
  topic: string;
  partition: number;
  /** Only messages at or past the checkpoint: never one whose effect the state already holds. */
  messages: KafkaMessage[];
  /** Offset to record as processed once these messages are applied (last offset + 1). */
  nextOffset: string;
  /** The batch's last message, to keep with `nextOffset` (see RecordFingerprint). */
  last: RecordFingerprint;
}

export interface CheckpointedConsumerOptions {
  kafka: Kafka;
  admin: Admin;
  brokers: string[];
  groupId: string;
  topics: string[];
  checkpoint: Checkpoint;
  handle(batch: PartitionBatch): Promise<void>;
  logger: Logger;
  meta?: MetaReporter;
  sessionTimeoutMs?: number;
  /** Record bytes per fetch, per partition and in all (KafkaJS defaults 1 MiB and 10 MiB). */
  fetchMaxBytesPerPartition?: number;
  fetchMaxBytes?: number;
  /** The broker holds a fetch until this many bytes are there or `fetchMaxWaitMs` passed (KafkaJS default 1). */
  fetchMinBytes?: number;
  /** Longest the broker holds a fetch; a stop waits for it (default 500 ms; KafkaJS's is 5 s). */
  fetchMaxWaitMs?: number;
  /** Partitions consumed in parallel (each batch still handled whole). */
  partitionsConsumedConcurrently?: number;
  signal?: AbortSignal;
}

/**
 * A KafkaJS consumer whose position comes from the service's own state, not from Kafka's committed
 * offsets: messages below the checkpoint are dropped, and on the first batch of a partition after each
 * (re)assignment it seeks to the checkpoint if Kafka started it elsewhere (e.g. after the state was
 * deleted: back to the start). Committed offsets are therefore only a hint and for lag monitoring;
 * a crash between snapshot and commit cannot count anything twice.
 */
export class CheckpointedConsumer {
  readonly consumer: Consumer;
  private readonly verified = new Set<string>();
  private lowWatermarks = new Map<string, string>();
  private highWatermarks = new Map<string, string>();
  private partitionCounts = new Map<string, number>();
  /** Per partition, the record the state last consumed, until the record at that offset was compared with it. */
  private readonly marksToCheck = new Map<string, RecordFingerprint>();
  private failure?: Error;
  private onFailure?: (e: Error) => void;
  /** Resolves (never rejects) with the error when consumption found the state does not belong to the topic. */
  readonly failed: Promise<Error> = new Promise((resolve) => (this.onFailure = resolve));
  private active = 0;
  private idle?: () => void;
  /** Messages dropped because the state already held them (replays after a crash). */
  skippedReplays = 0;

  constructor(private readonly opts: CheckpointedConsumerOptions) {
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 2_000,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: opts.fetchMaxBytesPerPartition ?? 4 * 1024 * 1024,
      maxBytes: opts.fetchMaxBytes ?? 32 * 1024 * 1024,
      minBytes: opts.fetchMinBytes ?? 1,
      maxWaitTimeInMs: opts.fetchMaxWaitMs ?? 500,
    });
    // Kafka would start each assigned partition at the group's committed offset; the state says where to
    // continue (behind it after a crash between snapshot and commit, at the start when the state was
    // deleted). Seek every assigned partition there; KafkaJS applies seeks before its next fetch.
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.verified.clear();
      const positions: Record<string, string[]> = {};
      for (const [topic, partitions] of Object.entries(e.payload.memberAssignment)) {
        for (const partition of partitions) {
          const offset = this.startOffset(topic, partition).toString();
          this.consumer.seek({ topic, partition, offset });
          (positions[topic] ??= []).push(`${partition}@${offset}`);
        }
      }
      opts.logger.info("joined consumer group; positioned at the state's offsets", { groupId: opts.groupId, positions });
    });
  }

  async start(): Promise<void> {
    const { admin, topics, logger } = this.opts;
    // Right after another process created the topics their leaders may not be elected yet: retry.
    await retryForever(
      `reading start offsets of ${topics.join(', ')}`,
      async () => {
        for (const topic of topics) {
          const offsets = await admin.fetchTopicOffsets(topic);
          this.partitionCounts.set(topic, offsets.length);
          for (const p of offsets) {
            this.lowWatermarks.set(`${topic}:${p.partition}`, p.low);
            this.highWatermarks.set(`${topic}:${p.partition}`, p.high);
          }
        }
      },
      logger,
      this.opts.signal,
    );
    this.checkStateAgainstTopics();
    await connectWithRetry(this.consumer, this.opts.brokers, logger, this.opts.signal);
    await this.consumer.subscribe({ topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        this.active++;
        try {
          await this.onBatch(batch.topic, batch.partition, batch.messages, resolveOffset);
          await heartbeat();
        } finally {
          if (--this.active === 0) this.idle?.();
        }
      },
    });
  }

  /**
   * Refuses a state that cannot belong to the topics as they are: another partition count, or an offset
   * past a partition's end (the topic was recreated with fewer records) or below its start (records the
   * state never saw were deleted). Within range, the record before the state's offset is compared on the
   * first fetch (see onBatch): that catches a topic recreated with at least as many records.
   */
  private checkStateAgainstTopics(): void {
    const cp = this.opts.checkpoint;
    const problems: string[] = [];
    for (const topic of this.opts.topics) {
      const count = this.partitionCounts.get(topic) as number;
      const known = cp.partitionCount?.(topic);
      if (known !== undefined && known !== count) {
        problems.push(`${topic} has ${count} partitions, the state was built on ${known}`);
        continue;
      }
      for (let partition = 0; partition < count; partition++) {
        const next = cp.nextOffset(topic, partition);
        if (next === undefined) continue;
        const key = `${topic}:${partition}`;
        const low = BigInt(this.lowWatermarks.get(key) ?? '0');
        const high = BigInt(this.highWatermarks.get(key) ?? '0');
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
          if (mark && BigInt(mark.offset) === n - 1n && BigInt(mark.offset) >= low) this.marksToCheck.set(key, mark);
        }
      }
    }
    if (problems.length) throw new StateMismatchError(problems);
    for (const topic of this.opts.topics) cp.setPartitionCount?.(topic, this.partitionCounts.get(topic) as number);
  }

  /** Where a partition is read from after an assignment: the state's last record while it is still to be compared. */
  private startOffset(topic: string, partition: number): bigint {
    const mark = this.marksToCheck.get(`${topic}:${partition}`);
    return mark ? BigInt(mark.offset) : this.expected(topic, partition);
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.consumer.pause(this.opts.topics.map((topic) => ({ topic })));
    this.opts.logger.error(e.message);
    this.onFailure?.(e);
  }

  private expected(topic: string, partition: number): bigint {
    const next = this.opts.checkpoint.nextOffset(topic, partition) ?? this.lowWatermarks.get(`${topic}:${partition}`) ?? '0';
    return BigInt(next);
  }

  private async onBatch(topic: string, partition: number, messages: KafkaMessage[], resolveOffset: (o: string) => void): Promise<void> {
    if (this.failure) return;
    const key = `${topic}:${partition}`;
    const expected = this.expected(topic, partition);
    const want = this.startOffset(topic, partition);
    const first = BigInt(messages[0].offset);
    if (!this.verified.has(key)) {
      this.verified.add(key);
      if (first > want) {
        // Kafka's committed offset is past our state (state deleted or older): go back and rebuild.
        this.opts.logger.warn(`${key}: consumer started at ${first}, state continues at ${want}: seeking back`);
        this.consumer.seek({ topic, partition, offset: want.toString() });
        return;
      }
    }
    let marked = 0;
    const mark = this.marksToCheck.get(key);
    if (mark) {
      const at = messages.find((m) => m.offset === mark.offset);
      if (at) {
        const found = fingerprint(at);
        if (found.timestamp !== mark.timestamp || found.hash !== mark.hash) {
          const how =
            found.hash === mark.hash
              ? `same key and value, but written at ${found.timestamp}, the state's at ${mark.timestamp}`
              : 'a different key or value';
          this.fail(
            new StateMismatchError([
              `${topic} partition ${partition}: the record at offset ${mark.offset} is not the one the state last consumed there (${how})`,
            ]),
          );
          return;
        }
        marked = 1; // the state's own last record, read again to compare: not a replay
        this.marksToCheck.delete(key);
        this.opts.logger.info(`${key}: the record before the state's offset is the one the state last consumed: resuming at ${expected}`);
      } else if (first > want) {
        // Sought there and still started after it: compaction removed that record. Nothing to compare;
        // the range checks at start passed.
        this.marksToCheck.delete(key);
        this.opts.logger.info(
          `${key}: the state's last record (offset ${mark.offset}) was compacted away: resuming at ${expected} unchecked`,
        );
      }
    }
    let start = 0;
    while (start < messages.length && BigInt(messages[start].offset) < expected) start++;
    this.skippedReplays += start - marked;
    const last = messages[messages.length - 1].offset;
    if (start < messages.length) {
      const fresh = start === 0 ? messages : messages.slice(start);
      const nextOffset = (BigInt(last) + 1n).toString();
      await this.opts.handle({ topic, partition, messages: fresh, nextOffset, last: fingerprint(messages[messages.length - 1]) });
      if (this.opts.meta) {
        let bytes = 0;
        for (const m of fresh) bytes += m.value?.length ?? 0;
        this.opts.meta.record('consumed', topic, fresh.length, bytes);
      }
    }
    resolveOffset(last);
  }

  /** Commits offsets (after the snapshot holding their effects is durable). Failure only delays the commit. */
  async commit(offsets: Record<string, Record<string, string>>): Promise<void> {
    const list = Object.entries(offsets).flatMap(([topic, parts]) =>
      Object.entries(parts).map(([partition, offset]) => ({ topic, partition: Number(partition), offset })),
    );
    if (list.length === 0) return;
    try {
      await this.consumer.commitOffsets(list);
    } catch (e) {
      this.opts.logger.warn(`offset commit failed (kept in the snapshot; next commit retries): ${(e as Error).message}`);
    }
  }

  /** Stops fetching new batches and waits for the batch being handled to finish. */
  async pause(): Promise<void> {
    this.consumer.pause(this.opts.topics.map((topic) => ({ topic })));
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
