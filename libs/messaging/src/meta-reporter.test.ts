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
