// A batch that holds only transaction markers or aborted records never reaches eachBatch. The state's offset
// must still move past them, or the group's lag (and a drain) would never reach 0.
import type { Logger } from '@movie-stream/logging';
import type { Consumer } from './kafkajs';
import type { Checkpoint } from './start-checks';
import type { HeldBatches } from './held-batches';

export function followTransactionMarkers(
  consumer: Consumer,
  o: {
    checkpoint: Checkpoint;
    held?: HeldBatches;
    /** False once the consumer failed, or for a partition it does not run. */
    applies(partition: number): boolean;
    logger: Logger;
  },
): void {
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const { topic, partition, batchSize, lastOffset } = e.payload;
    if (batchSize !== 0 || lastOffset == null || !o.applies(partition)) return;
    const next = (BigInt(lastOffset) + 1n).toString();
    const advance = async () => o.checkpoint.advance?.(topic, partition, next);
    // Coalescing: never past held messages (they are not in the state yet); after a flush in progress.
    void (o.held ? o.held.coalescer.advance(topic, partition, next, advance) : advance()).catch((err: Error) => {
      o.logger.warn(`${topic}:${partition}: could not move the offset past transaction markers: ${err.message}`);
    });
  });
}
