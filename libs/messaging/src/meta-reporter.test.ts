import { fromBinary, MetaReport_Action, MetaReportSchema } from '@movie-stream/schema';
import { createLogger } from '@movie-stream/logging';
import { MetaReporter } from './meta-reporter';

const logger = createLogger({ service: 't', level: 'error', format: 'json' });
const topics = { metaPublished: 'meta.published', metaConsumed: 'meta.consumed' };

describe('MetaReporter', () => {
  it('sends one report per action, topic and window, and only finished windows until close', async () => {
    let now = 10_000;
    const sent: { topic: string; value: Buffer }[] = [];
    const r = new MetaReporter({
      service: 'svc',
      instanceId: 'i',
      topics,
      windowMs: 1000,
      logger,
      now: () => now,
      sink: { send: async (topic, msgs) => void sent.push(...msgs.map((m) => ({ topic, value: m.value }))) },
    });
    r.record('published', 'ratings', 10, 100);
    r.record('published', 'ratings', 5, 50);
    r.record('consumed', 'ratings', 3, 30);
    now = 10_500;
    r.record('published', 'ratings', 1, 10);
    await r.flush(false); // window 10000 still open
    expect(sent).toHaveLength(0);
    now = 11_200;
    r.record('published', 'ratings', 7, 70);
    await r.flush(false);
    const reports = sent.map((s) => ({ ...fromBinary(MetaReportSchema, s.value), metaTopic: s.topic }));
    expect(reports.map((x) => [x.metaTopic, x.action, Number(x.count), Number(x.windowStartMs)])).toEqual([
      ['meta.published', MetaReport_Action.PUBLISHED, 16, 10_000],
      ['meta.consumed', MetaReport_Action.CONSUMED, 3, 10_000],
    ]);
    await r.close();
    expect(sent).toHaveLength(3);
    expect(Number(fromBinary(MetaReportSchema, sent[2].value).count)).toBe(7);
    expect(r.totals.get('published:ratings')).toBe(23);
  });

  it('keeps the counts of a failed send for the next flush: late, never lost', async () => {
    let fail = true;
    const counts: number[] = [];
    const r = new MetaReporter({
      service: 'svc',
      instanceId: 'i',
      topics,
      windowMs: 1000,
      logger,
      now: () => 5_000,
      sink: {
        send: async (_t, msgs) => {
          if (fail) throw new Error('broker down');
          counts.push(...msgs.map((m) => Number(fromBinary(MetaReportSchema, m.value).count)));
        },
      },
    });
    r.record('published', 'x', 4, 0);
    await r.flush(true);
    r.record('published', 'x', 6, 0);
    fail = false;
    await r.flush(true);
    expect(counts).toEqual([10]);
  });
});

describe('MetaReporter restore reports', () => {
  it('sends a restore start and end at once, in order, on the consumed topic, with count 0 (no message totals)', async () => {
    let now = 20_000;
    const sent: { topic: string; key: string; value: Buffer }[] = [];
    const r = new MetaReporter({
      service: 'svc',
      instanceId: 'i',
      topics,
      windowMs: 60_000,
      logger,
      now: () => now,
      sink: { send: async (topic, msgs) => void sent.push(...msgs.map((m) => ({ topic, ...m }))) },
    });
    r.record('consumed', 'ratings', 5, 50); // its window is still open: not sent with the restores
    r.restoreStarted({ groupId: 'g', topic: 'ratings', partition: 3 });
    now = 20_250;
    r.restoreFinished({ groupId: 'g', topic: 'ratings', partition: 3, source: 'changelog', recordsRead: 1200, rowsRestored: 800, ms: 250 });
    // No timer runs (start() was not called): each restore flushes by itself.
    await r.flush(false);
    expect(sent.map((s) => [s.topic, s.key])).toEqual([
      ['meta.consumed', 'svc'],
      ['meta.consumed', 'svc'],
    ]);
    const [start, end] = sent.map((s) => fromBinary(MetaReportSchema, s.value));
    expect(start).toMatchObject({ action: MetaReport_Action.RESTORE_STARTED, topic: 'ratings', count: 0n, bytes: 0n });
    expect([start.windowStartMs, start.windowEndMs]).toEqual([20_000n, 20_000n]);
    expect(start.restore).toMatchObject({ groupId: 'g', partition: 3, source: '', recordsRead: 0n });
    expect(end).toMatchObject({ action: MetaReport_Action.RESTORE_FINISHED, count: 0n, windowStartMs: 20_000n, windowEndMs: 20_250n });
    expect(end.restore).toMatchObject({
      groupId: 'g',
      partition: 3,
      source: 'changelog',
      recordsRead: 1200n,
      rowsRestored: 800n,
      durationMs: 250n,
    });
    // The totals are messages only.
    expect([...r.totals]).toEqual([['consumed:ratings', 5]]);
    await r.close();
    expect(sent.map((s) => Number(fromBinary(MetaReportSchema, s.value).count))).toEqual([0, 0, 5]);
  });

  it('retries only what a failed flush did not send: a topic that took its reports does not get them twice', async () => {
    const failOn = new Set(['meta.consumed']);
    const sent: { topic: string; report: ReturnType<typeof fromBinary<typeof MetaReportSchema>> }[] = [];
    const r = new MetaReporter({
      service: 'svc',
      instanceId: 'i',
      topics,
      windowMs: 1000,
      logger,
      now: () => 5_000,
      sink: {
        send: async (topic, msgs) => {
          if (failOn.has(topic)) throw new Error('broker down');
          sent.push(...msgs.map((m) => ({ topic, report: fromBinary(MetaReportSchema, m.value) })));
        },
      },
    });
    r.record('published', 'mean-ratings', 4, 40);
    r.record('consumed', 'ratings', 6, 60);
    r.restoreStarted({ groupId: 'g', topic: 'ratings', partition: 1 });
    await r.flush(true);
    expect(sent.map((s) => [s.topic, Number(s.report.count)])).toEqual([['meta.published', 4]]);
    failOn.clear();
    await r.flush(true);
    expect(sent.map((s) => [s.topic, s.report.action, Number(s.report.count)])).toEqual([
      ['meta.published', MetaReport_Action.PUBLISHED, 4],
      ['meta.consumed', MetaReport_Action.RESTORE_STARTED, 0],
      ['meta.consumed', MetaReport_Action.CONSUMED, 6],
    ]);
  });
});
