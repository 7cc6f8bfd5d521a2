// The Kafka client under the Publisher: KafkaJS (default) or @platformatic/kafka (KAFKA_CLIENT=platformatic,
// being measured as an alternative, issue 14). The Publisher decides partitions, batching, retries and
// counting; a backend only connects, sends one partition's messages and says how many partitions a topic has
// (the interface and the setting: producer-backend-types.ts).
import { Admin, Kafka, Message, PartitionMetadata, Producer } from './kafkajs';
import { codecId } from './compression';
import { javaCompatiblePartitioner } from './murmur2';
import type { KafkaConnection } from './kafka-factory';
import type { BackendOptions, KafkaClientKind, ProducerBackend } from './producer-backend-types';

export class KafkajsBackend implements ProducerBackend {
  readonly kind = 'kafkajs';
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly compression: number;

  constructor(
    kafka: Kafka,
    private readonly opts: BackendOptions,
  ) {
    this.admin = kafka.admin();
    // With lz4 the native codec is loaded now: a process without it stops at start, with the reason.
    this.compression = codecId(opts.compression);
    this.producer = kafka.producer({
      // Partitions are set by the Publisher; this only keeps KafkaJS from warning about its default.
      createPartitioner: javaCompatiblePartitioner,
      idempotent: opts.idempotent,
      maxInFlightRequests: opts.idempotent ? 1 : undefined,
      // An idempotent producer must keep retrying the same sequence numbers (KafkaJS warns otherwise).
      retry: opts.idempotent ? { initialRetryTime: 300, maxRetryTime: 10_000, retries: Number.MAX_SAFE_INTEGER } : undefined,
      allowAutoTopicCreation: false,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async partitionMetadata(topic: string): Promise<PartitionMetadata[]> {
    await this.admin.connect();
    const meta = await this.admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0].partitions;
  }

  async send(topic: string, partition: number, messages: Message[], acks: number): Promise<void> {
    await this.producer.send({
      topic,
      messages: messages.map((m) => (m.partition === partition ? m : { ...m, partition })),
      acks,
      compression: this.compression,
    });
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}

/**
 * The backend KAFKA_CLIENT names. @platformatic/kafka is an ES module: loaded only when chosen, so that
 * processes on KafkaJS never load it.
 */
export async function createProducerBackend(
  kind: KafkaClientKind,
  kafka: Kafka,
  connection: KafkaConnection | undefined,
  opts: BackendOptions,
): Promise<ProducerBackend> {
  if (kind === 'kafkajs') return new KafkajsBackend(kafka, opts);
  if (!connection) throw new Error('KAFKA_CLIENT=platformatic: the Publisher needs the connection settings (PublisherOptions.connection)');
  const { PlatformaticBackend } = await import('./platformatic-backend');
  return new PlatformaticBackend(connection, opts);
}
