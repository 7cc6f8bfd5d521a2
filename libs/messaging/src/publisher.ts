import { Admin, ICustomPartitioner, Kafka, Message, PartitionMetadata, Partitioners, Producer } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import { connectWithRetry, retryForever } from './kafka-client';
import { partitionOfKey } from './murmur2';
import type { MetaReporter, MetaSink } from './meta-reporter';
import { codecId, type Compression } from './compression';

export interface PublisherOptions {
  brokers: string[];
  logger: Logger;
  /** -1 = all in-sync replicas (default), 1 = leader only, 0 = none. */
  acks?: number;
  /** none, gzip or lz4 (KAFKA_COMPRESSION). */
  compression?: Compression;
  /** Sends awaited concurrently. Order within a key is only kept with 1 (what mean-ratings needs). */
  maxInFlight?: number;
  /** Idempotent producer: broker-side de-duplication of retried sends. Forces maxInFlight 1. */
  idempotent?: boolean;
  signal?: AbortSignal;
}

/**
 * Batching publisher: one `send` per batch of messages (never a flush per message, the seed's
 * bottleneck), a bounded number of batches in flight, a send that fails retried until it succeeds,
 * and every acknowledged message counted in the meta reports.
 */
export class Publisher {
  readonly producer: Producer;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxInFlight: number;
  private failure?: Error;
  private readonly admin: Admin;
  private readonly partitioner = javaCompatiblePartitioner();
  private readonly partitionMetadata = new Map<string, PartitionMetadata[]>();
  private readonly compression: number;
  meta?: MetaReporter;

  constructor(
    kafka: Kafka,
    private readonly opts: PublisherOptions,
  ) {
    this.admin = kafka.admin();
    this.maxInFlight = opts.idempotent ? 1 : Math.max(1, opts.maxInFlight ?? 1);
    this.compression = codecId(opts.compression);
    this.producer = kafka.producer({
      createPartitioner: javaCompatiblePartitioner, // Java's murmur2: the same partition as Java clients
      idempotent: opts.idempotent ?? false,
      maxInFlightRequests: opts.idempotent ? 1 : undefined,
      // An idempotent producer must keep retrying the same sequence numbers (KafkaJS warns otherwise).
      retry: opts.idempotent ? { initialRetryTime: 300, maxRetryTime: 10_000, retries: Number.MAX_SAFE_INTEGER } : undefined,
      allowAutoTopicCreation: false,
    });
  }

  connect(): Promise<void> {
    return connectWithRetry(this.producer, this.opts.brokers, this.opts.logger, this.opts.signal);
  }

  /**
   * Sends one batch and waits for its acknowledgement (retrying as long as it takes).
   *
   * One KafkaJS `send` per partition: KafkaJS 2.2.4 silently drops the messages of a partition whose leader
   * moved, during a send, to a broker that had already answered that same send (tulios/kafkajs#1303; the
   * broker-failure fault test lost ~1% of the ratings that way). With one partition per send there is
   * only ever one broker per send, so a retry always goes out.
   */
  async send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    const byPartition = await this.groupByPartition(topic, messages);
    await Promise.all(
      [...byPartition].map(([partition, part]) =>
        retryForever(
          `publish of ${part.length} messages to ${topic}[${partition}]`,
          () =>
            this.producer.send({
              topic,
              messages: part,
              acks: this.opts.acks ?? -1,
              compression: this.compression,
            }),
          this.opts.logger,
          this.opts.signal,
        ),
      ),
    );
    if (this.meta) {
      let bytes = 0;
      for (const m of messages) bytes += (m.value as Buffer | null)?.length ?? 0;
      this.meta.record('published', topic, messages.length, bytes);
    }
  }

  /** Assigns partitions as Java's default partitioner would (murmur2 of the key); sets each message's `partition`. */
  private async groupByPartition(topic: string, messages: Message[]): Promise<Map<number, Message[]>> {
    let partitionMetadata = this.partitionMetadata.get(topic);
    if (!partitionMetadata) {
      partitionMetadata = await retryForever(
        `reading the partitions of ${topic}`,
        async () => {
          await this.admin.connect();
          const meta = await this.admin.fetchTopicMetadata({ topics: [topic] });
          return meta.topics[0].partitions;
        },
        this.opts.logger,
        this.opts.signal,
      );
      this.partitionMetadata.set(topic, partitionMetadata);
    }
    const out = new Map<number, Message[]>();
    for (const message of messages) {
      const partition = message.partition ?? this.partitioner({ topic, partitionMetadata, message });
      let list = out.get(partition);
      if (!list) out.set(partition, (list = []));
      // Set in place (a copy per message showed in the producer's profile): KafkaJS then skips the hash.
      message.partition = partition;
      list.push(message);
    }
    return out;
  }

  /**
   * Starts sending a batch and returns once there is room for another: the caller prepares the next
   * batch while this one travels. `flush()` waits for all.
   */
  async enqueue(topic: string, messages: Message[]): Promise<void> {
    if (this.failure) throw this.failure;
    const p: Promise<void> = this.send(topic, messages)
      .catch((e) => {
        this.failure = e as Error;
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  async flush(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }

  async disconnect(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}

/**
 * KafkaJS's DefaultPartitioner with the int32 murmur2 (same partitions, without a Long per byte group and a
 * filter over the partitions per message): an explicit partition wins, a key is hashed, keyless records
 * go round robin as before.
 */
export const javaCompatiblePartitioner: ICustomPartitioner = () => {
  const roundRobin = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    if (message.key !== undefined && message.key !== null) return partitionOfKey(message.key, partitionMetadata.length);
    return roundRobin(args);
  };
};

/** Meta reports go straight to the producer, uncounted (they would otherwise report themselves). */
export function rawSink(producer: Producer): MetaSink {
  // acks -1: an idempotent producer refuses anything else.
  return { send: async (topic, messages) => void (await producer.send({ topic, messages, acks: -1 })) };
}
