import { create, toBinary, MetaReport_Action, MetaReport_Restore, MetaReport_RestoreSchema, MetaReportSchema } from '@movie-stream/schema';
import type { Logger } from '@movie-stream/logging';
import type { TopicNames } from './topics';
import { ConditionStreaks, reportRetriedFailure } from './expected-conditions';

export type MetaAction = 'published' | 'consumed';

/** Where meta reports go: a KafkaJS producer in production, an array in unit tests. */
export interface MetaSink {
  send(topic: string, messages: { key: string; value: Buffer }[]): Promise<void>;
}

/** A partition restore that began: which group's partition of which topic (docs/SCALING.md §4). */
export interface RestoreStart {
  groupId: string;
  topic: string;
  partition: number;
}

/** ... and how it ended. */
export interface RestoreEnd extends RestoreStart {
  source: string;
  recordsRead: number;
  rowsRestored: number;
  ms: number;
}

interface Bucket {
  action: MetaAction;
  topic: string;
  windowStart: number;
  count: number;
  bytes: number;
}

/**
 * Counts published and consumed messages per topic and time window and reports each window once
 * (the seed sent one meta message per message, doubling the load). Totals over all reports equal the
 * counts recorded, as long as `close()` runs.
 */
export class MetaReporter {
  private buckets = new Map<string, Bucket>();
  private timer?: NodeJS.Timeout;
  private inFlight: Promise<void> = Promise.resolve();
  /** Restore reports not sent yet, in the order they happened. */
  private events: Buffer[] = [];
  /** Expected conditions its sends retried (a fresh meta topic's leader election): debug, until one goes on too long. */
  private readonly failures = new ConditionStreaks();
  /** Totals recorded so far, per action and topic: what the reports add up to. */
  readonly totals = new Map<string, number>();
  /** Called for every record (e.g. to feed Prometheus counters). */
  onRecord?: (action: MetaAction, topic: string, count: number, bytes: number) => void;

  constructor(
    private readonly opts: {
      service: string;
      instanceId: string;
      topics: Pick<TopicNames, 'metaPublished' | 'metaConsumed'>;
      windowMs: number;
      sink: MetaSink;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  record(action: MetaAction, topic: string, count: number, bytes: number): void {
    if (count === 0) return;
    const now = (this.opts.now ?? Date.now)();
    const windowStart = now - (now % this.opts.windowMs);
    const key = `${action}\u0000${topic}\u0000${windowStart}`;
    const b = this.buckets.get(key);
    if (b) {
      b.count += count;
      b.bytes += bytes;
    } else this.buckets.set(key, { action, topic, windowStart, count, bytes });
    const tk = `${action}:${topic}`;
    this.totals.set(tk, (this.totals.get(tk) ?? 0) + count);
    this.onRecord?.(action, topic, count, bytes);
  }

  /**
   * Reports that a partition restore began, at once (not per window: the monitor shows it in progress).
   * Sent with count and bytes 0, so it never adds to the message totals.
   */
  restoreStarted(r: RestoreStart): void {
    const now = (this.opts.now ?? Date.now)();
    this.event(
      MetaReport_Action.RESTORE_STARTED,
      r,
      now,
      now,
      create(MetaReport_RestoreSchema, { groupId: r.groupId, partition: r.partition }),
    );
  }

  /** Reports how a restore ended; its window is [end − ms, end). */
  restoreFinished(r: RestoreEnd): void {
    const now = (this.opts.now ?? Date.now)();
    const restore = create(MetaReport_RestoreSchema, {
      groupId: r.groupId,
      partition: r.partition,
      source: r.source,
      recordsRead: BigInt(r.recordsRead),
      rowsRestored: BigInt(r.rowsRestored),
      durationMs: BigInt(r.ms),
    });
    this.event(MetaReport_Action.RESTORE_FINISHED, r, now - r.ms, now, restore);
  }

  private event(action: MetaReport_Action, r: RestoreStart, startMs: number, endMs: number, restore: MetaReport_Restore): void {
    const msg = create(MetaReportSchema, {
      service: this.opts.service,
      instanceId: this.opts.instanceId,
      action,
      topic: r.topic,
      windowStartMs: BigInt(startMs),
      windowEndMs: BigInt(endMs),
      restore,
    });
    this.events.push(Buffer.from(toBinary(MetaReportSchema, msg)));
    void this.flush(false);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(false), this.opts.windowMs);
    this.timer.unref();
  }

  /** Sends every finished window (all windows when `all`). A failed send keeps its buckets for the next flush. */
  flush(all: boolean): Promise<void> {
    this.inFlight = this.inFlight.then(() => this.flushNow(all));
    return this.inFlight;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush(true);
  }

  private metaTopic(action: MetaAction): string {
    return action === 'published' ? this.opts.topics.metaPublished : this.opts.topics.metaConsumed;
  }

  private async flushNow(all: boolean): Promise<void> {
    const now = (this.opts.now ?? Date.now)();
    const currentWindow = now - (now % this.opts.windowMs);
    const ready: Bucket[] = [];
    for (const [k, b] of this.buckets) {
      if (all || b.windowStart < currentWindow) {
        ready.push(b);
        this.buckets.delete(k);
      }
    }
    const events = this.events;
    this.events = [];
    if (ready.length === 0 && events.length === 0) return;
    const byTopic = new Map<string, { key: string; value: Buffer }[]>();
    // A restore reads: its reports go with the consumed ones, in the order they happened (one partition).
    if (events.length)
      byTopic.set(
        this.opts.topics.metaConsumed,
        events.map((value) => ({ key: this.opts.service, value })),
      );
    for (const b of ready) {
      const metaTopic = this.metaTopic(b.action);
      const msg = create(MetaReportSchema, {
        service: this.opts.service,
        instanceId: this.opts.instanceId,
        action: b.action === 'published' ? MetaReport_Action.PUBLISHED : MetaReport_Action.CONSUMED,
        topic: b.topic,
        windowStartMs: BigInt(b.windowStart),
        windowEndMs: BigInt(b.windowStart + this.opts.windowMs),
        count: BigInt(b.count),
        bytes: BigInt(b.bytes),
      });
      const list = byTopic.get(metaTopic) ?? [];
      list.push({ key: this.opts.service, value: Buffer.from(toBinary(MetaReportSchema, msg)) });
      byTopic.set(metaTopic, list);
    }
    // Each meta topic on its own: one that fails does not hold back (or send twice) the other's reports.
    const failed = new Set<string>();
    for (const [topic, messages] of byTopic) {
      try {
        await this.opts.sink.send(topic, messages);
      } catch (e) {
        failed.add(topic);
        reportRetriedFailure(
          this.opts.logger,
          this.failures,
          topic,
          `meta report to ${topic} failed, will retry: ${(e as Error).message}`,
          e,
        );
      }
    }
    if (failed.size === 0) return;
    // Put back what was not sent (merged with anything newer): reports are late, never lost.
    if (failed.has(this.opts.topics.metaConsumed)) this.events = [...events, ...this.events];
    for (const b of ready) {
      if (!failed.has(this.metaTopic(b.action))) continue;
      const key = `${b.action}\u0000${b.topic}\u0000${b.windowStart}`;
      const cur = this.buckets.get(key);
      if (cur) {
        cur.count += b.count;
        cur.bytes += b.bytes;
      } else this.buckets.set(key, b);
    }
  }
}
