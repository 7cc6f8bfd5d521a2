// One transactional producer per owned input partition: the fence that keeps a zombie (a paused or cut-off
// instance that lost its partition without noticing) from writing to the changelog after the new owner.
import type { Kafka, Message, Producer } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import { backoffMs, connectWithRetry, sleep } from './kafka-client';
import { codecId, type Compression } from './compression';

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
  private readonly compression: number;

  constructor(
    kafka: Kafka,
    private readonly opts: PartitionWriterOptions,
  ) {
    this.compression = codecId(opts.compression);
    this.producer = kafka.producer({
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
   * owner took the transactional id; other failures are retried (abort, send again) and after `attempts`
   * also count as lost, since the producer may be left in a state it cannot leave.
   */
  async send(topic: string, partition: number, messages: Message[]): Promise<string> {
    if (!this.open_) throw new Error(`${this.opts.transactionalId}: send before open`);
    const attempts = this.opts.attempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      let tx;
      try {
        tx = await this.producer.transaction();
        const md = await tx.send({ topic, acks: -1, compression: this.compression, messages: messages.map((m) => ({ ...m, partition })) });
        await tx.commit();
        const base = md.find((r) => r.partition === partition)?.baseOffset;
        // The batch takes base..base+n-1; the commit marker is at base+n: reading again from there skips nothing.
        return base === undefined ? '0' : (BigInt(base) + BigInt(messages.length)).toString();
      } catch (e) {
        if (isFence(e)) throw new FencedError(this.opts.transactionalId, (e as Error).message);
        await tx?.abort().catch(() => undefined);
        if (attempt >= attempts || /Transaction state exception/.test((e as Error).message)) {
          throw new FencedError(this.opts.transactionalId, `gave up after ${attempt} attempts: ${(e as Error).message}`);
        }
        this.opts.logger.warn(`transaction of ${messages.length} messages to ${topic}[${partition}] failed, retrying`, {
          attempt,
          error: (e as Error).message,
        });
        await sleep(backoffMs(attempt, 300, 5_000), this.opts.signal);
      }
    }
  }

  async close(): Promise<void> {
    this.open_ = false;
    await this.producer.disconnect().catch(() => undefined);
  }
}
