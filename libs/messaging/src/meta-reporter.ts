import { create, toBinary, MetaReport_Action, MetaReportSchema } from '@movie-stream/schema';
import type { Logger } from '@movie-stream/logging';
import type { TopicNames } from './topics';

export type MetaAction = 'published' | 'consumed';

/** Where meta reports go: a KafkaJS producer in production, an array in unit tests. */
export interface MetaSink {
  send(topic: string, messages: { key: string; value: Buffer }[]): Promise<void>;
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
    if (ready.length === 0) return;
    const byTopic = new Map<string, { key: string; value: Buffer }[]>();
    for (const b of ready) {
      const metaTopic = b.action === 'published' ? this.opts.topics.metaPublished : this.opts.topics.metaConsumed;
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
    try {
      for (const [topic, messages] of byTopic) await this.opts.sink.send(topic, messages);
    } catch (e) {
      // Put them back (merged with anything newer): reports are late, never lost.
      for (const b of ready) {
        const key = `${b.action}\u0000${b.topic}\u0000${b.windowStart}`;
        const cur = this.buckets.get(key);
        if (cur) {
          cur.count += b.count;
          cur.bytes += b.bytes;
        } else this.buckets.set(key, b);
      }
      this.opts.logger.warn(`meta report failed, will retry: ${(e as Error).message}`);
    }
  }
}
