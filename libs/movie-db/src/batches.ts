// The two ways a service writes a batch, each one transaction with the batch's offsets: what is in the
// database and where the consumer stands can never disagree, so a restarted consumer continues from
// loadOffsets and nothing is applied twice or lost. A commit whose outcome the caller never learned (the
// connection dropped during COMMIT) is safe to retry: the offsets then say "replayed".
import type { Pool } from 'pg';
import { changePayloads, MOVIE_CHANGES_CHANNEL } from './changes';
import { BatchOffsets, checkBatchOffsets, inTransaction, lockAndCheckOffsets, storeOffsets } from './offsets';

const MAX_ID = 2 ** 31 - 1;

function checkMovieId(id: unknown, what: string): number {
  if (!Number.isInteger(id) || (id as number) < 1 || (id as number) > MAX_ID)
    throw new Error(`${what}: movieId ${String(id)} is not an integer from 1 to ${MAX_ID}`);
  return id as number;
}

function checkSumCount(sum: unknown, count: unknown, what: string): void {
  if (typeof sum !== 'number' || !Number.isFinite(sum)) throw new Error(`${what}: sum ${String(sum)} is not a finite number`);
  if (!Number.isSafeInteger(count) || (count as number) < 1) throw new Error(`${what}: count ${String(count)} is not a positive integer`);
}

/** Offsets as Kafka names them: topic → partition → next offset. */
export type StoredOffsets = Record<string, Record<string, string>>;

/**
 * Where a consumer of the group resumes: the stored offset, or for a group that publishes what it stores
 * (the processor: applyRatingsBatch's publishedOffset) the published offset when that is behind. The
 * batches in between are then read again; the database finds them stored ("replayed", OffsetOverlapError)
 * and the processor publishes their movies' current rows again, which a crash between its commit and its
 * publish would otherwise have lost for good. Only partitions the group has written; absent = start where
 * Kafka says.
 */
export async function loadResumeOffsets(pool: Pool, groupId: string, topics: readonly string[]): Promise<StoredOffsets> {
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: string }>(
    `SELECT topic, partition, COALESCE(published_offset, next_offset) AS next_offset FROM consumer_offsets
     WHERE group_id = $1 AND topic = ANY($2::text[]) ORDER BY topic, partition`,
    [groupId, topics],
  );
  const out: StoredOffsets = Object.fromEntries(topics.map((t) => [t, {}]));
  for (const r of rows) out[r.topic]![String(r.partition)] = r.next_offset;
  return out;
}

/** Where the group stands on these topics (only partitions it has written; absent = start where Kafka says). */
export async function loadOffsets(pool: Pool, groupId: string, topics: readonly string[]): Promise<StoredOffsets> {
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: string }>(
    'SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = ANY($2::text[]) ORDER BY topic, partition',
    [groupId, topics],
  );
  const out: StoredOffsets = Object.fromEntries(topics.map((t) => [t, {}]));
  for (const r of rows) out[r.topic]![String(r.partition)] = r.next_offset;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The sink: movies (latest wins) and absolute means (highest count wins) into movie_data.

export interface SinkMovie {
  movieId: number;
  title: string;
  /** [] = MovieLens' "(no genres listed)". */
  genres: string[];
}

export interface SinkMean {
  movieId: number;
  sum: number;
  count: number;
}

export interface SinkBatch {
  groupId: string;
  /** In the order consumed: of two updates of one movie in a batch the later wins. */
  movies: SinkMovie[];
  means: SinkMean[];
  /** Every partition the batch's records came from, with the records' offset range. */
  offsets: BatchOffsets[];
}

export interface BatchResult {
  /** replayed: every partition's records were already stored; nothing was changed. */
  status: 'applied' | 'replayed';
  /** movie_data / movie_ratings_state rows inserted or changed. */
  rowsChanged: number;
}

/**
 * Applies a sink batch in one transaction: upserts the movies, takes a mean only when its count is higher
 * than the stored one (replayed or reordered updates cannot make a row go back), and stores the offsets.
 * A batch whose every partition is at or below the stored offsets is a replay and changes nothing; one
 * that is new for some partitions and a replay for others, or straddles a stored offset, is refused
 * (OffsetOverlapError / Error): the caller's records and the database disagree about where it stands.
 *
 * Several sinks may write to one database: every row is written by one statement in movie-id order, and
 * offset rows are locked in (topic, partition) order, so two transactions never wait on each other crosswise.
 * The ids of the rows it changed are notified on MOVIE_CHANGES_CHANNEL with the commit (pgMovieChanges).
 */
export async function applySinkBatch(pool: Pool, batch: SinkBatch): Promise<BatchResult> {
  if (!batch.offsets.length) throw new Error('sink batch has no offsets: without them it could be applied twice');
  batch.offsets.forEach((o, i) => checkBatchOffsets(o, `sink batch offsets[${i}]`));
  // One input row per movie: the last movie of the batch, the mean with the highest count.
  const rows = new Map<number, { title: string | null; genres: string | null; sum: number | null; count: number | null }>();
  const row = (id: number) => rows.get(id) ?? rows.set(id, { title: null, genres: null, sum: null, count: null }).get(id)!;
  batch.movies.forEach((m, i) => {
    const what = `sink batch movies[${i}]`;
    checkMovieId(m.movieId, what);
    if (typeof m.title !== 'string') throw new Error(`${what} (movie ${m.movieId}): title is not a string`);
    if (!Array.isArray(m.genres) || m.genres.some((g) => typeof g !== 'string' || g === '')) {
      throw new Error(`${what} (movie ${m.movieId}): genres must be a list of non-empty strings`);
    }
    Object.assign(row(m.movieId), { title: m.title, genres: JSON.stringify(m.genres) });
  });
  batch.means.forEach((m, i) => {
    const what = `sink batch means[${i}]`;
    checkMovieId(m.movieId, what);
    checkSumCount(m.sum, m.count, `${what} (movie ${m.movieId})`);
    const r = row(m.movieId);
    if (r.count === null || m.count > r.count) Object.assign(r, { sum: m.sum, count: m.count });
  });
  const ids = [...rows.keys()].sort((a, b) => a - b);
  const cols = ids.map((id) => rows.get(id)!);
  return inTransaction(pool, async (client) => {
    const verdicts = await lockAndCheckOffsets(client, batch.groupId, batch.offsets);
    if (verdicts.every((v) => v === 'replayed')) return { status: 'replayed', rowsChanged: 0 };
    if (verdicts.some((v) => v === 'replayed')) {
      const mixed = batch.offsets.map((o, i) => `${o.topic}[${o.partition}] ${o.firstOffset}..${o.nextOffset}: ${verdicts[i]}`);
      throw new Error(
        `sink batch is new for some partitions and already stored for others (${mixed.join('; ')}): send only the new partitions' records`,
      );
    }
    const res = ids.length
      ? await client.query<{ movie_id: number }>(
          `INSERT INTO movie_data AS d (movie_id, title, genres, rating_sum, rating_count)
           SELECT id, t, CASE WHEN g IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(g::jsonb)) END, COALESCE(s, 0), COALESCE(c, 0)
           FROM unnest($1::int[], $2::text[], $3::text[], $4::float8[], $5::bigint[]) AS x(id, t, g, s, c)
           ORDER BY id
           ON CONFLICT (movie_id) DO UPDATE SET
             title = COALESCE(EXCLUDED.title, d.title),
             genres = CASE WHEN EXCLUDED.title IS NULL THEN d.genres ELSE EXCLUDED.genres END,
             rating_sum = CASE WHEN EXCLUDED.rating_count > d.rating_count THEN EXCLUDED.rating_sum ELSE d.rating_sum END,
             rating_count = GREATEST(EXCLUDED.rating_count, d.rating_count),
             updated_at = now()
           WHERE (EXCLUDED.title IS NOT NULL AND (EXCLUDED.title, EXCLUDED.genres) IS DISTINCT FROM (d.title, d.genres))
              OR EXCLUDED.rating_count > d.rating_count
           RETURNING movie_id`,
          [ids, cols.map((c) => c.title), cols.map((c) => c.genres), cols.map((c) => c.sum), cols.map((c) => c.count)],
        )
      : { rowCount: 0, rows: [] };
    await storeOffsets(client, batch.groupId, batch.offsets);
    // The changed movies, for every pgMovieChanges listener: sent in the transaction, so delivered on commit
    // and never for a rolled-back batch. (A notifying commit takes PostgreSQL's notify-queue lock, one at a
    // time per database: brief, once per batch.)
    const changed = res.rows.map((r) => r.movie_id);
    if (changed.length)
      await client.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [MOVIE_CHANGES_CHANNEL, changePayloads(changed)]);
    return { status: 'applied', rowsChanged: res.rowCount ?? 0 };
  });
}

// ---------------------------------------------------------------------------------------------------------
// The processor's state in the database (the seed's central store): deltas added once per batch.

export interface RatingsBatch extends BatchOffsets {
  groupId: string;
  /** Sum and count of the batch's ratings per movie (several entries of one movie are added up). */
  deltas: SinkMean[];
  /**
   * How far the caller's publishes of this partition are acknowledged (the nextOffset of the last batch it
   * published), stored as the partition's published offset with this batch (see loadResumeOffsets).
   * Absent: nothing published yet by this caller; the stored one stays.
   */
  publishedOffset?: string;
}

export interface RatingsBatchResult extends BatchResult {
  /** The new absolute sum and count of every movie the batch changed, by movie id: what to publish. Empty for a replay. */
  rows: SinkMean[];
}

/**
 * Adds one partition's batch of rating deltas to movie_ratings_state and stores the partition's offset, in
 * one transaction, and returns the new absolute rows. The offset check is in the same transaction (the
 * offset row is locked first): a batch that ends at or before the stored offset is a replay and returns
 * nothing and changes nothing; one that starts before it and ends after (partial overlap) is an
 * OffsetOverlapError, since deltas per movie cannot be split by offset: the caller re-aggregates the
 * records from the stored offset on. A batch starting after the stored offset is taken (offsets have gaps).
 * The same transaction stores `publishedOffset` (never backwards, never past the stored offset), also for
 * a replay. Any number of processors may share the table: movie rows are written in id order.
 */
export async function applyRatingsBatch(pool: Pool, batch: RatingsBatch): Promise<RatingsBatchResult> {
  checkBatchOffsets(batch, 'ratings batch');
  const deltas = new Map<number, { sum: number; count: number }>();
  batch.deltas.forEach((d, i) => {
    const what = `ratings batch ${batch.topic}[${batch.partition}] deltas[${i}]`;
    checkMovieId(d.movieId, what);
    checkSumCount(d.sum, d.count, `${what} (movie ${d.movieId})`);
    const cur = deltas.get(d.movieId);
    deltas.set(d.movieId, cur ? { sum: cur.sum + d.sum, count: cur.count + d.count } : { sum: d.sum, count: d.count });
  });
  const ids = [...deltas.keys()].sort((a, b) => a - b);
  const published = batch.publishedOffset ?? null;
  if (published !== null && !/^\d{1,19}$/.test(published))
    throw new Error(`ratings batch ${batch.topic}[${batch.partition}]: publishedOffset ${JSON.stringify(published)} is not an offset`);
  const key = [batch.groupId, batch.topic, batch.partition];
  return inTransaction(pool, async (client) => {
    const [verdict] = await lockAndCheckOffsets(client, batch.groupId, [batch]);
    if (verdict === 'replayed') {
      // Read again because its publish may be missing: record how far the publishes before it went.
      if (published !== null)
        await client.query(
          `UPDATE consumer_offsets SET published_offset = LEAST(next_offset, $4::bigint)
           WHERE group_id = $1 AND topic = $2 AND partition = $3 AND published_offset < LEAST(next_offset, $4::bigint)`,
          [...key, published],
        );
      return { status: 'replayed', rowsChanged: 0, rows: [] };
    }
    const res = ids.length
      ? await client.query<{ movie_id: number; rating_sum: number; rating_count: string }>(
          `INSERT INTO movie_ratings_state AS s (movie_id, rating_sum, rating_count)
           SELECT * FROM unnest($1::int[], $2::float8[], $3::bigint[]) AS x(id, sm, c) ORDER BY id
           ON CONFLICT (movie_id) DO UPDATE SET
             rating_sum = s.rating_sum + EXCLUDED.rating_sum,
             rating_count = s.rating_count + EXCLUDED.rating_count,
             updated_at = now()
           RETURNING movie_id, rating_sum, rating_count`,
          [ids, ids.map((id) => deltas.get(id)!.sum), ids.map((id) => deltas.get(id)!.count)],
        )
      : { rows: [] };
    // The stored offset moves past this batch, whose rows are not published yet: the published offset
    // stays where the publishes before it went (a new row, or one from before migration 002: up to here).
    await client.query(
      `UPDATE consumer_offsets SET
         next_offset = $4::bigint,
         published_offset = LEAST($4::bigint, GREATEST(COALESCE(published_offset, next_offset), COALESCE($5::bigint, 0))),
         updated_at = now()
       WHERE group_id = $1 AND topic = $2 AND partition = $3`,
      [...key, batch.nextOffset, published],
    );
    const rows = res.rows
      .map((r) => ({ movieId: r.movie_id, sum: r.rating_sum, count: Number(r.rating_count) }))
      .sort((a, b) => a.movieId - b.movieId);
    return { status: 'applied', rowsChanged: rows.length, rows };
  });
}

/**
 * The stored absolute sums and counts of these movies: what a processor publishes again when its publish
 * of applyRatingsBatch's rows failed after the commit (absolute values: publishing the current ones is right).
 */
export async function getRatingsState(pool: Pool, movieIds: readonly number[]): Promise<SinkMean[]> {
  const { rows } = await pool.query<{ movie_id: number; rating_sum: number; rating_count: string }>(
    'SELECT movie_id, rating_sum, rating_count FROM movie_ratings_state WHERE movie_id = ANY($1::int[]) ORDER BY movie_id',
    [movieIds],
  );
  return rows.map((r) => ({ movieId: r.movie_id, sum: r.rating_sum, count: Number(r.rating_count) }));
}
