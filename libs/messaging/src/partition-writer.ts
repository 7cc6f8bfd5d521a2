// One transactional producer per owned input partition: the fence that keeps a zombie (a paused or cut-off
// instance that lost its partition without noticing) from writing to the changelog after the new owner.
import type { Kafka, Message, Producer } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import { backoffMs, connectWithRetry, sleep } from './kafka-client';
import { codecId, type Compression } from './compression';
import { refusedForGood } from './kafka-factory';
import type { MetaReporter } from './meta-reporter';
import { javaCompatiblePartitioner } from './murmur2';
import { ConditionStreaks, reportRetriedFailure } from './expected-conditions';

/** Another instance opened the same transactional id: this one no longer owns the partition. */
export class FencedError extends Error {
  constructor(
    readonly transactionalId: string,
    cause: string,
  ) {
    super(`${transactionalId} was fenced by a newer owner of the partition (${cause})`);
    this.name = 'FencedError';
  }
}

/**
 * A transaction of the writer failed for good without the partition being lost to another owner: retries
 * ran out, the producer is in a state it cannot leave, or the broker's answer lacked the partition written.
 * Not a FencedError: the caller treats it as a failure, not as "another owner took it".
 */
export class PartitionWriteError extends Error {
  /**
   * False for a refusal no retry changes (the service fails); true when the writer gave up on a failure that
   * may pass (the partition is claimed again with a new writer: a producer stuck in a transaction state
   * cannot be used again).
   */
  readonly retriable: boolean;
  constructor(
    readonly transactionalId: string,
    message: string,
    opts: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super(`${transactionalId}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PartitionWriteError';
    this.retriable = opts.retriable ?? true;
  }
}

/** Kafka's error types for "a newer producer with this transactional id exists" (KafkaJS knows only the first). */
const FENCE_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

function isFence(e: unknown): boolean {
  const err = e as { type?: string; code?: number; name?: string; message?: string };
  // 90 = PRODUCER_FENCED (Kafka 2.7+), which KafkaJS 2.2.4 does not name.
  return FENCE_TYPES.has(err.type ?? '') || err.code === 90 || err.code === 47;
}

export interface PartitionWriterOptions {
  /** Same for every owner of the partition, e.g. `<group>.p03`. */
  transactionalId: string;
  brokers: string[];
  logger: Logger;
  signal?: AbortSignal;
  /** Attempts of one transaction before it counts as lost (transient broker failures are retried). */
  attempts?: number;
  /** none, gzip or lz4 (KAFKA_COMPRESSION), as the service's other producers. */
  compression?: Compression;
  /** Each committed batch is reported as published, as the Publisher's sends are (aborted ones are not). */
  meta?: Pick<MetaReporter, 'record'>;
}

/**
 * Writes each batch of one input partition's output as one Kafka transaction. `open()` registers the
 * transactional id with the coordinator, which aborts any transaction a previous owner left open and makes
 * every later write of that owner fail: so only the newest owner's batches ever become visible to
 * read_committed readers (the sink, a restore). A writer is opened exactly once per claim of a partition, and
 * the owner restores its state from the changelog after opening, never before: then every batch it commits
 * is computed from everything committed before it.
 */
export class PartitionWriter {
  private readonly producer: Producer;
  private open_ = false;
  /** Set once fenced: a fenced producer stays fenced, whatever its next transaction would fail with. */
  private fenced?: FencedError;
  private readonly compression: number;
  /** Expected conditions its transactions retried (logged at debug until one goes on too long). */
  private readonly failures = new ConditionStreaks();

  constructor(
    kafka: Kafka,
    private readonly opts: PartitionWriterOptions,
  ) {
    this.compression = codecId(opts.compression);
    this.producer = kafka.producer({
      // Every send names its partition; this only keeps KafkaJS from warning about its default partitioner.
      createPartitioner: javaCompatiblePartitioner,
      transactionalId: opts.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 10 },
    });
  }

  get transactionalId(): string {
    return this.opts.transactionalId;
  }

  /** Connects and takes the transactional id over (the fence). */
  async open(): Promise<void> {
    await connectWithRetry(this.producer, this.opts.brokers, this.opts.logger, this.opts.signal);
    // KafkaJS registers the transactional id (InitProducerId, the fence) only with the first transaction,
    // not on connect: begin one now and end it empty, so the fence is up before the caller restores.
    const tx = await this.producer.transaction();
    await tx.abort();
    this.open_ = true;
  }

  /**
   * Sends `messages` to one partition of `topic` in one transaction and commits it. Returns the offset after
   * the transaction's commit marker (where reading the changelog may resume). Throws FencedError when a newer
   * owner took the transactional id (and on every send after); other failures are retried (abort, send
   * again) and after `attempts`, or when the producer is in a state it cannot leave, throw
   * PartitionWriteError. So does a committed transaction whose result does not name the partition: its
   * offset is unknown, and '0' would send a restore back to the changelog's start.
   */
  async send(topic: string, partition: number, messages: Message[]): Promise<string> {
    if (!this.open_) throw new Error(`${this.opts.transactionalId}: send before open`);
    if (this.fenced) throw this.fenced;
    if (messages.length === 0)
      throw new PartitionWriteError(this.opts.transactionalId, `no messages to send to ${topic}[${partition}]`, { retriable: false });
    const attempts = this.opts.attempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      let tx;
      let committed = false;
      try {
        tx = await this.producer.transaction();
        const md = await tx.send({ topic, acks: -1, compression: this.compression, messages: messages.map((m) => ({ ...m, partition })) });
        await tx.commit();
        committed = true;
        const base = md.find((r) => r.topicName === topic && r.partition === partition)?.baseOffset;
        if (base === undefined || base === null || BigInt(base) < 0n) {
          throw new PartitionWriteError(
            this.opts.transactionalId,
            `the broker's answer to a committed transaction names no offset of ${topic}[${partition}] (got ${JSON.stringify(md)})`,
          );
        }
        if (this.opts.meta) {
          let bytes = 0;
          for (const { value } of messages) bytes += value == null ? 0 : Buffer.byteLength(value);
          this.opts.meta.record('published', topic, messages.length, bytes);
        }
        // The batch takes base..base+n-1; the commit marker is at base+n: reading again from there skips nothing.
        return (BigInt(base) + BigInt(messages.length)).toString();
      } catch (e) {
        // Committed: sending again would write the batch twice.
        if (committed || e instanceof PartitionWriteError) throw e;
        if (isFence(e)) throw (this.fenced = new FencedError(this.opts.transactionalId, (e as Error).message));
        await tx?.abort().catch(() => undefined);
        // A refusal no retry changes (a record larger than the topic takes, no authorization): at once, with
        // the broker's error as the cause. KafkaJS marks more as not retriable (too few in-sync replicas while
        // brokers are down, a producer stuck in a transaction state): those are retried, then given up on.
        const refused = refusedForGood(e);
        if (refused)
          throw new PartitionWriteError(this.opts.transactionalId, `refused: ${(e as Error).message}`, {
            cause: refused,
            retriable: false,
          });
        if (attempt >= attempts || /Transaction state exception/.test((e as Error).message)) {
          throw new PartitionWriteError(this.opts.transactionalId, `gave up after ${attempt} attempts: ${(e as Error).message}`, {
            cause: e,
          });
        }
        reportRetriedFailure(
          this.opts.logger,
          this.failures,
          `${topic}[${partition}]`,
          `transaction of ${messages.length} messages to ${topic}[${partition}] failed, retrying`,
          e,
          { attempt, error: (e as Error).message },
        );
        await sleep(backoffMs(attempt, 300, 5_000), this.opts.signal);
      }
    }
  }

  async close(): Promise<void> {
    this.open_ = false;
    await this.producer.disconnect().catch(() => undefined);
  }
}
