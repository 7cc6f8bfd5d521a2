import type { Logger } from '@movie-stream/logging';
import { fatalKafkaErrors } from './kafka-factory';

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

/**
 * Runs `attempt` until it succeeds, backing off between tries and logging each failure.
 * There is no overall timeout (the seed's producers died after 60 s); only `signal` stops it, or a failure
 * that retrying cannot cure (fatalKafkaErrors: rejected credentials, a broker closing every connection).
 */
export async function retryForever<T>(
  what: string,
  attempt: () => Promise<T>,
  logger: { warn(message: string): unknown },
  signal?: AbortSignal,
  delayMs: (attempt: number) => number = backoffMs,
): Promise<T> {
  const fatal = fatalKafkaErrors();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (signal?.aborted) throw e;
      const fatalError = fatal(e);
      if (fatalError) throw fatalError;
      const wait = delayMs(n);
      logger.warn(`${what} failed (attempt ${n}), retrying in ${(wait / 1000).toFixed(1)} s: ${(e as Error).message}`);
      await sleep(wait, signal);
    }
  }
}

/** Connects a KafkaJS client (producer, consumer or admin), waiting as long as it takes for the brokers. */
export async function connectWithRetry(
  client: { connect(): Promise<void> },
  brokers: string[],
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  await retryForever(`waiting for Kafka at ${brokers.join(',')}: connect`, () => client.connect(), logger, signal);
}
