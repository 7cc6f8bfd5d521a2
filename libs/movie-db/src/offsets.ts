import type { PoolClient } from 'pg';

/** One partition's part of a batch: its records were [firstOffset, nextOffset). Offsets as Kafka gives them (decimal strings). */
export interface BatchOffsets {
  topic: string;
  partition: number;
  /** Offset of the batch's first record. */
  firstOffset: string;
  /** Offset after the batch's last record: where the consumer continues. */
  nextOffset: string;
}

/**
 * A batch that starts before the stored offset but ends after it: part of it is in the database already
 * and part is not. The store cannot take it apart (the deltas or rows are per movie, not per record), so
 * the caller drops the records below `storedNextOffset` and sends the rest (or seeks there and consumes again).
 */
export class OffsetOverlapError extends Error {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly storedNextOffset: string,
    readonly batch: BatchOffsets,
  ) {
    super(
      `batch ${topic}[${partition}] ${batch.firstOffset}..${batch.nextOffset} overlaps what the database holds (up to ${storedNextOffset}): send only the records from offset ${storedNextOffset} on`,
    );
  }
}

const OFFSET = /^\d{1,19}$/;

export function checkBatchOffsets(o: BatchOffsets, what: string): void {
  if (typeof o.topic !== 'string' || o.topic === '') throw new Error(`${what}: topic must be a non-empty string`);
  if (!Number.isInteger(o.partition) || o.partition < 0)
    throw new Error(`${what} ${o.topic}: partition ${o.partition} is not a non-negative integer`);
  for (const k of ['firstOffset', 'nextOffset'] as const) {
    if (typeof o[k] !== 'string' || !OFFSET.test(o[k]))
      throw new Error(`${what} ${o.topic}[${o.partition}]: ${k} ${JSON.stringify(o[k])} is not an offset`);
  }
  if (BigInt(o.firstOffset) >= BigInt(o.nextOffset)) {
    throw new Error(`${what} ${o.topic}[${o.partition}]: firstOffset ${o.firstOffset} is not below nextOffset ${o.nextOffset}`);
  }
}

export type OffsetVerdict = 'new' | 'replayed';

/**
 * Locks the group's offset rows of these partitions (in one order: topic, partition, so two transactions
 * never wait on each other crosswise) and says for each whether the batch is new (starts at or after the
 * stored offset: Kafka offsets have gaps, compaction and transaction markers) or a replay (ends at or
 * before it). A batch across the stored offset is an OffsetOverlapError.
 */
export async function lockAndCheckOffsets(client: PoolClient, groupId: string, batch: readonly BatchOffsets[]): Promise<OffsetVerdict[]> {
  const sorted = [...batch].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.topic === sorted[i - 1]!.topic && sorted[i]!.partition === sorted[i - 1]!.partition) {
      throw new Error(`batch names ${sorted[i]!.topic}[${sorted[i]!.partition}] twice`);
    }
  }
  const topics = sorted.map((o) => o.topic);
  const partitions = sorted.map((o) => o.partition);
  // FOR UPDATE locks only rows that exist; a partition's first batch has none, and two first batches of it
  // would both pass. So the rows are created first (a unique-key insert waits for a concurrent one).
  await client.query(
    `INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
     SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int[]) AS x(t, p) ORDER BY t, p
     ON CONFLICT DO NOTHING`,
    [groupId, topics, partitions],
  );
  const { rows } = await client.query<{ topic: string; partition: number; next_offset: string }>(
    `SELECT topic, partition, next_offset FROM consumer_offsets
     WHERE group_id = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))
     ORDER BY topic, partition FOR UPDATE`,
    [groupId, topics, partitions],
  );
  const stored = new Map(rows.map((r) => [`${r.topic}\u0000${r.partition}`, BigInt(r.next_offset)]));
  return batch.map((o) => {
    const s = stored.get(`${o.topic}\u0000${o.partition}`) ?? 0n;
    if (BigInt(o.nextOffset) <= s) return 'replayed';
    if (BigInt(o.firstOffset) >= s) return 'new';
    throw new OffsetOverlapError(o.topic, o.partition, s.toString(), o);
  });
}

export async function storeOffsets(client: PoolClient, groupId: string, batch: readonly BatchOffsets[]): Promise<void> {
  await client.query(
    `UPDATE consumer_offsets o SET next_offset = x.n, updated_at = now()
     FROM unnest($2::text[], $3::int[], $4::bigint[]) AS x(t, p, n)
     WHERE o.group_id = $1 AND o.topic = x.t AND o.partition = x.p`,
    [groupId, batch.map((o) => o.topic), batch.map((o) => o.partition), batch.map((o) => o.nextOffset)],
  );
}

/**
 * A client of `pool` for a few statements, with an 'error' listener while it is checked out: node-postgres
 * emits 'error' on a checked-out client whose connection is lost (server stopped, network cut), and the
 * pool listens only on idle ones, so without this the process dies of an unhandled 'error' event instead
 * of the query failing. `lost()` says whether that happened (release the client as broken then).
 */
export async function checkOut(pool: import('pg').Pool): Promise<{ client: PoolClient; lost(): boolean; release(broken: boolean): void }> {
  const client = await pool.connect();
  let lost = false;
  const onError = () => (lost = true);
  client.on('error', onError);
  return {
    client,
    lost: () => lost,
    release: (broken) => {
      client.removeListener('error', onError);
      client.release(broken || lost);
    },
  };
}

/** Runs `work` in one transaction on one connection: COMMIT when it returns, ROLLBACK when it throws. */
export async function inTransaction<T>(pool: import('pg').Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const { client, release } = await checkOut(pool);
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw e;
  } finally {
    release(broken);
  }
}
