// The one door to PostgreSQL (only this lib imports `pg`, enforced by eslint): the pool, the schema's
// migrations, the exactly-once batch writes with their offsets, the live queries and their change feed.
export { connectDatabase, describeDatabase, isTransientConnectError, type ConnectOptions, type DbLogger, type Pool } from './connect';
export { migrate, SchemaError, type MigrateResult } from './migrate';
export { dropDatabase, emptyTables, ensureDatabase } from './admin';
export type { Migration } from './migration-files';
export { MIGRATIONS } from './migrations.generated';
export { OffsetOverlapError, type BatchOffsets } from './offsets';
export {
  applyRatingsBatch,
  applySinkBatch,
  getRatingsState,
  loadOffsets,
  loadResumeOffsets,
  type BatchResult,
  type RatingsBatch,
  type RatingsBatchResult,
  type SinkBatch,
  type SinkMean,
  type SinkMovie,
  type StoredOffsets,
} from './batches';
export { pgMovieQueries, readMovieDataTable, type MovieDataExport, type PgMovieQueriesOptions } from './queries';
export {
  MOVIE_CHANGES_APPLICATION_NAME,
  MOVIE_CHANGES_CHANNEL,
  pgMovieChanges,
  type PgMovieChanges,
  type PgMovieChangesOptions,
} from './changes';
