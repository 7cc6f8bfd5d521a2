// Creating and dropping a whole database: for `npm start` (its default database is created on first use)
// and for tests and benchmarks, which use databases of their own. Done over the server's "postgres"
// database, as CREATE/DROP DATABASE cannot run inside the database concerned.
import { Client } from 'pg';

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function split(url: string): { admin: string; name: string } {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!NAME.test(name)) throw new Error(`database name ${JSON.stringify(name)} must be lower-case letters, digits and _ (at most 63)`);
  u.pathname = '/postgres';
  return { admin: u.toString(), name };
}

async function onServer<T>(adminUrl: string, work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** Creates the database `url` names unless it exists; true when it was created. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const { admin, name } = split(url);
  return onServer(admin, async (c) => {
    if ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount) return false;
    try {
      await c.query(`CREATE DATABASE ${name}`);
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === '42P04') return false; // created meanwhile by another process
      throw e;
    }
  });
}

/** Drops the database `url` names (closing connections still on it); nothing when it does not exist. */
export async function dropDatabase(url: string): Promise<void> {
  const { admin, name } = split(url);
  await onServer(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/**
 * Empties the pipeline's tables (movie_data, movie_ratings_state, consumer_offsets) if they exist: a new
 * run on fresh topics must not join the previous run's rows (npm start deletes its previous CSV outputs too).
 */
export async function emptyTables(url: string): Promise<void> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    const { rows } = await c.query<{ t: string }>(
      `SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY($1::text[])`,
      [['movie_data', 'movie_ratings_state', 'consumer_offsets']],
    );
    if (rows.length) await c.query(`TRUNCATE ${rows.map((r) => r.t).join(', ')}`);
  } finally {
    await c.end();
  }
}
