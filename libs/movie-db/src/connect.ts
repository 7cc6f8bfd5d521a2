import { Pool, type PoolConfig } from 'pg';

/** What the store logs through (a winston Logger fits). */
export interface DbLogger {
  info(message: string): unknown;
  warn(message: string): unknown;
  error(message: string): unknown;
}

export type { Pool };

export interface ConnectOptions {
  /** Most connections the pool opens (DATABASE_POOL_SIZE). */
  poolSize?: number;
  /** First and longest wait between attempts while the server is not there. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** host:port/database of a connection string, never its password: for log lines and errors. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

// Server not there (yet): down, starting, restarting, unreachable, or out of connection slots. Everything
// else (wrong password, no such database, bad URL) will not heal by waiting and ends the start.
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
  '57P03', // cannot_connect_now: starting up or shutting down
  '57P01', // admin_shutdown
  '53300', // too_many_connections
]);

export function isTransientConnectError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (err.code && TRANSIENT_CODES.has(err.code)) return true;
  // pg's own wording when the socket closes during the start-up exchange, or its connect timeout.
  return /Connection terminated|timeout expired/i.test(err.message ?? '');
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A pool on `url` once the server answers: while it is down or refuses (a container still starting, a
 * restart) this waits with backoff, logging "waiting for PostgreSQL at host:port/db: <reason>", as the
 * Kafka connection does. Errors that waiting cannot fix (authentication, unknown database) are thrown.
 * An abort of `signal` ends the wait with the signal's reason.
 */
export async function connectDatabase(url: string, logger: DbLogger, signal?: AbortSignal, opts: ConnectOptions = {}): Promise<Pool> {
  const where = describeDatabase(url);
  const config: PoolConfig = { connectionString: url, max: opts.poolSize ?? 10, connectionTimeoutMillis: 10_000 };
  const pool = new Pool(config);
  // An idle connection dropped by the server (restart, idle timeout) is reported here; without a listener
  // it would be an uncaught error. The next query opens a new connection.
  pool.on('error', (e) => logger.warn(`PostgreSQL at ${where}: idle connection lost: ${e.message}`));
  let backoff = opts.minBackoffMs ?? 250;
  const maxBackoff = opts.maxBackoffMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      if (signal?.aborted) throw signal.reason;
      await pool.query('SELECT 1');
      if (attempt > 1) logger.info(`PostgreSQL at ${where} answers (after ${attempt} attempts)`);
      return pool;
    } catch (e) {
      if (signal?.aborted || !isTransientConnectError(e)) {
        await pool.end().catch(() => undefined);
        if (signal?.aborted) throw signal.reason;
        throw new Error(`cannot use PostgreSQL at ${where}: ${(e as Error).message}`, { cause: e });
      }
      logger.warn(`waiting for PostgreSQL at ${where}: ${(e as Error).message || (e as { code?: string }).code} (retry in ${backoff} ms)`);
      try {
        await abortableSleep(backoff, signal);
      } catch (abort) {
        await pool.end().catch(() => undefined);
        throw abort;
      }
      backoff = Math.min(maxBackoff, backoff * 2);
    }
  }
}
