import { MetaPoint, MetaSeries } from './series';

const p = (over: Partial<MetaPoint>): MetaPoint => ({
  service: 'rating-producer',
  instanceId: 'a',
  action: 'published',
  topic: 'ratings',
  windowStartMs: 10_000,
  windowEndMs: 11_000,
  count: 100,
  bytes: 1000,
  ...over,
});

describe('MetaSeries', () => {
  it('sums instances of a service per second and fills gaps with 0', () => {
    const s = new MetaSeries();
    s.add(p({ instanceId: 'a', count: 100 }));
    s.add(p({ instanceId: 'b', count: 50 }));
    s.add(p({ windowStartMs: 13_000, windowEndMs: 14_000, count: 30 }));
    s.add(p({ service: 'mean-rating-processor', action: 'consumed', count: 7 }));
    const rates = s.rates();
    expect(rates.map((r) => r.label)).toEqual(['mean-rating-processor consumed', 'rating-producer published']);
    expect(rates[1].points).toEqual([
      [10_000, 150],
      [11_000, 0],
      [12_000, 0],
      [13_000, 30],
    ]);
    // Every line spans the same seconds, so a chart can align them.
    expect(rates[0].points.map(([t]) => t)).toEqual([10_000, 11_000, 12_000, 13_000]);
    expect(s.rates({ by: 'instance' }).map((r) => r.label)).toEqual(['a consumed', 'a published', 'b published']);
  });

  it('spreads a window longer than a second evenly, keeping the total', () => {
    const s = new MetaSeries();
    s.add(p({ windowStartMs: 20_000, windowEndMs: 24_000, count: 1000 }));
    expect(s.rates()[0].points).toEqual([
      [20_000, 250],
      [21_000, 250],
      [22_000, 250],
      [23_000, 250],
    ]);
    expect(s.summary()[0]).toMatchObject({ messages: 1000, peakPerSecond: 250, meanPerSecond: 250 });
  });

  it('drops seconds older than the retention, so memory stays bounded', () => {
    const s = new MetaSeries(60_000);
    for (let t = 0; t < 600; t++) s.add(p({ windowStartMs: t * 1000, windowEndMs: (t + 1) * 1000, count: 1 }));
    expect(s.size).toBe(61);
    // A late report from before the retention is ignored.
    s.add(p({ windowStartMs: 1000, windowEndMs: 2000, count: 5 }));
    expect(s.size).toBe(61);
    expect(s.summary()[0].messages).toBe(61);
  });

  it('summarises messages, mean and peak msgs/s per service, topic and action', () => {
    const s = new MetaSeries();
    s.add(p({ instanceId: 'a', count: 300 }));
    s.add(p({ instanceId: 'b', count: 100, windowStartMs: 11_000, windowEndMs: 12_000 }));
    s.add(p({ instanceId: 'a', count: 200, windowStartMs: 13_000, windowEndMs: 14_000 }));
    expect(s.summary()).toEqual([
      {
        service: 'rating-producer',
        topic: 'ratings',
        action: 'published',
        instances: 2,
        messages: 600,
        bytes: 3000,
        firstSecond: 10_000,
        lastSecond: 13_000,
        meanPerSecond: 150,
        peakPerSecond: 300,
      },
    ]);
    expect(s.summary({ sinceMs: 11_000 })[0]).toMatchObject({ messages: 300, peakPerSecond: 200, meanPerSecond: 100 });
  });
});

describe('MetaSeries.rates for a short run', () => {
  it('frames a lone second with zero seconds when asked, so a chart has a line to draw', () => {
    const s = new MetaSeries();
    s.add(p({ count: 5000 }));
    s.add(p({ service: 'mean-rating-processor', action: 'consumed', count: 5000 }));
    expect(s.rates()[0].points).toEqual([[10_000, 5000]]);
    const padded = s.rates({ padLoneSecond: true });
    expect(padded.map((r) => r.points)).toEqual([
      [
        [9_000, 0],
        [10_000, 5000],
        [11_000, 0],
      ],
      [
        [9_000, 0],
        [10_000, 5000],
        [11_000, 0],
      ],
    ]);
    // Two seconds or more already make a line: nothing added.
    s.add(p({ windowStartMs: 11_000, windowEndMs: 12_000, count: 1 }));
    expect(s.rates({ padLoneSecond: true })[1].points.map(([t]) => t)).toEqual([10_000, 11_000]);
  });
});
