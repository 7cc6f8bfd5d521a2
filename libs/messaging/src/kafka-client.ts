import type { Logger } from '@movie-stream/logging';
import { fatalKafkaErrors } from './kafka-factory';
import { ConditionStreaks, countExpectedCondition, EXPECTED_CONDITION_BOUND_MS, expectedCondition } from './expected-conditions';

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
  /** How long expected conditions (see expected-conditions.ts) are retried quietly before one warning; for tests. */
  expectedBoundMs?: number;
  /** The clock of that bound; for tests. */
  now?: () => number;
}

/** Where retryForever reports: warn is required, debug and info are used when there. */
export interface RetryLogger {
  warn(message: string): unknown;
  info?(message: string): unknown;
  debug?(message: string): unknown;
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
 * Runs `attempt` until it succeeds, backing off between tries and logging each failure: at warn, except an
 * expected condition (a leader election, a coordinator loading, a rebalance: expectedCondition), which is
 * counted and logged at debug until it has gone on for `expectedBoundMs` (30 s), then warned about once.
 * There is no overall timeout (the seed's producers died after 60 s); only `signal` stops it, or a failure
 * that retrying cannot cure (fatalKafkaErrors: rejected credentials, a broker closing every connection).
 * Once `signal` aborts no new attempt starts and the backoff sleep ends at once. An attempt in progress at
 * the abort is let finish (a publish in flight should land), unless `abandonOnAbort`; a stop deadline (see
 * the service runtime) bounds the wait for it, and `pendingRetries()` names it.
 */
export async function retryForever<T>(
  what: string,
  attempt: () => Promise<T>,
  logger: RetryLogger,
  signal?: AbortSignal,
  delayMs: (attempt: number) => number = backoffMs,
  options: RetryOptions = {},
): Promise<T> {
  const fatal = fatalKafkaErrors();
  const entry: RetryInProgress = { what, attempt: 0, since: Date.now() };
  const streaks = new ConditionStreaks(options.expectedBoundMs ?? EXPECTED_CONDITION_BOUND_MS, options.now);
  // The expected conditions this loop retried quietly, and whether one was warned about.
  const retried = new Map<string, number>();
  let surfaced = false;
  inProgress.add(entry);
  try {
    for (let n = 1; ; n++) {
      entry.attempt = n;
      let result: T;
      try {
        if (options.abandonOnAbort && signal) {
          if (signal.aborted) throw signal.reason ?? new Error('aborted');
          result = await untilAborted(attempt(), signal);
        } else result = await attempt();
      } catch (e) {
        if (signal?.aborted) throw e;
        const fatalError = fatal(e);
        if (fatalError) throw fatalError;
        entry.lastError = (e as Error).message;
        const wait = delayMs(n);
        const retrying = `retrying in ${(wait / 1000).toFixed(1)} s: ${(e as Error).message}`;
        const condition = expectedCondition(e);
        if (!condition) logger.warn(`${what} failed (attempt ${n}), ${retrying}`);
        else {
          const total = countExpectedCondition(condition);
          retried.set(condition, (retried.get(condition) ?? 0) + 1);
          const streak = streaks.note('expected');
          if (streak.surface) {
            surfaced = true;
            logger.warn(
              `${what} failed (attempt ${n}): ${condition} has gone on for ${(streak.lastedMs / 1000).toFixed(1)} s, longer than expected; ${retrying}`,
            );
          } else logger.debug?.(`${what} failed (attempt ${n}): ${condition}, expected (${total} in this process); ${retrying}`);
        }
        await sleep(wait, signal);
        continue;
      }
      if (retried.size) {
        const summary = [...retried].map(([c, k]) => `${c} ×${k}`).join(', ');
        if (surfaced) logger.info?.(`${what} succeeded at attempt ${n}, after ${summary}`);
        else logger.debug?.(`${what} succeeded at attempt ${n}, after retrying ${summary} (expected)`);
      }
      return result;
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
  await retryForever(`waiting for Kafka at ${brokers.join(',')}: connect`, () => client.connect(), logger, signal, backoffMs, {
    abandonOnAbort: true,
  });
}
