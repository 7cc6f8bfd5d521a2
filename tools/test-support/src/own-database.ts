import { randomBytes } from 'node:crypto';
import { connectDatabase, dropDatabase, ensureDatabase, loadOffsets, type Pool } from '@movie-stream/movie-db';
import type { Teardown } from './teardown';

/** The PostgreSQL server tests create their databases on. */
export const TEST_DATABASE_SERVER = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

/** A logger for the tests' own connections: the services' logs are what the tests read. */
export const quietLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A new database of the test's own (a random name, so tests sharing the server never meet) and a pool on
 * it; both closed and dropped after the file's tests.
 */
export async function ownDatabase(teardown: Teardown, poolSize = 2): Promise<{ url: string; name: string; db: Pool }> {
  const u = new URL(TEST_DATABASE_SERVER.toString());
  const name = `movie_stream_fault_${randomBytes(5).toString('hex')}`;
  u.pathname = `/${name}`;
  const url = u.toString();
  await ensureDatabase(url);
  const db = await connectDatabase(url, quietLogger, undefined, { poolSize });
  teardown.add(async () => {
    await db.end();
    await dropDatabase(url);
  });
  return { url, name, db };
}

/**
 * The sum of a group's offsets stored in the database for `topics` (how far its batches are stored); 0 until the
 * service has created its tables (a test may ask before the service migrated the schema).
 */
export async function storedProgress(db: Pool, group: string, topics: string | readonly string[]): Promise<bigint> {
  try {
    const o = await loadOffsets(db, group, typeof topics === 'string' ? [topics] : topics);
    return Object.values(o)
      .flatMap((parts) => Object.values(parts))
      .reduce((s, n) => s + BigInt(n), 0n);
  } catch (e) {
    if ((e as { code?: string }).code === '42P01') return 0n; // undefined_table
    throw e;
  }
}
