import { ConsumedMessage, deadLetter, deadLetterTopic, Publisher } from '@movie-stream/messaging';
import { runConsumerService, type ServiceConsumer } from './consumer-service';
import { fileStateBackend } from './file-state-backend';
import type { ServiceContext } from './run-service';
import type { Serving, StatefulConsumerResult, StatefulConsumerSpec } from './stateful-consumer-spec';

/**
 * The life of a consumer that keeps a table: restore the snapshot, consume from the snapshot's offsets,
 * snapshot every interval and commit exactly the offsets of each durable snapshot, and on SIGTERM stop
 * fetching, write a final snapshot, commit and disconnect (runConsumerService over the file backend).
 */
export function runStatefulConsumer<K, Row>(spec: StatefulConsumerSpec<K, Row>): Promise<StatefulConsumerResult> {
  let consumer: ServiceConsumer | undefined;
  const serving: Serving = { running: () => consumer?.runningPartitions() ?? new Map<number, number>() };
  return runConsumerService({ ...spec, onConsumer: (c) => (consumer = c) }, fileStateBackend(spec, serving));
}

export interface BadMessage {
  message: Pick<ConsumedMessage, 'key' | 'value' | 'offset'>;
  reason: string;
}

/**
 * Sends messages that cannot be used to `<topic>.dlq` (original bytes, headers with source topic,
 * partition, offset and error) and logs each with where it is and why. Call inside `frame.update` before
 * recording the batch's offset, so a crash cannot lose them.
 */
export async function sendToDeadLetterQueue(
  ctx: { service: string; logger: ServiceContext<never>['logger'] },
  publisher: Publisher,
  batch: { topic: string; partition: number },
  bad: BadMessage[],
): Promise<void> {
  if (bad.length === 0) return;
  for (const b of bad.slice(0, 20)) {
    ctx.logger.warn('unusable message sent to the dead-letter topic', {
      topic: batch.topic,
      partition: batch.partition,
      offset: b.message.offset,
      reason: b.reason,
    });
  }
  if (bad.length > 20) ctx.logger.warn(`... and ${bad.length - 20} more unusable messages in this batch`);
  await publisher.send(
    deadLetterTopic(batch.topic),
    bad.map((b) => deadLetter({ topic: batch.topic, partition: batch.partition, service: ctx.service }, b.message, b.reason)),
  );
}
