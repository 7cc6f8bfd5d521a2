// The database mode's state: PostgreSQL, one transaction per batch with its offsets. Kafka's committed
// offsets are only a hint (lag monitoring, the runner's drain check), committed after the transactions
// that hold them.
import { PartitionBatch, sleep, StateMismatchError } from '@movie-stream/messaging';
import { connectDatabase, describeDatabase, migrate, OffsetOverlapError, type Pool } from '@movie-stream/movie-db';
import { consumerGroupId, StateBackend } from './consumer-service';
import { DatabaseCheckpoint, isDatabaseError, isRetryableDbError } from './database-checkpoint';
import type { DatabaseConsumerResult, DatabaseConsumerSpec } from './database-consumer-spec';

export function databaseStateBackend(spec: DatabaseConsumerSpec): StateBackend<DatabaseConsumerResult> {
  const { ctx } = spec;
  const { config, logger, signal } = ctx;
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
  const groupId = consumerGroupId(ctx);
  const result: DatabaseConsumerResult = { transactions: 0, replayed: 0, retries: 0, skippedReplays: 0 };
  let db: Pool | undefined;
  let checkpoint: DatabaseCheckpoint | undefined;
  let commitTimer: NodeJS.Timeout | undefined;

  return {
    steps: {
      beginStop: 'waiting for the batch in progress and storing the held (coalesced) ones (their transactions and publishes)',
      stopPeriodic: 'stopping the periodic commits',
      close: 'closing the PostgreSQL connections',
    },
    consumingNote: `; state in PostgreSQL at ${where}`,

    async open() {
      ctx.step(`waiting for PostgreSQL at ${where}`);
      db = await connectDatabase(url, logger, signal, { poolSize: config.databasePoolSize as number });
      const migrated = await migrate(db, logger);
      logger.info(`PostgreSQL at ${where}: schema version ${JSON.stringify(migrated)}`);
    },

    async consumerParts({ publisher }) {
      const pool = db!;
      const cp = new DatabaseCheckpoint(pool, groupId, spec.topics);
      checkpoint = cp;
      await cp.load();

      const store = async (batch: PartitionBatch): Promise<void> => {
        let messages = batch.messages;
        let backoff = 250;
        for (;;) {
          const firstOffset = messages[0]!.offset;
          try {
            const r = await spec.handle({ ...batch, messages, firstOffset }, pool, groupId, publisher);
            result.transactions++;
            if (r.status === 'replayed') result.replayed++;
            if (backoff > 250) logger.info(`PostgreSQL at ${where} is back: batch ${batch.topic}:${batch.partition} stored`);
            ctx.health.database = 'ok';
            cp.record(batch.topic, batch.partition, batch.nextOffset);
            return;
          } catch (e) {
            if (e instanceof OffsetOverlapError) {
              // The database holds the batch's start already (another instance, a commit whose answer was lost,
              // or the processor reading again from its published offset). That part goes to `handle` on its own,
              // as the replay it is: the processor publishes its movies' current rows again, the sink does nothing.
              // A failure there fails the batch, which is then read again (the checkpoint has not moved).
              const from = BigInt(e.storedNextOffset);
              logger.info(
                `${batch.topic}:${batch.partition}: the database holds up to ${e.storedNextOffset}: the records before it handled as a replay, the rest stored`,
              );
              const stored = messages.filter((m) => BigInt(m.offset) < from);
              if (stored.length) {
                const replay = { ...batch, messages: stored, firstOffset: stored[0]!.offset, nextOffset: e.storedNextOffset };
                await spec.handle(replay, pool, groupId, publisher);
              }
              messages = messages.filter((m) => BigInt(m.offset) >= from);
              cp.record(batch.topic, batch.partition, e.storedNextOffset);
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

      spec.ready?.(pool);
      ctx.health.database = 'ok';
      return {
        checkpoint: cp,
        owner: cp,
        handle: store,
        // A database error that waiting cannot cure (permission, read-only, disk full, a constraint) ends the
        // service; the ones waiting can cure are retried in store() until PostgreSQL is back.
        isPermanent: (e) => isDatabaseError(e) && !isRetryableDbError(e),
      };
    },

    // Commits that fall on partitions not consumed yet (before the first claims) are skipped by the consumer.
    startPeriodic(consumer) {
      commitTimer = setInterval(() => void consumer.commit(checkpoint!.offsets()), config.snapshotIntervalMs as number);
    },

    async stopPeriodic() {
      if (commitTimer) clearInterval(commitTimer);
    },

    async finish(consumer) {
      ctx.step('committing the stored offsets to Kafka');
      await consumer.commit(checkpoint!.offsets());
    },

    // Nothing to lose by ignoring it: every batch's transaction is committed or rolled back by now.
    close: async () => void (await db?.end().catch(() => undefined)),

    mismatch: (e: StateMismatchError) =>
      new Error(`${e.message}. The offsets in ${where} belong to other topics: point the service at another database or drop its tables`),

    result: (consumer) => ({ ...result, skippedReplays: consumer.skippedReplays }),
  };
}
