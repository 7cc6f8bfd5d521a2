import type { KafkaMessage } from './kafkajs';

/** The part of a partition batch the coalescer merges (see PartitionBatch). */
export interface CoalescedBatch<F = unknown> {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  nextOffset: string;
  last: F;
}

export interface CoalesceOptions {
  /** Hand the held messages on once this many are held; 0 = no count limit (time only). */
  maxMessages: number;
  /** Hand them on once the oldest held batch arrived this long ago (ms). */
  maxMs: number;
}

export interface CoalescerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: CoalescerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface BatchCoalescerOptions<F> extends CoalesceOptions {
  /** Applies one merged batch. Never called twice at once for one partition, and in offset order. */
  flush(batch: CoalescedBatch<F>): Promise<void>;
  /**
   * A flush the timer started failed. The held messages are gone from here (not applied): the caller
   * must have them read again.
   */
  onTimerFailure(batch: CoalescedBatch<F>, error: unknown): void;
  clock?: CoalescerClock;
}

interface Held<F> {
  batch: CoalescedBatch<F>;
  timer?: unknown;
}

interface PartitionQueue<F> {
  topic: string;
  partition: number;
  /** Added, not yet taken by a flush. */
  held?: Held<F>;
  /** Taken by the flush in progress, not yet applied. */
  applying?: CoalescedBatch<F>;
  /** Flushes and offset moves of this partition run on this chain, one after another. */
  chain: Promise<void>;
  /** Bumped when the held messages are dropped: an add waiting then learns its messages went with them. */
  epoch: number;
}

/** What became of an added batch. */
export type AddResult = 'held' | 'flushed' | 'stale';

/**
 * Holds consecutive batches of a partition and hands them on as one merged batch (messages in offset
 * order, the newest batch's nextOffset and last) when `maxMessages` are held or the oldest held batch is
 * `maxMs` old. Batches keep being added while a flush of their partition is in progress (the next flush
 * takes them all): the caller's fetching is held up only by a full buffer, so a slow flush makes the next
 * one larger, as a slow handler makes the next fetched batch larger. Held messages are not applied:
 * whoever keeps the state's offsets must not move them past what was flushed, and dropping held messages
 * (a partition taken away) loses nothing as long as the partition is read again from the state's offset.
 */
export class BatchCoalescer<F = unknown> {
  private readonly queues = new Map<string, PartitionQueue<F>>();
  private readonly clock: CoalescerClock;

  constructor(private readonly opts: BatchCoalescerOptions<F>) {
    if (!(opts.maxMs > 0)) throw new Error(`coalescing needs maxMs > 0 (got ${opts.maxMs})`);
    if (!(opts.maxMessages >= 0)) throw new Error(`coalescing needs maxMessages >= 0 (got ${opts.maxMessages})`);
    this.clock = opts.clock ?? realClock;
  }

  private queue(topic: string, partition: number): PartitionQueue<F> {
    const key = `${topic}:${partition}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = { topic, partition, chain: Promise.resolve(), epoch: 0 }));
    return q;
  }

  private enqueue<T>(q: PartitionQueue<F>, fn: () => Promise<T>): Promise<T> {
    const run = q.chain.then(fn);
    q.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Messages held (not yet taken by a flush) of one partition, or of all. */
  heldCount(topic?: string, partition?: number): number {
    let n = 0;
    for (const q of this.queues.values())
      if ((topic === undefined || q.topic === topic) && (partition === undefined || q.partition === partition))
        n += q.held?.batch.messages.length ?? 0;
    return n;
  }

  /**
   * Where the messages this partition has taken in end (held, or being applied): what comes before it is
   * no news. Undefined when it holds and applies nothing (the state's offset says it then).
   */
  pendingNextOffset(topic: string, partition: number): string | undefined {
    const q = this.queues.get(`${topic}:${partition}`);
    return q?.held?.batch.nextOffset ?? q?.applying?.nextOffset;
  }

  /**
   * Adds a batch (after those added before it). Resolves 'held'; or, when it filled the buffer, once the
   * held messages were applied: 'flushed', or 'stale' when they were dropped meanwhile (nothing of them
   * applied). A failed flush rejects, with the held messages dropped (none of them applied).
   */
  async add(batch: CoalescedBatch<F>): Promise<AddResult> {
    const q = this.queue(batch.topic, batch.partition);
    if (q.held) {
      const b = q.held.batch;
      // One by one, not spread: a merged batch may hold more messages than a call takes arguments.
      for (const m of batch.messages) b.messages.push(m);
      b.nextOffset = batch.nextOffset;
      b.last = batch.last;
    } else {
      const held: Held<F> = { batch: { ...batch, messages: [...batch.messages] } };
      held.timer = this.clock.setTimeout(() => this.flushByTimer(q, held), this.opts.maxMs);
      q.held = held;
    }
    if (this.opts.maxMessages === 0 || q.held.batch.messages.length < this.opts.maxMessages) return 'held';
    // Full: wait for the flush in progress (if any) and apply these; the caller's fetching waits meanwhile.
    const epoch = q.epoch;
    await this.enqueue(q, () => this.flushHeld(q));
    return q.epoch === epoch ? 'flushed' : 'stale';
  }

  /** Takes the held messages and applies them; on failure they are dropped (and a waiting add is stale). */
  private async flushHeld(q: PartitionQueue<F>): Promise<void> {
    const held = q.held;
    if (!held) return;
    this.clock.clearTimeout(held.timer);
    q.held = undefined;
    q.applying = held.batch;
    try {
      await this.opts.flush(held.batch);
    } catch (e) {
      // What was added after them cannot be applied before them: dropped too, read again with them.
      this.drop((t, p) => t === q.topic && p === q.partition);
      throw e;
    } finally {
      q.applying = undefined;
    }
  }

  private flushByTimer(q: PartitionQueue<F>, held: Held<F>): void {
    void this.enqueue(q, async () => {
      // Taken by another flush, or dropped, since.
      if (q.held !== held) return;
      try {
        await this.flushHeld(q);
      } catch (e) {
        this.opts.onTimerFailure(held.batch, e);
      }
    });
  }

  /**
   * Runs `apply` after the flush in progress, unless messages are held then: those end where the state's
   * offset will be, so `next` (past records that hold no data, e.g. transaction markers) extends them
   * instead. The state's offset never moves past held messages.
   */
  advance(topic: string, partition: number, next: string, apply: () => Promise<void>): Promise<void> {
    const q = this.queue(topic, partition);
    return this.enqueue(q, async () => {
      if (q.held) {
        if (BigInt(next) > BigInt(q.held.batch.nextOffset)) q.held.batch.nextOffset = next;
        return;
      }
      await apply();
    });
  }

  /**
   * Applies every partition's held messages (e.g. before a final snapshot). A failed flush drops that
   * partition's held messages and is reported to `onError`; the others still flush.
   */
  async flushAll(onError: (batch: CoalescedBatch<F>, error: unknown) => void): Promise<void> {
    await Promise.all(
      [...this.queues.values()].map((q) =>
        this.enqueue(q, async () => {
          const held = q.held;
          if (!held) return;
          try {
            await this.flushHeld(q);
          } catch (e) {
            onError(held.batch, e);
          }
        }),
      ),
    );
  }

  /**
   * Drops the held messages of the partitions `which` selects (all when undefined) without applying them:
   * they are read again from the state's offset by whoever owns the partition. A flush in progress goes on.
   */
  drop(which?: (topic: string, partition: number) => boolean): number {
    let dropped = 0;
    for (const q of this.queues.values()) {
      if (which && !which(q.topic, q.partition)) continue;
      q.epoch++;
      if (!q.held) continue;
      this.clock.clearTimeout(q.held.timer);
      dropped += q.held.batch.messages.length;
      q.held = undefined;
    }
    return dropped;
  }

  /** Resolves once nothing is running or queued for the selected partitions (a flush in progress has finished). */
  async settled(which?: (topic: string, partition: number) => boolean): Promise<void> {
    for (;;) {
      const chains = [...this.queues.values()].filter((q) => !which || which(q.topic, q.partition)).map((q) => q.chain);
      await Promise.all(chains);
      const now = [...this.queues.values()].filter((q) => !which || which(q.topic, q.partition)).map((q) => q.chain);
      if (now.every((c, i) => c === chains[i]) && now.length === chains.length) return;
    }
  }
}
