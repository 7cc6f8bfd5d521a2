// The change feed of movie_data in database mode: applySinkBatch sends the ids of the movies a batch changed
// with pg_notify inside its transaction, so PostgreSQL delivers them on commit and never for a rolled-back
// batch; every listener on the database hears every sink instance's batches, not only its own partitions'.
import type { MovieChanges } from '@movie-stream/movie-api';
import { Client, type Pool } from 'pg';
import type { DbLogger } from './connect';

/** The channel applySinkBatch notifies on and pgMovieChanges listens on. */
export const MOVIE_CHANGES_CHANNEL = 'movie_data_changes';

/** PostgreSQL refuses a payload of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7999;

/**
 * Movie ids as NOTIFY payloads: decimal ids joined by ",", each payload under PostgreSQL's 8000-byte limit
 * (ids are ASCII digits, so characters are bytes). A batch of many movies sends several notifications.
 */
export function changePayloads(movieIds: readonly number[], maxBytes = MAX_PAYLOAD_BYTES): string[] {
  const out: string[] = [];
  let cur = '';
  for (const id of movieIds) {
    const s = String(id);
    if (cur !== '' && cur.length + 1 + s.length > maxBytes) {
      out.push(cur);
      cur = '';
    }
    cur = cur === '' ? s : `${cur},${s}`;
  }
  if (cur !== '') out.push(cur);
  return out;
}

const PAYLOAD = /^\d{1,10}(,\d{1,10})*$/;

/** The ids of a payload; undefined (anything may have changed) for one not of changePayloads' form. */
export function parseChangePayload(payload: string | undefined): number[] | undefined {
  if (payload === undefined || !PAYLOAD.test(payload)) return undefined;
  return payload.split(',').map(Number);
}

export interface PgMovieChangesOptions {
  logger: DbLogger;
  /** First and longest wait between connection attempts after the connection is lost. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface PgMovieChanges extends MovieChanges {
  /** Stops listening and closes the connection; subscribers hear nothing more. */
  close(): Promise<void>;
}

/** application_name of the listener's connection: how to find it in pg_stat_activity. */
export const MOVIE_CHANGES_APPLICATION_NAME = 'movie-stream movie-changes';

/**
 * MovieChanges over LISTEN on MOVIE_CHANGES_CHANNEL, on one connection of its own (a pooled client would be
 * returned to the pool or held against its size; LISTEN belongs to a session), with `pool`'s connection
 * settings. A lost connection (server restart, pg_terminate_backend, network) is logged and opened again
 * with backoff; notifications sent meanwhile are lost, so each time LISTEN is in place (the first time too:
 * a subscriber may have read before it was) subscribers get `undefined`: anything may have changed.
 *
 * Notifications that arrive together (one batch's payloads, batches committed close together) are given to
 * subscribers as one list, sorted and without repeats, in the next turn of the event loop. That buffer holds
 * what one read from the socket brings, so it is bounded by the socket's read size, not by configuration.
 */
export function pgMovieChanges(pool: Pool, opts: PgMovieChangesOptions): PgMovieChanges {
  const { logger } = opts;
  const minBackoff = opts.minBackoffMs ?? 250;
  const maxBackoff = opts.maxBackoffMs ?? 5_000;
  const listeners = new Set<(movieIds: readonly number[] | undefined) => void>();
  let client: Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let backoff = minBackoff;
  let lostOnce = false;
  let pending: Set<number> | 'all' | undefined;

  const flush = () => {
    const p = pending;
    pending = undefined;
    if (stopped || p === undefined) return;
    const ids = p === 'all' ? undefined : [...p].sort((a, b) => a - b);
    for (const l of [...listeners]) {
      // A subscriber's failure is its own: the others and the connection go on.
      try {
        l(ids);
      } catch (e) {
        logger.error(`movie changes: a subscriber failed: ${(e as Error).message}`);
      }
    }
  };
  const take = (ids: number[] | undefined) => {
    if (pending === undefined) setImmediate(flush);
    if (ids === undefined) pending = 'all';
    else if (pending !== 'all') {
      pending ??= new Set();
      for (const id of ids) pending.add(id);
    }
  };

  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, backoff);
    backoff = Math.min(maxBackoff, backoff * 2);
  };

  const connect = async () => {
    if (stopped) return;
    const c = new Client({ ...pool.options, application_name: MOVIE_CHANGES_APPLICATION_NAME, keepAlive: true });
    client = c;
    let lost = false;
    const onLost = (why: string) => {
      if (lost) return;
      lost = true;
      if (client === c) client = undefined;
      c.removeAllListeners('notification');
      c.end().catch(() => undefined);
      if (stopped) return;
      lostOnce = true;
      logger.warn(`movie changes: LISTEN connection lost: ${why} (retry in ${backoff} ms)`);
      schedule();
    };
    // Without an 'error' listener a lost connection would be an uncaught error and end the process.
    c.on('error', (e) => onLost(e.message || String((e as { code?: string }).code)));
    c.on('end', () => onLost('connection closed'));
    c.on('notification', (n) => {
      if (n.channel === MOVIE_CHANGES_CHANNEL) take(parseChangePayload(n.payload));
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${MOVIE_CHANGES_CHANNEL}`);
    } catch (e) {
      onLost((e as Error).message || String((e as { code?: string }).code));
      return;
    }
    if (lost || stopped) return;
    backoff = minBackoff;
    if (lostOnce) logger.info('movie changes: listening again (subscribers told that anything may have changed)');
    take(undefined);
  };

  void connect();

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      stopped = true;
      listeners.clear();
      if (timer) clearTimeout(timer);
      timer = undefined;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
