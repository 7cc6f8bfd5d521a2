import type { Pool } from '@movie-stream/movie-db';
import { DatabaseCheckpoint, isRetryableDbError, modeOf } from './database-consumer-service';

/** A pool whose consumer_offsets rows the test sets (loadOffsets is one SELECT over them). */
function fakePool(rows: { topic: string; partition: number; next_offset: string }[]) {
  const pool = {
    rows,
    query: async (_sql: string, [, topics]: [string, string[]]) => ({ rows: pool.rows.filter((r) => topics.includes(r.topic)) }),
  };
  return pool;
}

describe('DatabaseCheckpoint', () => {
  it('positions from the database; claim reloads those partitions, release forgets them; own batches move it forward only', async () => {
    const pool = fakePool([
      { topic: 'movies', partition: 0, next_offset: '10' },
      { topic: 'means', partition: 0, next_offset: '7' },
      { topic: 'means', partition: 1, next_offset: '3' },
      { topic: 'other', partition: 0, next_offset: '99' },
    ]);
    const cp = new DatabaseCheckpoint(pool as unknown as Pool, 'g', ['movies', 'means']);
    await cp.load();
    expect(cp.offsets()).toEqual({ movies: { '0': '10' }, means: { '0': '7', '1': '3' } });
    expect(cp.nextOffset('movies', 1)).toBeUndefined();

    cp.record('means', 1, '20');
    cp.record('means', 1, '15'); // never backwards
    await cp.advance('movies', 0, '12');
    expect(cp.offsets()).toEqual({ movies: { '0': '12' }, means: { '0': '7', '1': '20' } });

    // Another instance stored partition 0 further meanwhile; a claim of 0 takes that, 1 stays as it was.
    pool.rows = [
      { topic: 'movies', partition: 0, next_offset: '30' },
      { topic: 'means', partition: 1, next_offset: '5' },
    ];
    await cp.claim([0]);
    expect(cp.offsets()).toEqual({ movies: { '0': '30' }, means: { '1': '20' } });
    await cp.release([1]);
    expect(cp.offsets()).toEqual({ movies: { '0': '30' } });
  });
});

describe('modeOf', () => {
  it('takes an allowed value and names the setting and the choices otherwise', () => {
    expect(modeOf('postgres', 'SINK_STORE (--sink)', ['csv', 'postgres'])).toBe('postgres');
    expect(() => modeOf('mysql', 'SINK_STORE (--sink)', ['csv', 'postgres'])).toThrow(
      'SINK_STORE (--sink) must be one of csv, postgres (got "mysql")',
    );
  });
});

describe('isRetryableDbError', () => {
  it('retries what a server going away or a conflict looks like, nothing else', () => {
    for (const e of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('could not serialize access'), { code: '40001' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
    ])
      expect([e.message, isRetryableDbError(e)]).toEqual([e.message, true]);
    for (const e of [
      Object.assign(new Error('password authentication failed for user "x"'), { code: '28P01' }),
      Object.assign(new Error('relation "movie_data" does not exist'), { code: '42P01' }),
      new Error('sink batch movies[0]: movieId 0 is not an integer from 1 to 2147483647'),
    ])
      expect([e.message, isRetryableDbError(e)]).toEqual([e.message, false]);
  });
});
