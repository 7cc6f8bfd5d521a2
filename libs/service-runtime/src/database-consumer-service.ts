// The database mode of a consumer (--sink postgres, --state postgres): what it computed and where it stands
// in its topics go into PostgreSQL in one transaction per batch, so the database, not a snapshot file, is
// the state. Kafka's committed offsets are only a hint here (lag monitoring, the runner's drain check):
// they are committed after the transactions that hold them.
import { runConsumerService } from './consumer-service';
import type { DatabaseConsumerResult, DatabaseConsumerSpec } from './database-consumer-spec';
import { databaseStateBackend } from './database-state-backend';

export { DatabaseCheckpoint, isDatabaseError, isRetryableDbError } from './database-checkpoint';

/** A mode setting's value, or an Error that names the setting and the allowed values. */
export function modeOf<M extends string>(value: unknown, setting: string, allowed: readonly M[]): M {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as M;
  throw new Error(`${setting} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
}

/**
 * The life of a consumer in database mode: wait for PostgreSQL and migrate its schema, consume from the
 * offsets stored there, hand each partition batch to `handle` (one transaction with its offsets), retry a
 * batch while the database is away (consumption of that partition pauses; nothing is committed to Kafka
 * beyond what is stored), commit the stored offsets to Kafka as a hint, and on SIGTERM finish the batch in
 * progress, commit, leave the group (runConsumerService over the database backend).
 */
export async function runDatabaseConsumer(spec: DatabaseConsumerSpec): Promise<DatabaseConsumerResult> {
  return runConsumerService(spec, databaseStateBackend(spec));
}
