import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@movie-stream/logging';
import { connectWithRetry, retryForever } from './kafka-client';
import type { MetaReporter } from './meta-reporter';

/** Where a consumer's state says each partition continues: the snapshot's offsets. */
export interface Checkpoint {
  /** Next offset to process, or undefined when the state holds nothing of this partition. */
  nextOffset(topic: string, partition: number): string | undefined;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  /** Only messages at or past the checkpoint: never one whose effect the state already holds. */
  messages: KafkaMessage[];
  /** Offset to record as processed once these messages are applied (last offset + 1). */
  nextOffset: string;
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
          const offset = this.expected(topic, partition).toString();
          this.consumer.seek({ topic, partition, offset });
          (positions[topic] ??= []).push(`${partition}@${offset}`);
        }
      }
      opts.logger.info('joined consumer group; positioned at the state\'s offsets', { groupId: opts.groupId, positions });
    });
  }

  async start(): Promise<void> {
    const { admin, topics, logger } = this.opts;
    // Right after another process created the topics their leaders may not be elected yet: retry.
    await retryForever(`reading start offsets of ${topics.join(', ')}`, async () => {
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) this.lowWatermarks.set(`${topic}:${p.partition}`, p.low);
      }
    }, logger, this.opts.signal);
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

  private expected(topic: string, partition: number): bigint {
    const next = this.opts.checkpoint.nextOffset(topic, partition) ?? this.lowWatermarks.get(`${topic}:${partition}`) ?? '0';
    return BigInt(next);
  }

  private async onBatch(topic: string, partition: number, messages: KafkaMessage[], resolveOffset: (o: string) => void): Promise<void> {
    const key = `${topic}:${partition}`;
    const expected = this.expected(topic, partition);
    const first = BigInt(messages[0].offset);
    if (!this.verified.has(key)) {
      this.verified.add(key);
      if (first > expected) {
        // Kafka's committed offset is past our state (state deleted or older): go back and rebuild.
        this.opts.logger.warn(`${key}: consumer started at ${first}, state continues at ${expected}: seeking back`);
        this.consumer.seek({ topic, partition, offset: expected.toString() });
        return;
      }
    }
    let start = 0;
    while (start < messages.length && BigInt(messages[start].offset) < expected) start++;
    this.skippedReplays += start;
    const last = messages[messages.length - 1].offset;
    if (start < messages.length) {
      const fresh = start === 0 ? messages : messages.slice(start);
      const nextOffset = (BigInt(last) + 1n).toString();
      await this.opts.handle({ topic, partition, messages: fresh, nextOffset });
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
