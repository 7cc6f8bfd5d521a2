import { BatchCoalescer, CoalescedBatch, CoalescerClock } from './batch-coalescer';
import type { KafkaMessage } from './kafkajs';

/** A clock whose timers fire only when the test moves time on. */
class FakeClock implements CoalescerClock {
  private t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, timer] of [...this.timers]) {
      if (timer.at <= this.t) {
        this.timers.delete(id);
        timer.fn();
      }
    }
  }
}

const msg = (offset: number): KafkaMessage => ({ offset: String(offset), value: Buffer.from(String(offset)) }) as unknown as KafkaMessage;

/** Messages from..to-1 of partition p, as one fetched batch. */
const batch = (from: number, to: number, p = 0, topic = 't'): CoalescedBatch<string> => ({
  topic,
  partition: p,
  messages: Array.from({ length: to - from }, (_, i) => msg(from + i)),
  nextOffset: String(to),
  last: `fp${to - 1}`,
});

const offsets = (b: CoalescedBatch<string>) => b.messages.map((m) => Number(m.offset));
/** Lets queued promise callbacks run. */
const settle = () => new Promise((r) => setImmediate(r));

function setup(maxMessages: number, maxMs: number, flush?: (b: CoalescedBatch<string>) => Promise<void>) {
  const clock = new FakeClock();
  const flushed: CoalescedBatch<string>[] = [];
  const timerFailures: { batch: CoalescedBatch<string>; error: unknown }[] = [];
  const c = new BatchCoalescer<string>({
    maxMessages,
    maxMs,
    clock,
    flush: flush ?? (async (b) => void flushed.push({ ...b, messages: [...b.messages] })),
    onTimerFailure: (b, error) => timerFailures.push({ batch: b, error }),
  });
  return { c, clock, flushed, timerFailures };
}

describe('BatchCoalescer', () => {
  it('holds batches until maxMessages, then hands them on merged in offset order with the newest nextOffset and last', async () => {
    const { c, flushed } = setup(10, 1000);
    expect(await c.add(batch(0, 4))).toBe('held');
    expect(await c.add(batch(4, 8))).toBe('held');
    expect(c.heldCount()).toBe(8);
    expect(c.pendingNextOffset('t', 0)).toBe('8');
    expect(flushed).toEqual([]);
    expect(await c.add(batch(8, 12))).toBe('flushed');
    expect(flushed.map(offsets)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]);
    expect(flushed[0]).toMatchObject({ topic: 't', partition: 0, nextOffset: '12', last: 'fp11' });
    expect(c.heldCount()).toBe(0);
    expect(c.pendingNextOffset('t', 0)).toBeUndefined();
  });

  it('flushes a partition that receives nothing more once its oldest held batch is maxMs old', async () => {
    const { c, clock, flushed } = setup(0, 100);
    await c.add(batch(0, 3));
    clock.advance(60);
    await c.add(batch(3, 5));
    clock.advance(39);
    await settle();
    expect(flushed).toEqual([]);
    clock.advance(1);
    await c.settled();
    expect(flushed.map(offsets)).toEqual([[0, 1, 2, 3, 4]]);
    // The next batch starts a new window.
    await c.add(batch(5, 6));
    clock.advance(99);
    await settle();
    expect(flushed).toHaveLength(1);
    clock.advance(1);
    await c.settled();
    expect(flushed.map(offsets)).toEqual([[0, 1, 2, 3, 4], [5]]);
  });

  it('keeps partitions apart', async () => {
    const { c, clock, flushed } = setup(5, 100);
    await c.add(batch(0, 3, 0));
    await c.add(batch(0, 2, 1));
    await c.add(batch(0, 2, 0, 'other'));
    expect(await c.add(batch(3, 5, 0))).toBe('flushed');
    expect(flushed.map((b) => [b.topic, b.partition, offsets(b)])).toEqual([['t', 0, [0, 1, 2, 3, 4]]]);
    clock.advance(100);
    await c.settled();
    expect(flushed.map((b) => [b.topic, b.partition, offsets(b)])).toEqual([
      ['t', 0, [0, 1, 2, 3, 4]],
      ['t', 1, [0, 1]],
      ['other', 0, [0, 1]],
    ]);
  });

  it('never runs two flushes of a partition at once; batches added during a flush are held and flushed after it, merged', async () => {
    let running = 0;
    let most = 0;
    const order: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const { c, clock } = setup(6, 100, async (b) => {
      running++;
      most = Math.max(most, running);
      if (order.length === 0) await gate; // the timer's flush is slow
      order.push(offsets(b));
      running--;
    });
    await c.add(batch(0, 2));
    clock.advance(100); // the timer flush starts and waits on the gate
    await settle();
    // Added while that flush runs: held at once (fetching goes on), not applied before it.
    expect(await c.add(batch(2, 4))).toBe('held');
    expect(c.pendingNextOffset('t', 0)).toBe('4');
    // Filling the buffer waits for the flush in progress, then applies everything held, merged.
    const full = c.add(batch(4, 8));
    await settle();
    expect(order).toEqual([]);
    release();
    expect(await full).toBe('flushed');
    expect(order).toEqual([
      [0, 1],
      [2, 3, 4, 5, 6, 7],
    ]);
    expect(most).toBe(1);
  });

  it('while a flush is in progress, what it applies still counts as taken in; dropping leaves it alone', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const flushed: number[][] = [];
    const { c, clock } = setup(4, 100, async (b) => {
      if (b.partition === 0) await gate;
      flushed.push(offsets(b));
    });
    await c.add(batch(0, 2, 0));
    await c.add(batch(0, 3, 1));
    clock.advance(100);
    await settle();
    // Partition 0's timer flush is in progress: it is applied even if the partition's held messages are dropped.
    expect(c.pendingNextOffset('t', 0)).toBe('2');
    await c.add(batch(2, 3, 0));
    // This one fills the buffer and waits for the flush in progress; a drop meanwhile makes it stale.
    const waiting = c.add(batch(3, 6, 0));
    expect(c.drop((_t, p) => p === 0)).toBe(4);
    release();
    expect(await waiting).toBe('stale');
    await c.settled();
    expect(flushed).toEqual([
      [0, 1, 2],
      [0, 1],
    ]);
    expect(c.pendingNextOffset('t', 0)).toBeUndefined();
    // Partition 1 got a new held batch after its flush: dropped, never applied, and its timer is gone.
    await c.add(batch(3, 4, 1));
    expect(c.heldCount('t', 1)).toBe(1);
    expect(c.drop((_t, p) => p === 1)).toBe(1);
    expect(clock.pending()).toBe(0);
    clock.advance(1000);
    await c.settled();
    expect(flushed).toEqual([
      [0, 1, 2],
      [0, 1],
    ]);
  });

  it('reports a failed timer flush (nothing left held), and rejects the add whose flush failed', async () => {
    let fail = true;
    const { c, clock, timerFailures } = setup(3, 100, async () => {
      if (fail) throw new Error('broker gone');
    });
    await c.add(batch(0, 2));
    clock.advance(100);
    await c.settled();
    expect(timerFailures.map((f) => [offsets(f.batch), (f.error as Error).message])).toEqual([[[0, 1], 'broker gone']]);
    expect(c.heldCount()).toBe(0);
    await c.add(batch(0, 2));
    await expect(c.add(batch(2, 3))).rejects.toThrow('broker gone');
    expect(c.heldCount()).toBe(0);
    fail = false;
    expect(await c.add(batch(0, 3))).toBe('flushed');
  });

  it('moves the offset past records without data only when nothing is held; otherwise the held batch ends there', async () => {
    const { c, clock, flushed } = setup(0, 100);
    const advanced: string[] = [];
    await c.advance('t', 0, '3', async () => void advanced.push('3'));
    await c.add(batch(3, 5));
    await c.advance('t', 0, '7', async () => void advanced.push('7'));
    expect(advanced).toEqual(['3']);
    expect(c.pendingNextOffset('t', 0)).toBe('7');
    clock.advance(100);
    await c.settled();
    expect(flushed.map((b) => [offsets(b), b.nextOffset])).toEqual([[[3, 4], '7']]);
  });

  it('flushAll applies every held partition; one that fails is reported and dropped', async () => {
    const { c, clock } = setup(0, 100, async (b) => {
      if (b.partition === 1) throw new Error('fenced');
    });
    const errors: [number, string][] = [];
    await c.add(batch(0, 2, 0));
    await c.add(batch(0, 2, 1));
    await c.flushAll((b, e) => errors.push([b.partition, (e as Error).message]));
    expect(errors).toEqual([[1, 'fenced']]);
    expect(c.heldCount()).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('refuses maxMs 0 (off means: no coalescer)', () => {
    expect(() => setup(10, 0)).toThrow('maxMs > 0');
  });
});
