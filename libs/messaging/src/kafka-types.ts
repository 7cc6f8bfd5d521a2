// The KafkaJS types other projects need, under the project's own names: only libs/messaging imports
// kafkajs (the seam), so a change of client touches this library alone.
export type {
  Kafka as KafkaClient,
  Admin as KafkaAdmin,
  Producer as KafkaProducer,
  Consumer as KafkaConsumer,
  /** A message to send: key, value, headers, optional partition. */
  Message as OutgoingMessage,
  /** A message as consumed: key, value, headers, offset, timestamp. */
  KafkaMessage as ConsumedMessage,
} from './kafkajs';
