import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Pool } from 'pg';
import { connectDatabase, describeDatabase } from './connect';
import { ADMIN_URL, createTestDatabase, describeWithPostgres, memoryLogger, TestDatabase } from './test-postgres';

/** Polls until `cond` holds or `ms` passed (tests wait on conditions, never on fixed times). */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A TCP relay on `port` to the real server: "the database appears" when it starts listening. */
function startProxy(port: number, target: URL): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise<void>((r) => server.close(() => r()));
        },
      }),
    );
  });
}

describe('describeDatabase', () => {
  it('names host, port and database, never the password', () => {
    expect(describeDatabase('postgres://u:secret@db.example:6543/movies')).toBe('db.example:6543/movies');
    expect(describeDatabase('postgres://u@h/movies')).toBe('h:5432/movies');
    expect(describeDatabase('not a url')).toBe('(unparsable DATABASE_URL)');
  });
});

describeWithPostgres('connectDatabase against PostgreSQL', () => {
  let db: TestDatabase;
  const pools: Pool[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db.drop();
  });

  it('waits while nothing listens, logging where and why, and returns once the server appears', async () => {
    const port = await freePort();
    const url = new URL(db.url);
    url.host = `127.0.0.1:${port}`;
    const log = memoryLogger();
    let pool: Pool | undefined;
    const connecting = connectDatabase(url.toString(), log, undefined, { minBackoffMs: 20, maxBackoffMs: 100 }).then((p) => (pool = p));
    const waitingLine = `warn waiting for PostgreSQL at 127.0.0.1:${port}/${db.name}: `;
    expect(await until(() => log.lines.filter((l) => l.startsWith(waitingLine)).length >= 2, 30_000)).toBe(true);
    expect(log.lines[0]).toMatch(/ECONNREFUSED/);
    expect(pool).toBeUndefined();
    const proxy = await startProxy(port, new URL(ADMIN_URL));
    try {
      await connecting;
      pools.push(pool!);
      expect((await pool!.query<{ d: string }>('SELECT current_database() AS d')).rows[0]!.d).toBe(db.name);
      expect(log.lines.at(-1)).toMatch(
        new RegExp(`^info PostgreSQL at 127\\.0\\.0\\.1:${port}/${db.name} answers \\(after \\d+ attempts\\)$`),
      );
    } finally {
      await pool?.end();
      pools.pop();
      await proxy.close();
    }
  });

  it('ends the wait when the signal aborts, with its reason', async () => {
    const port = await freePort();
    const log = memoryLogger();
    const ac = new AbortController();
    const connecting = connectDatabase(`postgres://postgres@127.0.0.1:${port}/x`, log, ac.signal, { minBackoffMs: 20, maxBackoffMs: 50 });
    expect(await until(() => log.lines.length >= 1, 30_000)).toBe(true);
    ac.abort(new Error('SIGTERM received'));
    await expect(connecting).rejects.toThrow('SIGTERM received');
  });

  it('does not wait for what waiting cannot fix: an unknown database', async () => {
    const url = new URL(db.url);
    url.pathname = `/${db.name}_missing`;
    const log = memoryLogger();
    await expect(connectDatabase(url.toString(), log)).rejects.toThrow(
      `cannot use PostgreSQL at ${url.hostname}:${url.port || 5432}/${db.name}_missing: database "${db.name}_missing" does not exist`,
    );
    expect(log.lines).toEqual([]);
  });

  it('returns at once when the server is there', async () => {
    const log = memoryLogger();
    const pool = await connectDatabase(db.url, log, undefined, { poolSize: 2 });
    pools.push(pool);
    expect(pool.options.max).toBe(2);
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(log.lines).toEqual([]);
  });
});
