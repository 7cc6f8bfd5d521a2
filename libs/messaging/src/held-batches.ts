// Coalescing as the consumer uses it: consecutive batches of a partition held and applied as one. Held
// messages are not in the state: whatever drops them (a partition lost, a failed flush, a stop) must have the
// partition read again from the state's offset, which `rewind` does.
import type { Logger } from '@movie-stream/logging';
import { BatchCoalescer, CoalescedBatch, CoalesceOptions } from './batch-coalescer';
import type { RecordFingerprint } from './start-checks';

type Which = (topic: string, partition: number) => boolean;

export class HeldBatches {
  readonly coalescer: BatchCoalescer<RecordFingerprint>;
  /** Per topic:partition, a failed timer flush: thrown from the partition's next batch, as if that batch had failed. */
  private readonly flushFailures = new Map<string, unknown>();

  constructor(
    options: CoalesceOptions,
    apply: (batch: CoalescedBatch<RecordFingerprint>) => Promise<void>,
    /** A timer flush failed: the caller decides (a fence loses the partition); otherwise `failed` is kept for the next batch. */
    onTimerFailure: (batch: CoalescedBatch<RecordFingerprint>, e: unknown) => void,
    /** Reads a partition again from the state's offset. */
    private readonly seekToState: (topic: string, partition: number) => void,
    private readonly logger: Logger,
  ) {
    this.coalescer = new BatchCoalescer<RecordFingerprint>({ ...options, flush: apply, onTimerFailure });
  }

  /** Keeps a timer flush's failure, to be thrown from the partition's next batch, and reads its messages again. */
  failed(batch: CoalescedBatch<RecordFingerprint>, e: unknown): void {
    this.logger.warn(`${batch.topic}:${batch.partition}: applying ${batch.messages.length} held messages failed: ${(e as Error).message}`);
    this.flushFailures.set(`${batch.topic}:${batch.partition}`, e);
    this.rewind(batch.topic, batch.partition);
  }

  /** The failure a timer flush of this partition left, once: its next batch fails with it. */
  takeFailure(topic: string, partition: number): unknown {
    const key = `${topic}:${partition}`;
    const e = this.flushFailures.get(key);
    this.flushFailures.delete(key);
    return e;
  }

  /** Drops held messages and reads the partition again from the state's offset (they were resolved with KafkaJS). */
  rewind(topic: string, partition: number): void {
    this.coalescer.drop((t, p) => t === topic && p === partition);
    this.seekToState(topic, partition);
  }

  /** Drops held messages (not applied: read again from the state's offset) of the selected partitions. */
  drop(which?: Which): void {
    const n = this.coalescer.drop(which);
    for (const key of [...this.flushFailures.keys()]) {
      const i = key.lastIndexOf(':');
      if (!which || which(key.slice(0, i), Number(key.slice(i + 1)))) this.flushFailures.delete(key);
    }
    if (n) this.logger.info(`dropped ${n} held messages (not applied: read again from the state's offsets)`);
  }

  /**
   * A stop's last step with held messages: applies them all (a stop's final snapshot holds them). One that
   * fails is dropped, not applied (the next start reads it again); `lost` takes the partitions whose writer
   * a newer owner fenced.
   */
  async applyAll(lost: (batch: CoalescedBatch<RecordFingerprint>, e: unknown) => boolean): Promise<void> {
    await this.coalescer.flushAll((batch, e) => {
      if (!lost(batch, e))
        this.logger.warn(`${batch.topic}:${batch.partition}: ${batch.messages.length} held messages not applied: ${(e as Error).message}`);
    });
    await this.coalescer.settled();
  }
}
