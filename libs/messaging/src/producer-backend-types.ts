// What the Publisher and its backends agree on: the KAFKA_CLIENT setting and the ProducerBackend interface.
// A module of its own so that both backends (producer-backend.ts: KafkaJS and the factory;
// platformatic-backend.ts, which the factory loads on demand) import it and neither imports the other.
import type { Message, PartitionMetadata } from './kafkajs';
import type { Compression } from './compression';

export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClientKind = (typeof KAFKA_CLIENTS)[number];

/** The KAFKA_CLIENT setting, checked (a typo must not silently fall back to the default). */
export function kafkaClientKind(value: string | undefined): KafkaClientKind {
  const v = (value ?? 'kafkajs').trim().toLowerCase();
  if ((KAFKA_CLIENTS as readonly string[]).includes(v)) return v as KafkaClientKind;
  throw new Error(`KAFKA_CLIENT "${value}" is not one of ${KAFKA_CLIENTS.join(', ')}`);
}

export interface ProducerBackend {
  readonly kind: KafkaClientKind;
  connect(): Promise<void>;
  /** The partitions of `topic`, in the shape KafkaJS's partitioners take. */
  partitionMetadata(topic: string): Promise<PartitionMetadata[]>;
  /** Sends messages that all go to `partition`; resolves once acknowledged as `acks` asks. One attempt. */
  send(topic: string, partition: number, messages: Message[], acks: number): Promise<void>;
  disconnect(): Promise<void>;
}

export interface BackendOptions {
  idempotent: boolean;
  compression: Compression;
  /** Sends in flight at once (already 1 when idempotent). */
  maxInFlight: number;
}
