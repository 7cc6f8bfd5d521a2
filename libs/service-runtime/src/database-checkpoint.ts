// Where a database-mode consumer stands, as PostgreSQL says, and which database errors waiting can cure.
import { Checkpoint, PartitionOwner } from '@movie-stream/messaging';
import { isTransientConnectError, loadResumeOffsets, type Pool } from '@movie-stream/movie-db';

/** Errors after which the same transaction can simply be tried again: the server went away or is busy. */
export function isRetryableDbError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (isTransientConnectError(e)) return true;
  // 08xxx connection exceptions, 40001 serialization failure, 40P01 deadlock, 57P0x shutdown/crash.
  if (err.code && (/^08/.test(err.code) || ['40001', '40P01', '57P01', '57P02', '57P03'].includes(err.code))) return true;
  return /Connection terminated|Client has encountered a connection error|terminating connection|server closed the connection/i.test(
    err.message ?? '',
  );
}

/** An error PostgreSQL sent (it carries an SQLSTATE code), as opposed to one of Kafka's or the network's. */
export function isDatabaseError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof (e as { severity?: unknown }).severity === 'string';
}

/**
 * Where each partition continues, as the database says: loaded at start, loaded again for a partition
 * the group assigns (another instance may have written it meanwhile), forgotten for one it takes away,
 * and moved along by this process's own committed batches. For a group that publishes what it stores (the
 * processor) that is where its publishes are acknowledged, when behind the stored offset (loadResumeOffsets):
 * the batches in between come back as replays and are published again.
 */
export class DatabaseCheckpoint implements Checkpoint, PartitionOwner {
  private readonly next = new Map<string, string>();

  constructor(
    private readonly db: Pool,
    private readonly groupId: string,
    private readonly topics: string[],
  ) {}

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /** Loads the stored offsets of `partitions` (all when undefined), replacing what was known of them. */
  async load(partitions?: number[]): Promise<void> {
    const stored = await loadResumeOffsets(this.db, this.groupId, this.topics);
    for (const topic of this.topics) {
      for (const key of [...this.next.keys()]) {
        const [t, p] = key.split('\u0000');
        if (t === topic && (!partitions || partitions.includes(Number(p)))) this.next.delete(key);
      }
      for (const [p, offset] of Object.entries(stored[topic] ?? {})) {
        if (!partitions || partitions.includes(Number(p))) this.next.set(DatabaseCheckpoint.key(topic, Number(p)), offset);
      }
    }
  }

  nextOffset(topic: string, partition: number): string | undefined {
    return this.next.get(DatabaseCheckpoint.key(topic, partition));
  }

  /** A batch ending before `next` is stored (by this process or, for a replay, an earlier one). Never backwards. */
  record(topic: string, partition: number, next: string): void {
    const key = DatabaseCheckpoint.key(topic, partition);
    const cur = this.next.get(key);
    if (cur === undefined || BigInt(next) > BigInt(cur)) this.next.set(key, next);
  }

  /** Past transaction markers: kept in memory only (after a restart they are read again and hold nothing). */
  async advance(topic: string, partition: number, next: string): Promise<void> {
    this.record(topic, partition, next);
  }

  /** The offsets as Kafka takes them, for the hint commit. */
  offsets(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [key, offset] of this.next) {
      const [t, p] = key.split('\u0000') as [string, string];
      (out[t] ??= {})[p] = offset;
    }
    return out;
  }

  claim(partitions: number[]): Promise<void> {
    return this.load(partitions);
  }

  async release(partitions: number[]): Promise<void> {
    for (const key of [...this.next.keys()]) if (partitions.includes(Number(key.split('\u0000')[1]))) this.next.delete(key);
  }
}
