// What a consumer in database mode (runDatabaseConsumer, database-consumer-service.ts) is given and returns.
// A module of its own so that the database backend (database-state-backend.ts) uses these types without
// importing database-consumer-service.ts, which imports it.
import type { CoalesceOptions, PartitionBatch, Publisher } from '@movie-stream/messaging';
import type { BatchResult, Pool } from '@movie-stream/movie-db';
import type { ServiceContext } from './run-service';
import { STATEFUL_CONSUMER_OPTIONS } from './stateful-consumer-spec';

/** The options of a consumer that can run in either mode (file or database). */
export const DATABASE_CONSUMER_OPTIONS = [...STATEFUL_CONSUMER_OPTIONS, 'databaseUrl', 'databasePasswordFile', 'databasePoolSize'] as const;
export type DatabaseConsumerOption = (typeof DATABASE_CONSUMER_OPTIONS)[number];

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
