import { MetaSeries } from '@movie-stream/monitoring';
import { formatTable, parseDuration } from './report';
import { renderLineChartSvg } from './svg-chart';

it('parses durations', () => {
  expect(parseDuration('10m')).toBe(600_000);
  expect(parseDuration('90s')).toBe(90_000);
  expect(parseDuration('1.5h')).toBe(5_400_000);
  expect(parseDuration('250')).toBe(250);
  expect(() => parseDuration('ten minutes')).toThrow(/not a duration/);
});

it('prints one row per service, topic and action with mean and peak msgs/s', () => {
  const s = new MetaSeries();
  const base = { instanceId: 'a', bytes: 0 };
  s.add({ ...base, service: 'rating-producer', action: 'published', topic: 'ratings', windowStartMs: 0, windowEndMs: 1000, count: 3000 });
  s.add({
    ...base,
    service: 'rating-producer',
    action: 'published',
    topic: 'ratings',
    windowStartMs: 1000,
    windowEndMs: 2000,
    count: 1000,
  });
  s.add({
    ...base,
    service: 'mean-rating-processor',
    action: 'consumed',
    topic: 'ratings',
    windowStartMs: 1000,
    windowEndMs: 2000,
    count: 4000,
  });
  expect(formatTable(s.summary()).split('\n')).toEqual([
    'service                action     topic    instances  messages  seconds  msgs/s mean  msgs/s peak',
    '---------------------  ---------  -------  ---------  --------  -------  -----------  -----------',
    'mean-rating-processor  consumed   ratings          1     4,000        1        4,000        4,000',
    'rating-producer        published  ratings          1     4,000        2        2,000        3,000',
  ]);
});

it('renders an SVG line chart with a marked event, without a browser', async () => {
  const svg = await renderLineChartSvg({
    title: 'test',
    lines: [
      {
        label: 'p published',
        service: 'p',
        action: 'published',
        points: [
          [0, 10],
          [1000, 30],
          [2000, 20],
        ],
      },
    ],
    marks: [{ t: 1000, label: 'broker 2 stopped' }],
  });
  expect(svg).toMatch(/^<svg/);
  expect(svg).toContain('broker 2 stopped');
  expect(svg).toContain('p published');
  expect(svg).toMatch(/<path[^>]*d="M[\d.]+,[\d.]+L/); // the line itself
});
