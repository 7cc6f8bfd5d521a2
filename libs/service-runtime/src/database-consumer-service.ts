// The database mode of a consumer (--sink postgres, --state postgres): what it computed and where it stands
// in its topics go into PostgreSQL in one transaction per batch, so the database, not a snapshot file, is
// the state. Kafka's committed offsets are only a hint here (lag monitoring, the runner's drain check):
// they are committed after the transactions that hold them.
import {
  Checkpoint,
  CheckpointedConsumer,
  CoalesceOptions,
  Compression,
  PartitionBatch,
  PartitionOwner,
  Publisher,
  sleep,
  StateMismatchError,
  TopicLayoutError,
} from '@movie-stream/messaging';
import {
  BatchResult,
  connectDatabase,
  describeDatabase,
  isTransientConnectError,
  loadOffsets,
  migrate,
  OffsetOverlapError,
  type Pool,
} from '@movie-stream/movie-db';
import { connectAndEnsureTopics } from './kafka-setup';
import type { ServiceContext } from './run-service';
import { STATEFUL_CONSUMER_OPTIONS } from './stateful-consumer-service';

/** The options of a consumer that can run in either mode (file or database). */
export const DATABASE_CONSUMER_OPTIONS = [...STATEFUL_CONSUMER_OPTIONS, 'databaseUrl', 'databasePoolSize'] as const;
export type DatabaseConsumerOption = (typeof DATABASE_CONSUMER_OPTIONS)[number];

/** A mode setting's value, or an Error that names the setting and the allowed values. */
export function modeOf<M extends string>(value: unknown, setting: string, allowed: readonly M[]): M {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as M;
  throw new Error(`${setting} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
}

/** A batch as the database handler gets it: the records not yet stored, with the first one's offset. */
export interface DatabaseBatch extends PartitionBatch {
  firstOffset: string;
}

export interface DatabaseConsumerSpec {
  ctx: ServiceContext<DatabaseConsumerOption>;
  /** Co-partitioned topics: partition p of each belongs to one instance at a time. */
  topics: string[];
  coPartitionedWith?: string[];
  /**
   * Stores one partition's batch together with its offsets in ONE transaction (applySinkBatch,
   * applyRatingsBatch) and does what follows the commit (a publish). Transient database errors are retried
   * here by the runner, so it must be safe to call again with the same batch: the offsets in the
   * transaction make a second call a "replayed" no-op.
   */
  handle(batch: DatabaseBatch, db: Pool, groupId: string, publisher: Publisher): Promise<BatchResult>;
  /** Once the database is ready, before consuming (e.g. mount the API on it). */
  ready?(db: Pool): void;
  /** Hand `handle` consecutive batches of a partition merged (see CheckpointedConsumerOptions.coalesce); off when absent. */
  coalesce?: CoalesceOptions;
}

export interface DatabaseConsumerResult {
  /** Batch transactions committed (applied) and found stored already (replayed). */
  transactions: number;
  replayed: number;
  /** Times a batch waited for the database. */
  retries: number;
  skippedReplays: number;
}

/** Errors after which the same transaction can simply be tried again: the server went away or is busy. */
export function isRetryableDbError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (isTransientConnectError(e)) return true;
  // 08xxx connection exceptions, 40001 serialization failure, 40P01 deadlock, 57P0x shutdown/crash.
  if (err.code && (/^08/.test(err.code) || ['40001', '40P01', '57P01', '57P02', '57P03'].includes(err.code))) return true;
  return /Connection terminated|Client has encountered a connection error|terminating connection|server closed the connection/i.test(
    err.message ?? '',
  );
}

/**
 * Where each partition continues, as the database says: loaded at start, loaded again for a partition
 * the group assigns (another instance may have written it meanwhile), forgotten for one it takes away,
 * and moved along by this process's own committed batches.
 */
export class DatabaseCheckpoint implements Checkpoint, PartitionOwner {
  private readonly next = new Map<string, string>();

  constructor(
    private readonly db: Pool,
    private readonly groupId: string,
    private readonly topics: string[],
  ) {}

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /** Loads the stored offsets of `partitions` (all when undefined), replacing what was known of them. */
  async load(partitions?: number[]): Promise<void> {
    const stored = await loadOffsets(this.db, this.groupId, this.topics);
    for (const topic of this.topics) {
      for (const key of [...this.next.keys()]) {
        const [t, p] = key.split('\u0000');
        if (t === topic && (!partitions || partitions.includes(Number(p)))) this.next.delete(key);
      }
      for (const [p, offset] of Object.entries(stored[topic] ?? {})) {
        if (!partitions || partitions.includes(Number(p))) this.next.set(DatabaseCheckpoint.key(topic, Number(p)), offset);
      }
    }
  }

  nextOffset(topic: string, partition: number): string | undefined {
    return this.next.get(DatabaseCheckpoint.key(topic, partition));
  }

  /** A batch ending before `next` is stored (by this process or, for a replay, an earlier one). Never backwards. */
  record(topic: string, partition: number, next: string): void {
    const key = DatabaseCheckpoint.key(topic, partition);
    const cur = this.next.get(key);
    if (cur === undefined || BigInt(next) > BigInt(cur)) this.next.set(key, next);
  }

  /** Past transaction markers: kept in memory only (after a restart they are read again and hold nothing). */
  async advance(topic: string, partition: number, next: string): Promise<void> {
    this.record(topic, partition, next);
  }

  /** The offsets as Kafka takes them, for the hint commit. */
  offsets(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [key, offset] of this.next) {
      const [t, p] = key.split('\u0000') as [string, string];
      (out[t] ??= {})[p] = offset;
    }
    return out;
  }

  claim(partitions: number[]): Promise<void> {
    return this.load(partitions);
  }

  async release(partitions: number[]): Promise<void> {
    for (const key of [...this.next.keys()]) if (partitions.includes(Number(key.split('\u0000')[1]))) this.next.delete(key);
  }
}

/**
 * The life of a consumer in database mode: wait for PostgreSQL and migrate its schema, consume from the
 * offsets stored there, hand each partition batch to `handle` (one transaction with its offsets), retry a
 * batch while the database is away (consumption of that partition pauses; nothing is committed to Kafka
 * beyond what is stored), commit the stored offsets to Kafka as a hint, and on SIGTERM finish the batch in
 * progress, commit, leave the group.
 */
export async function runDatabaseConsumer(spec: DatabaseConsumerSpec): Promise<DatabaseConsumerResult> {
  const { ctx } = spec;
  const { config, logger, kafka, signal } = ctx;
  const url = config.databaseUrl as string | undefined;
  if (!url)
    throw new Error(
      `${ctx.service}: the postgres mode needs DATABASE_URL (or --database-url), e.g. postgres://postgres@127.0.0.1:5432/movie_stream`,
    );
  if (config.resetState) {
    throw new Error(
      `${ctx.service}: --reset-state deletes the file state; in the postgres mode the state is the database at ${describeDatabase(url)}: drop its tables (or use another database) to rebuild`,
    );
  }
  const where = describeDatabase(url);
  const brokers = config.brokers as string[];
  const groupId = (config.groupId as string | undefined) ?? `movie-stream.${ctx.service}`;
  ctx.step(`waiting for PostgreSQL at ${where}`);
  const db = await connectDatabase(url, logger, signal, { poolSize: config.databasePoolSize as number });
  const result: DatabaseConsumerResult = { transactions: 0, replayed: 0, retries: 0, skippedReplays: 0 };
  const admin = kafka.admin();
  const publisher = new Publisher(kafka, {
    brokers,
    logger,
    acks: config.acks as number,
    compression: config.compression as Compression,
    maxInFlight: 1,
    idempotent: (config.idempotent as boolean) && config.acks === -1,
    // No abort signal, as in the file mode: a stop lets the batch in progress finish its publishes (the
    // stop deadline ends a stop that brokers hold up; a publish cut short is redone from the replay).
  });
  let consumer: CheckpointedConsumer | undefined;
  let commitTimer: NodeJS.Timeout | undefined;
  const meta = ctx.createMetaReporter(publisher.rawSink());
  const closeAll = async () => {
    if (commitTimer) clearInterval(commitTimer);
    await meta.close().catch(() => undefined);
    await consumer?.stop().catch(() => undefined);
    await publisher.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await db.end().catch(() => undefined);
  };
  try {
    const migrated = await migrate(db, logger);
    logger.info(`PostgreSQL at ${where}: schema version ${JSON.stringify(migrated)}`);
    await connectAndEnsureTopics(admin, ctx);
    await publisher.connect();
    meta.start();
    const checkpoint = new DatabaseCheckpoint(db, groupId, spec.topics);
    await checkpoint.load();

    const store = async (batch: PartitionBatch): Promise<void> => {
      let messages = batch.messages;
      let backoff = 250;
      for (;;) {
        const firstOffset = messages[0]!.offset;
        try {
          const r = await spec.handle({ ...batch, messages, firstOffset }, db, groupId, publisher);
          result.transactions++;
          if (r.status === 'replayed') result.replayed++;
          if (backoff > 250) logger.info(`PostgreSQL at ${where} is back: batch ${batch.topic}:${batch.partition} stored`);
          ctx.health.database = 'ok';
          checkpoint.record(batch.topic, batch.partition, batch.nextOffset);
          return;
        } catch (e) {
          if (e instanceof OffsetOverlapError) {
            // The database holds the batch's start already (another instance, or a commit whose answer was lost).
            const from = BigInt(e.storedNextOffset);
            logger.warn(
              `${batch.topic}:${batch.partition}: the database holds up to ${e.storedNextOffset}: storing only the records from there`,
            );
            messages = messages.filter((m) => BigInt(m.offset) >= from);
            checkpoint.record(batch.topic, batch.partition, e.storedNextOffset);
            if (messages.length === 0) return;
            continue;
          }
          if (!isRetryableDbError(e)) throw e;
          if (signal.aborted) {
            // Stopping: the batch stays unstored, so its offsets are not committed anywhere; the next start reads it again.
            logger.warn(
              `${batch.topic}:${batch.partition}: batch ${firstOffset}..${batch.nextOffset} not stored (stopping while PostgreSQL is away)`,
            );
            return;
          }
          result.retries++;
          ctx.health.database = `waiting: ${(e as Error).message}`;
          logger.warn(
            `waiting for PostgreSQL at ${where}: batch ${batch.topic}:${batch.partition} ${firstOffset}..${batch.nextOffset} not stored: ${(e as Error).message || (e as { code?: string }).code} (retry in ${backoff} ms)`,
          );
          await sleep(backoff, signal).catch(() => undefined);
          backoff = Math.min(5_000, backoff * 2);
        }
      }
    };

    consumer = new CheckpointedConsumer({
      kafka,
      admin,
      brokers,
      logger,
      meta,
      signal,
      groupId,
      topics: spec.topics,
      owner: checkpoint,
      coPartitioned: [...spec.topics, ...(spec.coPartitionedWith ?? [])],
      checkpoint,
      sessionTimeoutMs: config.sessionTimeoutMs as number,
      fetchMaxBytesPerPartition: config.fetchMaxBytesPerPartition as number,
      fetchMaxBytes: config.fetchMaxBytes as number,
      fetchMinBytes: config.fetchMinBytes as number,
      fetchMaxWaitMs: config.fetchMaxWaitMs as number,
      coalesce: spec.coalesce,
      handle: store,
    });
    spec.ready?.(db);
    try {
      await consumer.start();
    } catch (e) {
      if (e instanceof StateMismatchError) {
        throw new Error(
          `${e.message}. The offsets in ${where} belong to other topics: point the service at another database or drop its tables`,
        );
      }
      throw e;
    }
    logger.info(`consuming ${spec.topics.join(', ')}; state in PostgreSQL at ${where}`);
    ctx.health.state = 'running';
    ctx.health.database = 'ok';
    const c = consumer;
    commitTimer = setInterval(() => void c.commit(checkpoint.offsets()), config.snapshotIntervalMs as number);
    const failure = signal.aborted
      ? undefined
      : await Promise.race([
          new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true })),
          consumer.failed,
        ]);
    if (failure) {
      ctx.health.state = 'failed';
      process.exitCode = 1;
      if (failure instanceof TopicLayoutError) throw new Error(`${failure.message}. Refusing to start.`);
      throw failure;
    }
    ctx.health.state = 'stopping';
    ctx.step('waiting for the batch in progress and storing the held (coalesced) ones (their transactions and publishes)');
    await consumer.pause();
    clearInterval(commitTimer);
    ctx.step('committing the stored offsets to Kafka');
    await consumer.commit(checkpoint.offsets());
    result.skippedReplays = consumer.skippedReplays;
    ctx.step('sending the last meta reports');
  } finally {
    ctx.step('closing Kafka and PostgreSQL connections');
    await closeAll();
  }
  process.stdout.write(JSON.stringify({ result }) + '\n');
  return result;
}
