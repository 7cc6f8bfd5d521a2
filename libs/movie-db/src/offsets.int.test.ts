import { Pool } from 'pg';
import { inTransaction } from './offsets';
import { createTestDatabase, describeWithPostgres, TestDatabase } from './test-postgres';

describeWithPostgres('a transaction whose connection is lost', () => {
  let db: TestDatabase;
  let pool: Pool;
  let killer: Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 2 });
    // The pool's own idle-client errors are expected here (the killed backend); keep them off the console.
    pool.on('error', () => undefined);
    killer = new Pool({ connectionString: db.url, max: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await killer?.end();
    await db?.drop();
  });

  // The server ends the connection (as on `pg_ctl stop -m immediate` or a network cut) while the client is
  // checked out and between statements: node-postgres emits 'error' on it, which used to be unhandled and
  // end the process. Now the transaction fails with the connection error and the pool goes on.
  for (const during of ['between statements', 'during a statement'] as const) {
    it(`fails the transaction, not the process (lost ${during})`, async () => {
      const attempt = inTransaction(pool, async (client) => {
        const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        if (during === 'between statements') {
          await killer.query('SELECT pg_terminate_backend($1, 10000)', [pid]);
          await client.query('SELECT 1');
        } else {
          const slow = client.query('SELECT pg_sleep(30)');
          await killer.query('SELECT pg_terminate_backend($1, 10000)', [pid]);
          await slow;
        }
        return 'committed';
      });
      await expect(attempt).rejects.toThrow(/terminat|not queryable|connection/i);
      // The broken connection left the pool; a new one works.
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    });
  }
});
