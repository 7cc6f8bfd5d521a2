import { Kafka, logLevel, LogEntry, SASLOptions } from 'kafkajs';
import type { Logger } from '@movie-stream/logging';

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  ssl?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
}

function sasl(c: KafkaConnection): SASLOptions | undefined {
  if (!c.saslMechanism) return undefined;
  const mechanism = c.saslMechanism.toLowerCase();
  if (mechanism !== 'plain' && mechanism !== 'scram-sha-256' && mechanism !== 'scram-sha-512') {
    throw new Error(`KAFKA_SASL_MECHANISM "${c.saslMechanism}" is not one of plain, scram-sha-256, scram-sha-512`);
  }
  if (!c.saslUsername || c.saslPassword === undefined) {
    throw new Error('KAFKA_SASL_MECHANISM is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are needed too');
  }
  return { mechanism, username: c.saslUsername, password: c.saslPassword } as SASLOptions;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug',
};

/** A KafkaJS client whose log lines go through the service's winston logger. */
export function createKafka(c: KafkaConnection, logger: Logger): Kafka {
  return new Kafka({
    clientId: c.clientId,
    brokers: c.brokers,
    ssl: c.ssl || undefined,
    sasl: sasl(c),
    connectionTimeout: 3000,
    // KafkaJS retries each request with exponential backoff; callers loop around that (see waitForKafka).
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...extra } = log as LogEntry['log'] & { timestamp?: string; logger?: string };
      // KafkaJS logs every failed connection attempt at ERROR; our own retry loop reports those once per try.
      // and error responses it retries itself (not leader, not enough replicas) are warnings, not errors.
      const text = String(message);
      const lvl = LEVELS[level] !== 'error' ? LEVELS[level]
        : /Connection error|ECONNREFUSED|Failed to connect/.test(text) ? 'debug'
        : /^Response |Failed to send messages/.test(text) ? 'warn' : 'error';
      logger.log(lvl ?? 'info', `kafkajs ${namespace}: ${message}`, extra);
    },
  });
}

/** Exponential backoff with full jitter, capped: the delay before attempt `n` (1-based). */
export function backoffMs(attempt: number, baseMs = 500, capMs = 10_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Resolves after `ms`; rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One retryForever loop under way (for a stop that cannot finish to say what it still waits for). */
interface RetryInProgress {
  what: string;
  attempt: number;
  since: number;
  lastError?: string;
}

const inProgress = new Set<RetryInProgress>();

/** The retry loops under way now, e.g. "publish of 500 messages to ratings[2] (attempt 3 since 12.0 s; last error: …)". */
export function pendingRetries(now = Date.now()): string[] {
  return [...inProgress].map((r) => {
    const last = r.lastError ? `; last error: ${r.lastError}` : '';
    return `${r.what} (attempt ${r.attempt} since ${((now - r.since) / 1000).toFixed(1)} s${last})`;
  });
}

export interface RetryOptions {
  /**
   * On abort, give up on the attempt in progress at once (its result is ignored) instead of letting it
   * finish. For attempts with no effect to lose, such as a connect: a KafkaJS connect to an unreachable
   * broker retries internally for tens of seconds.
   */
  abandonOnAbort?: boolean;
}

/** Rejects with the abort reason as soon as `signal` aborts; otherwise settles as `p` does. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * Runs `attempt` until it succeeds, backing off between tries and logging each failure.
 * There is no overall timeout (the seed's producers died after 60 s); only `signal` stops it: once it
 * aborts no new attempt starts and the backoff sleep ends at once. An attempt in progress at the abort
 * is let finish (a publish in flight should land), unless `abandonOnAbort`; a stop deadline (see the
 * service runtime) bounds the wait for it, and `pendingRetries()` names it.
 */
export async function retryForever<T>(
  what: string,
  attempt: () => Promise<T>,
  logger: { warn(message: string): unknown },
  signal?: AbortSignal,
  delayMs: (attempt: number) => number = backoffMs,
  options: RetryOptions = {},
): Promise<T> {
  const entry: RetryInProgress = { what, attempt: 0, since: Date.now() };
  inProgress.add(entry);
  try {
    for (let n = 1; ; n++) {
      entry.attempt = n;
      try {
        if (options.abandonOnAbort && signal) {
          if (signal.aborted) throw signal.reason ?? new Error('aborted');
          return await untilAborted(attempt(), signal);
        }
        return await attempt();
      } catch (e) {
        if (signal?.aborted) throw e;
        entry.lastError = (e as Error).message;
        const wait = delayMs(n);
        logger.warn(`${what} failed (attempt ${n}), retrying in ${(wait / 1000).toFixed(1)} s: ${(e as Error).message}`);
        await sleep(wait, signal);
      }
    }
  } finally {
    inProgress.delete(entry);
  }
}

/** Connects a KafkaJS client (producer, consumer or admin), waiting as long as it takes for the brokers. */
export async function connectWithRetry(
  client: { connect(): Promise<void> },
  brokers: string[],
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  // A connect has nothing to lose: a stop need not wait for one in progress.
  await retryForever(`waiting for Kafka at ${brokers.join(',')}: connect`, () => client.connect(), logger, signal, backoffMs, { abandonOnAbort: true });
}
