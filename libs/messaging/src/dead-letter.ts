import type { KafkaMessage, Message } from './kafkajs';

/** Messages that cannot be used go to `<topic>.dlq`, so nothing is silently dropped. */
export const deadLetterTopic = (topic: string) => `${topic}.dlq`;

export const DLQ_HEADERS = {
  topic: 'dlq.source.topic',
  partition: 'dlq.source.partition',
  offset: 'dlq.source.offset',
  error: 'dlq.error',
  service: 'dlq.service',
} as const;

/** The original key and bytes, with headers saying where the message came from and what was wrong. */
export function deadLetter(
  source: { topic: string; partition: number; service: string },
  m: Pick<KafkaMessage, 'key' | 'value' | 'offset'>,
  error: string,
): Message {
  return {
    key: m.key,
    value: m.value,
    headers: {
      [DLQ_HEADERS.topic]: source.topic,
      [DLQ_HEADERS.partition]: String(source.partition),
      [DLQ_HEADERS.offset]: m.offset,
      [DLQ_HEADERS.error]: error,
      [DLQ_HEADERS.service]: source.service,
    },
  };
}
