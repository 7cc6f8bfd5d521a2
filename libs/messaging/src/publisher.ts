import { Kafka, Message, PartitionMetadata, Producer } from './kafkajs';
import type { Logger } from '@movie-stream/logging';
import { connectWithRetry, retryForever } from './kafka-client';
import type { KafkaConnection } from './kafka-factory';
import type { MetaReporter, MetaSink } from './meta-reporter';
import { COMPRESSIONS, type Compression } from './compression';
import { javaCompatiblePartitioner } from './murmur2';
import { createProducerBackend } from './producer-backend';
import { KafkaClientKind, kafkaClientKind, ProducerBackend } from './producer-backend-types';

export interface PublisherOptions {
  brokers: string[];
  logger: Logger;
  /** -1 = all in-sync replicas (default), 1 = leader only, 0 = none. */
  acks?: number;
  /** none, gzip or lz4 (KAFKA_COMPRESSION; lz4 with the KafkaJS client only). */
  compression?: Compression;
  /** Sends awaited concurrently. Order within a key is only kept with 1 (what mean-ratings needs). */
  maxInFlight?: number;
  /** Idempotent producer: broker-side de-duplication of retried sends. Forces maxInFlight 1. */
  idempotent?: boolean;
  signal?: AbortSignal;
  /** The client that sends (KAFKA_CLIENT): kafkajs (default) or platformatic. */
  client?: KafkaClientKind | string;
  /** Brokers, client id, TLS and SASL: needed by the platformatic client (KafkaJS's come with `kafka`). */
  connection?: KafkaConnection;
}

/**
 * Batching publisher: one `send` per batch of messages (never a flush per message, the seed's
 * bottleneck), a bounded number of batches in flight, a send that fails retried until it succeeds,
 * and every acknowledged message counted in the meta reports. The client underneath is a
 * ProducerBackend (KafkaJS or @platformatic/kafka); partitions are always chosen here, by Java's murmur2
 * partitioner, whichever client sends.
 */
export class Publisher {
  readonly client: KafkaClientKind;
  private readonly backendReady: Promise<ProducerBackend>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxInFlight: number;
  private readonly acks: number;
  private failure?: Error;
  private readonly partitioner = javaCompatiblePartitioner();
  private readonly partitionMetadata = new Map<string, PartitionMetadata[]>();
  meta?: MetaReporter;

  constructor(
    kafka: Kafka,
    private readonly opts: PublisherOptions,
  ) {
    this.client = kafkaClientKind(opts.client);
    this.acks = opts.acks ?? -1;
    const compression = opts.compression ?? 'none';
    // Refused here, before anything is sent (both clients would refuse at the first send).
    if (!(COMPRESSIONS as readonly string[]).includes(compression))
      throw new Error(`KAFKA_COMPRESSION "${compression}" is not one of ${COMPRESSIONS.join(', ')}`);
    if (compression === 'lz4' && this.client !== 'kafkajs') throw new Error(`KAFKA_COMPRESSION=lz4 needs KAFKA_CLIENT=kafkajs`);
    if (![-1, 0, 1].includes(this.acks)) throw new Error(`KAFKA_ACKS ${this.acks} is not one of -1, 0, 1`);
    if (opts.idempotent && this.acks !== -1) throw new Error(`the idempotent producer needs KAFKA_ACKS=-1 (got ${this.acks})`);
    this.maxInFlight = opts.idempotent ? 1 : Math.max(1, opts.maxInFlight ?? 1);
    this.backendReady = createProducerBackend(this.client, kafka, opts.connection, {
      idempotent: opts.idempotent ?? false,
      compression,
      maxInFlight: this.maxInFlight,
    });
    // connect() reports a failure to create the backend; this only keeps it from being "unhandled" meanwhile.
    this.backendReady.catch(() => undefined);
  }

  async connect(): Promise<void> {
    const backend = await this.backendReady;
    await connectWithRetry(backend, this.opts.brokers, this.opts.logger, this.opts.signal);
    // Said once, so that a log (a benchmark's, a fault test's) shows which client published.
    if (this.client !== 'kafkajs') this.opts.logger.info(`publishing with the ${this.client} Kafka client (KAFKA_CLIENT)`);
  }

  /**
   * Sends one batch and waits for its acknowledgement (retrying as long as it takes).
   *
   * One `send` per partition: KafkaJS 2.2.4 silently drops the messages of a partition whose leader
   * moved, during a send, to a broker that had already answered that same send (tulios/kafkajs#1303; the
   * broker-failure fault test lost ~1% of the ratings that way). With one partition per send there is
   * only ever one broker per send, so a retry always goes out.
   */
  async send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    const backend = await this.backendReady;
    const byPartition = await this.groupByPartition(backend, topic, messages);
    await Promise.all(
      [...byPartition].map(([partition, part]) =>
        retryForever(
          `publish of ${part.length} messages to ${topic}[${partition}]`,
          () => backend.send(topic, partition, part, this.acks),
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
  private async groupByPartition(backend: ProducerBackend, topic: string, messages: Message[]): Promise<Map<number, Message[]>> {
    let partitionMetadata = this.partitionMetadata.get(topic);
    if (!partitionMetadata) {
      partitionMetadata = await retryForever(
        `reading the partitions of ${topic}`,
        () => backend.partitionMetadata(topic),
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
    const backend = await this.backendReady.catch(() => undefined);
    await backend?.disconnect();
  }

  /**
   * A sink for meta reports: sent with this publisher's client, partitioned as any message, uncounted (they
   * would otherwise report themselves), one attempt (the MetaReporter keeps what failed for its next try).
   */
  rawSink(): MetaSink {
    return {
      send: async (topic, messages) => {
        const backend = await this.backendReady;
        const byPartition = await this.groupByPartition(backend, topic, messages);
        // acks -1: an idempotent producer refuses anything else.
        await Promise.all([...byPartition].map(([partition, part]) => backend.send(topic, partition, part, -1)));
      },
    };
  }
}

/** Meta reports straight to a KafkaJS producer, uncounted (a Publisher has its own: `publisher.rawSink()`). */
export function rawSink(producer: Producer): MetaSink {
  // acks -1: an idempotent producer refuses anything else.
  return { send: async (topic, messages) => void (await producer.send({ topic, messages, acks: -1 })) };
}
