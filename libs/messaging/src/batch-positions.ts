// Which part of a fetched batch is new to the state. Kafka may hand a partition from another place than the
// state's offset (the group's committed offset after a crash between snapshot and commit, a state deleted):
// before the state's offset the records are replays, dropped; a first batch past it means the state must be
// rebuilt from further back.
import type { KafkaMessage } from './kafkajs';
import { fingerprint } from './start-checks';
import type { PartitionBatch } from './consumer-options';

/** What to do with a fetched batch: seek back to the state's offset, or hand on `batch` (if any) and resolve up to `last`. */
export type BatchVerdict = { seekBack: bigint } | { batch?: PartitionBatch; last: string };

export class BatchPositions {
  /** Partitions whose first batch after the last join was checked against the state's offset. */
  private readonly checked = new Set<string>();
  /** Messages dropped because the state already held them (replays after a crash). */
  skippedReplays = 0;

  /** After a join: every partition's next first batch is checked again. */
  joined(): void {
    this.checked.clear();
  }

  /**
   * `stateOffset`: where the state continues; `expected`: where new records start (past messages held for
   * coalescing, which are not in the state yet). `batchEnd`: the batch's last offset, past its last message
   * when transaction markers follow it.
   */
  classify(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    batchEnd: string,
    stateOffset: bigint,
    expected: bigint,
  ): BatchVerdict {
    const key = `${topic}:${partition}`;
    if (!this.checked.has(key)) {
      this.checked.add(key);
      if (BigInt(messages[0].offset) > stateOffset) return { seekBack: stateOffset };
    }
    let start = 0;
    while (start < messages.length && BigInt(messages[start].offset) < expected) start++;
    this.skippedReplays += start;
    let last = messages[messages.length - 1].offset;
    // A transaction's commit marker after the last message: the state's offset goes past it, or the group's
    // lag would stay 1 per partition forever (the marker is never delivered as a message).
    if (BigInt(batchEnd) > BigInt(last)) last = batchEnd;
    if (start === messages.length) return { last };
    const fresh = start === 0 ? messages : messages.slice(start);
    const nextOffset = (BigInt(last) + 1n).toString();
    return { last, batch: { topic, partition, messages: fresh, nextOffset, last: fingerprint(messages[messages.length - 1]) } };
  }
}
