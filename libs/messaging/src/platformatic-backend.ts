// The Publisher's backend on @platformatic/kafka (KAFKA_CLIENT=platformatic). The one file of the project
// that imports that client. Partitions always come from the Publisher (KafkaJS's Java-compatible murmur2):
// @platformatic/kafka's own default partitioner (murmur2 >>> 0) puts about half the keys elsewhere, which
// would break the co-partitioning of ratings, movies and mean-ratings.
import { MessageToProduce, Producer, ProduceAcks, SASLMechanisms } from '@platformatic/kafka';
import type { Message, PartitionMetadata } from './kafkajs';
import { KafkaAuthenticationError, KafkaConnection, KafkaUsageError } from './kafka-factory';
import type { BackendOptions, ProducerBackend } from './producer-backend-types';

type Sasl = NonNullable<ConstructorParameters<typeof Producer>[0]['sasl']>;

const MECHANISMS: Record<string, Sasl['mechanism']> = {
  plain: SASLMechanisms.PLAIN,
  'scram-sha-256': SASLMechanisms.SCRAM_SHA_256,
  'scram-sha-512': SASLMechanisms.SCRAM_SHA_512,
};

function sasl(c: KafkaConnection): Sasl | undefined {
  if (!c.saslMechanism) return undefined;
  const mechanism = MECHANISMS[c.saslMechanism.toLowerCase()];
  if (!mechanism) throw new Error(`KAFKA_SASL_MECHANISM "${c.saslMechanism}" is not one of ${Object.keys(MECHANISMS).join(', ')}`);
  if (!c.saslUsername || c.saslPassword === undefined) {
    throw new Error(
      'KAFKA_SASL_MECHANISM is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) are needed too',
    );
  }
  return { mechanism, username: c.saslUsername, password: c.saslPassword };
}

const toBuffer = (v: Buffer | string | null | undefined): Buffer | undefined =>
  v === null || v === undefined ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(v);

/** KafkaJS headers (a value may be a list) as @platformatic/kafka's map: one entry per value, in order. */
function headersOf(h: Message['headers']): Map<Buffer, Buffer> | undefined {
  if (!h) return undefined;
  const out = new Map<Buffer, Buffer>();
  for (const [k, v] of Object.entries(h)) {
    // Map keys are compared by identity: a fresh key Buffer per value keeps repeated header names.
    for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) out.set(Buffer.from(k), toBuffer(one)!);
  }
  return out;
}

type ErrorTree = { message?: string; code?: unknown; errors?: unknown[]; cause?: unknown };

/** Every error in a failure's tree (@platformatic/kafka nests them in `errors` lists and in `cause`). */
function errorsIn(e: unknown, out: ErrorTree[] = [], depth = 0): ErrorTree[] {
  if (!e || typeof e !== 'object' || depth > 6) return out;
  const x = e as ErrorTree;
  out.push(x);
  for (const inner of x.errors ?? []) errorsIn(inner, out, depth + 1);
  errorsIn(x.cause, out, depth + 1);
  return out;
}

/** The distinct messages of a failure ("produce failed 4 times." alone says nothing). */
function describe(e: unknown): string {
  return [
    ...new Set(
      errorsIn(e)
        .map((x) => x.message)
        .filter((m) => m),
    ),
  ].join(' / ');
}

export class PlatformaticBackend implements ProducerBackend {
  readonly kind = 'platformatic';
  private readonly producer: Producer;

  constructor(
    c: KafkaConnection,
    private readonly opts: BackendOptions,
  ) {
    this.producer = new Producer({
      clientId: c.clientId,
      bootstrapBrokers: c.brokers,
      tls: c.ssl ? {} : undefined,
      sasl: sasl(c),
      connectTimeout: 3000,
      // The broker's wait for acks=all (KafkaJS's default is 30 s too).
      timeout: 30_000,
      // A few quick retries inside the client; the Publisher's retryForever repeats the send after that.
      // The idempotent producer advances its sequence numbers only on success, so a repeated send is
      // recognised by the broker as the same batch.
      retries: 3,
      retryDelay: 300,
      idempotent: opts.idempotent,
      // The client forces 1 for an idempotent producer; otherwise the Publisher's bound applies.
      maxInflights: opts.idempotent ? 1 : Math.max(1, opts.maxInFlight),
      compression: opts.compression,
      autocreateTopics: false,
      strict: true,
    });
  }

  async connect(): Promise<void> {
    try {
      await this.producer.listApis();
      if (this.opts.idempotent) await this.producer.initIdempotentProducer({});
    } catch (e) {
      throw this.failure(e);
    }
  }

  async partitionMetadata(topic: string): Promise<PartitionMetadata[]> {
    try {
      const meta = await this.producer.metadata({ topics: [topic], forceUpdate: true });
      const t = meta.topics.get(topic);
      if (!t) throw new Error(`topic ${topic} not found`);
      return t.partitions.map((p, partitionId) => ({
        partitionId,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
        partitionErrorCode: 0,
      }));
    } catch (e) {
      throw this.failure(e);
    }
  }

  async send(topic: string, partition: number, messages: Message[], acks: number): Promise<void> {
    const out: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = new Array(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      out[i] = {
        topic,
        partition,
        key: toBuffer(m.key),
        // null stays null: a tombstone.
        value: (m.value === null ? null : toBuffer(m.value)) as Buffer,
        headers: headersOf(m.headers),
        timestamp: m.timestamp === undefined ? undefined : BigInt(m.timestamp),
      };
    }
    try {
      await this.producer.send({ messages: out, acks: acks === -1 ? ProduceAcks.ALL : acks });
    } catch (e) {
      // A leader that moved shows as refused connections or NOT_LEADER: the next try asks the cluster again.
      this.producer.clearMetadata();
      throw this.failure(e);
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.close();
  }

  /**
   * A readable error. Rejected credentials and requests the client refuses itself (validation) become the
   * errors that end the Publisher's retries: repeating them cannot help.
   */
  private failure(e: unknown): Error {
    const codes = new Set(errorsIn(e).map((x) => x.code));
    const message = `@platformatic/kafka: ${describe(e)}`;
    if (codes.has('PLT_KFK_AUTHENTICATION') || /SASL|authentication failed/i.test(message)) {
      return new KafkaAuthenticationError(new Error(message, { cause: e }));
    }
    if (codes.has('PLT_KFK_USER')) return new KafkaUsageError(message, { cause: e });
    return new Error(message, { cause: e });
  }
}
