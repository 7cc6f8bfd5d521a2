// What a failed batch means: retried (a broker leader moving, a database restarting) or the end of the service
// (a permission refused, a bug, a record the broker will never take). A transient error that keeps failing
// the same partition for longer than the retry timeout ends it too: nothing loops forever behind a healthy
// /healthz.
import { refusedForGood } from './kafka-factory';

export interface FailurePolicy {
  /**
   * True for an error no retry can cure. Besides these: an error that says `retriable: false` itself (ours
   * do, e.g. a refused publish), and a broker refusal of the records (kafka-factory.ts refusedForGood). Not
   * any error KafkaJS marks not retriable deep in its chain: it marks so errors that pass (too few in-sync
   * replicas while brokers are down).
   */
  isPermanent?(e: unknown): boolean;
  /** How long one partition's batches may keep failing with transient errors before the service fails (default 5 min). */
  retryTimeoutMs?: number;
}

export const DEFAULT_RETRY_TIMEOUT_MS = 5 * 60_000;

export class BatchFailures {
  /** Per topic:partition, when its batches began to fail (reset by a batch that succeeds). */
  private readonly since = new Map<string, number>();

  constructor(
    private readonly policy: FailurePolicy,
    private readonly now: () => number = Date.now,
  ) {}

  succeeded(key: string): void {
    this.since.delete(key);
  }

  /** Forget partitions that moved away (their next owner counts for itself). */
  forget(which: (key: string) => boolean): void {
    for (const key of [...this.since.keys()]) if (which(key)) this.since.delete(key);
  }

  /**
   * A batch of `key` starting at `offset` failed with `e`: the error that ends the service, or undefined
   * when the batch is to be retried.
   */
  failed(key: string, offset: string, e: unknown): Error | undefined {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.policy.isPermanent?.(e) || (e as { retriable?: boolean }).retriable === false || refusedForGood(e)) {
      return new Error(`${key}: the batch at offset ${offset} failed with an error no retry can cure: ${describe(err)}`, { cause: e });
    }
    const now = this.now();
    const since = this.since.get(key) ?? now;
    this.since.set(key, since);
    const timeout = this.policy.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS;
    if (now - since >= timeout) {
      return new Error(
        `${key}: the batch at offset ${offset} has kept failing for ${Math.round((now - since) / 1000)} s (RETRY_TIMEOUT_MS ${timeout}): ${describe(err)}`,
        { cause: e },
      );
    }
    return undefined;
  }
}

function describe(e: Error): string {
  const code = (e as { code?: unknown }).code;
  return `${e.name}: ${e.message}${typeof code === 'string' ? ` (code ${code})` : ''}`;
}
