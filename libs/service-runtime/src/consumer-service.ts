// The life of a consumer service, whichever store holds its state: Kafka connections, the consumer, the
// wait for a stop or a failure, the failure handling and the stop. What differs between the file mode and
// the database mode (where the state is, how a batch reaches it, what is made durable before a commit) is a
// StateBackend: file-state-backend.ts, database-state-backend.ts.
import {
  Checkpoint,
  CheckpointedConsumer,
  CheckpointedConsumerOptions,
  CoalesceOptions,
  Compression,
  KafkaAdmin,
  MetaReporter,
  PartitionBatch,
  PartitionOwner,
  Publisher,
  StateMismatchError,
  TopicLayoutError,
} from '@movie-stream/messaging';
import { connectAndEnsureTopics } from './kafka-setup';
import type { ServiceContext } from './run-service';
import type { STATEFUL_CONSUMER_OPTIONS } from './stateful-consumer-spec';

/** The settings every consumer service reads (both modes read at least these). */
export type ConsumerServiceContext = ServiceContext<(typeof STATEFUL_CONSUMER_OPTIONS)[number]>;

/** What runConsumerService uses of CheckpointedConsumer (a test passes a fake). */
export type ServiceConsumer = Pick<
  CheckpointedConsumer,
  'start' | 'failed' | 'commit' | 'beginStop' | 'stop' | 'skippedReplays' | 'runningPartitions'
>;

/** The Kafka connections a backend may use: connected when the backend gets them. */
export interface KafkaParts {
  admin: KafkaAdmin;
  publisher: Publisher;
  meta: MetaReporter;
}

/** What a backend gives the consumer: where each partition starts and what a batch does to the state. */
export interface ConsumerParts {
  checkpoint: Checkpoint;
  owner?: PartitionOwner;
  handle(batch: PartitionBatch): Promise<void>;
  /** Errors that waiting cannot cure (see FailurePolicy.isPermanent). */
  isPermanent?(e: unknown): boolean;
}

/** Where a consumer's state lives, and what it takes to keep it consistent with the committed offsets. */
export interface StateBackend<Result> {
  /** Before Kafka: load the saved state, or wait for the database and migrate it. */
  open(): Promise<void>;
  /** With Kafka connected: the consumer's checkpoint, owner and batch handler. */
  consumerParts(kafka: KafkaParts): Promise<ConsumerParts>;
  /** Started before the consumer: what runs every interval (snapshot + commit, or a hint commit). */
  startPeriodic(consumer: ServiceConsumer): void;
  /** Stops it and waits for a run in progress. */
  stopPeriodic(): Promise<void>;
  /** After consumer.beginStop(): makes the state final and commits its offsets (naming each step). */
  finish(consumer: ServiceConsumer): Promise<void>;
  /** After the consumer stopped: closes Kafka clients of its own (e.g. fenced writers). */
  closeKafka?(): Promise<void>;
  /** Last: closes the store (snapshot writer, database pool). Also after a failure, at any point. */
  close(): Promise<void>;
  /** The log line's tail once consuming (e.g. where the database is). */
  consumingNote?: string;
  /** The stop's steps as the deadline's log line names them. */
  steps: { beginStop: string; stopPeriodic: string; close: string };
  /** The advice for a state that does not belong to the topics (a recreated topic, another database). */
  mismatch(e: StateMismatchError): Error;
  /** The service's result, once stopped. */
  result(consumer: ServiceConsumer): Result;
}

export interface ConsumerServiceSpec {
  ctx: ConsumerServiceContext;
  /** Co-partitioned topics: partition p of each belongs to one instance at a time. */
  topics: string[];
  coPartitionedWith?: string[];
  coalesce?: CoalesceOptions;
  /** This instance's API base URL, advertised to the group (so the other instances can forward queries). */
  endpoint?: () => string | undefined;
  /** Told the consumer once it exists (before it starts): e.g. to ask which partitions it serves. */
  onConsumer?(consumer: ServiceConsumer): void;
}

/** How the service reaches Kafka; a test replaces it with fakes. */
export interface KafkaSide extends KafkaParts {
  /** Waits for the brokers, creates missing topics, connects the publisher and starts the meta reporter. */
  connect(): Promise<void>;
  consumer(opts: CheckpointedConsumerOptions): ServiceConsumer;
}

export function kafkaSide(ctx: ConsumerServiceContext): KafkaSide {
  const { config, logger, kafka } = ctx;
  const admin = kafka.admin();
  const publisher = new Publisher(kafka, {
    brokers: config.brokers as string[],
    logger,
    acks: config.acks as number,
    compression: config.compression as Compression,
    maxInFlight: 1,
    idempotent: (config.idempotent as boolean) && config.acks === -1,
    // No abort signal: a stop lets the batch in progress finish its publishes (the stop deadline ends a
    // stop that brokers hold up; a publish cut short is redone from the replay).
  });
  const meta = ctx.createMetaReporter(publisher.rawSink());
  return {
    admin,
    publisher,
    meta,
    connect: async () => {
      await connectAndEnsureTopics(admin, ctx);
      await publisher.connect();
      meta.start();
    },
    consumer: (opts) => new CheckpointedConsumer(opts),
  };
}

const isRefusal = (e: unknown): e is StateMismatchError | TopicLayoutError =>
  e instanceof StateMismatchError || e instanceof TopicLayoutError;

/**
 * Runs a consumer over `backend`: open the state, connect, consume until SIGTERM or a failure, then stop
 * fetching, let the backend make its state final and commit, and close everything. Prints the result as
 * `{ result }` on stdout (logs go to stderr) for the pipeline runner and benchmarks.
 */
export async function runConsumerService<Result>(
  spec: ConsumerServiceSpec,
  backend: StateBackend<Result>,
  side: (ctx: ConsumerServiceContext) => KafkaSide = kafkaSide,
): Promise<Result> {
  const { ctx } = spec;
  const { config, logger, signal } = ctx;
  let io: KafkaSide | undefined;
  let consumer: ServiceConsumer | undefined;
  // After a failure at any point: whatever is open is closed, and a close that fails hides nothing.
  const closeQuietly = async () => {
    await backend.stopPeriodic().catch(() => undefined);
    await io?.meta.close().catch(() => undefined);
    await consumer?.stop().catch(() => undefined);
    await backend.closeKafka?.().catch(() => undefined);
    await io?.publisher.disconnect().catch(() => undefined);
    await io?.admin.disconnect().catch(() => undefined);
    await backend.close().catch(() => undefined);
  };
  // A failure of the consumer, or a state that does not belong to the topics: exit 1 with what to do.
  const fail = async (e: Error): Promise<never> => {
    ctx.health.state = 'failed';
    // Exit 1 even if everything closes cleanly: runService's failure exit is on an unref'd timer, and with
    // nothing left open the process would end first, with 0.
    process.exitCode = 1;
    await closeQuietly();
    if (e instanceof TopicLayoutError) throw new Error(`${e.message}. Refusing to start.`);
    throw e instanceof StateMismatchError ? backend.mismatch(e) : e;
  };

  try {
    await backend.open();
    io = side(ctx);
    await io.connect();
    const parts = await backend.consumerParts(io);
    const c = io.consumer({
      kafka: ctx.kafka,
      admin: io.admin,
      brokers: config.brokers as string[],
      logger,
      meta: io.meta,
      signal,
      groupId: consumerGroupId(ctx),
      topics: spec.topics,
      owner: parts.owner,
      coPartitioned: [...spec.topics, ...(spec.coPartitionedWith ?? [])],
      checkpoint: parts.checkpoint,
      sessionTimeoutMs: config.sessionTimeoutMs as number,
      heartbeatIntervalMs: config.heartbeatIntervalMs as number,
      groupInstanceId: (config.groupInstanceId as string | undefined) || undefined,
      retryTimeoutMs: config.retryTimeoutMs as number,
      fetchMaxBytesPerPartition: config.fetchMaxBytesPerPartition as number,
      fetchMaxBytes: config.fetchMaxBytes as number,
      fetchMinBytes: config.fetchMinBytes as number,
      fetchMaxWaitMs: config.fetchMaxWaitMs as number,
      coalesce: spec.coalesce,
      isPermanent: parts.isPermanent,
      handle: parts.handle,
      endpoint: spec.endpoint,
    });
    consumer = c;
    spec.onConsumer?.(c);
    backend.startPeriodic(c);
    await c.start();
  } catch (e) {
    if (isRefusal(e)) await fail(e);
    await closeQuietly();
    throw e;
  }
  logger.info(`consuming ${spec.topics.join(', ')}${backend.consumingNote ?? ''}`);
  ctx.health.state = 'running';

  // A signal during start-up has fired already: an abort listener added now would never be called.
  const failure = signal.aborted
    ? undefined
    : await Promise.race([
        new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true })),
        consumer.failed,
      ]);
  if (failure) await fail(failure);

  ctx.health.state = 'stopping';
  try {
    await stop(ctx, backend, io, consumer);
  } catch (e) {
    await closeQuietly();
    throw e;
  }
  const result = backend.result(consumer);
  process.stdout.write(JSON.stringify({ result }) + '\n');
  return result;
}

/** The group of a service's consumers (GROUP_ID, or one per service). */
export function consumerGroupId(ctx: Pick<ConsumerServiceContext, 'config' | 'service'>): string {
  return (ctx.config.groupId as string | undefined) ?? `movie-stream.${ctx.service}`;
}

/**
 * The order matters: offsets are committed (in `finish`) only after the state that holds their effects is
 * durable, so a stop cut short at any step (the deadline, a kill) has committed nothing beyond the state.
 */
async function stop<R>(ctx: ConsumerServiceContext, backend: StateBackend<R>, io: KafkaSide, consumer: ServiceConsumer): Promise<void> {
  ctx.step(backend.steps.beginStop);
  await consumer.beginStop();
  ctx.step(backend.steps.stopPeriodic);
  await backend.stopPeriodic();
  await backend.finish(consumer);
  ctx.step('sending the last meta reports');
  await io.meta.close();
  ctx.step('leaving the consumer group');
  await consumer.stop();
  ctx.step('disconnecting from Kafka');
  await backend.closeKafka?.();
  await io.publisher.disconnect();
  await io.admin.disconnect();
  ctx.step(backend.steps.close);
  await backend.close();
}
