// Test support for this lib's tests against a real PostgreSQL (a lib may not import tools/test-support).
// Each test file makes databases of its own (movie_stream_test_<random>) and drops them; the server's own
// databases are used only to create and drop those. Where no server answers, the tests are skipped
// visibly, with the reason printed and in the block's name; in CI the server runs, so they run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The server the tests use; TEST_DATABASE_URL overrides (any database of it: only CREATE/DROP DATABASE runs there). */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why PostgreSQL is not usable, or undefined. Synchronous (a child process), because describe() is. */
function postgresMissing(): string | undefined {
  const probe = `const { Client } = require(${JSON.stringify(require.resolve('pg'))});
    const c = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 5000 });
    c.connect().then(() => c.query('SELECT 1')).then(() => process.exit(0), (e) => { process.stderr.write(String(e.message || e.code)); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', probe, ADMIN_URL], { encoding: 'utf8', timeout: 15_000 });
  if (r.status === 0) return undefined;
  const at = new URL(ADMIN_URL);
  return `no PostgreSQL at ${at.hostname}:${at.port || 5432} (${(r.stderr || r.error?.message || 'no answer').trim().split('\n')[0]}); start it or set TEST_DATABASE_URL`;
}

let missing: string | undefined | null = null;

export function describeWithPostgres(name: string, body: () => void): void {
  if (missing === null) missing = postgresMissing();
  if (!missing) {
    describe(name, body);
    return;
  }
  process.stderr.write(`skipped "${name}": ${missing}\n`);
  describe.skip(`${name} [skipped: ${missing}]`, body);
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** A new empty database of the test's own; drop() removes it (closing any connection still on it). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `movie_stream_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const drop = () =>
    admin(async (c) => {
      // Pool.end() resolves before the server has closed the connections; a forced drop meanwhile would
      // send their clients an error. So wait (on the condition, with a deadline) until they are gone.
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (await c.query('SELECT 1 FROM pg_stat_activity WHERE datname = $1', [name])).rowCount) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });
  return { name, url: url.toString(), drop };
}

/** A logger that keeps its lines, for asserting on them. */
export function memoryLogger(): { lines: string[]; info(m: string): void; warn(m: string): void; error(m: string): void } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
  };
}
