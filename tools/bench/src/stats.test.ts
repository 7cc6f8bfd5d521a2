import { parseConsumerPerf, parseProducerPerf } from './kafka-perf';
import { counterValue } from './counters';
import { median, medians, spread, table } from './stats';

it('median, spread and per-key medians', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 2, 3])).toBe(2.5);
  expect(spread([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5 });
  expect(
    medians([
      { a: 1, ok: true, s: 'x' },
      { a: 3, ok: false, s: 'y' },
    ]),
  ).toEqual({ a: 2, ok: false });
});

it('medians of nested figures (api_load) key by key', () => {
  const run = (rps: number, s200: number) => ({ a: 1, api_load: { clients: 8, endpoints: { movie: { rps, statuses: { '200': s200 } } } } });
  expect(medians([run(10, 1), run(30, 5), run(20, 3)])).toEqual({
    a: 1,
    api_load: { clients: 8, endpoints: { movie: { rps: 20, statuses: { '200': 3 } } } },
  });
});

it('table shows median and range for several runs', () => {
  const t = table([{ key: 'a', label: 'A' }], [{ name: 'base', runs: [{ a: 1 }, { a: 3 }, { a: 2 }] }]);
  expect(t).toContain('2.000 [1.000–3.000]');
});

it('parses Kafka perf tool output', () => {
  const p = parseProducerPerf(
    'WARN x\n100000 records sent, 64724.9 records/sec (1.48 MB/sec), 192.49 ms avg latency, 463.00 ms max latency.\n',
  );
  expect(p.perSec).toBe(64724.9);
  const c = parseConsumerPerf(
    [
      'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
      '2026-11-27 08:38:24:028, 2026-11-27 08:38:24:501, 2.2888, 4.8389, 100000, 211416.4905, 239, 234, 9.7813, 427350.4274',
    ].join('\n'),
  );
  expect(c).toMatchObject({ perSec: 427350.4274, perSecWithJoin: 211416.4905 });
});

it('reads a Prometheus counter by labels', () => {
  const text =
    'movie_stream_messages_total{action="consumed",topic="t",service="s"} 42\nmovie_stream_messages_total{action="published",topic="t"} 7\n';
  expect(counterValue(text, 'consumed', 't')).toBe(42);
  expect(counterValue(text, 'published', 'u')).toBe(0);
});

it('table leaves out figures no run has', () => {
  const t = table(
    [
      { key: 'a', label: 'A' },
      { key: 'capped', label: 'C' },
    ],
    [{ name: 'base', runs: [{ a: 1 }] }],
  );
  expect(t.split('\n').map((l) => l.split(/\s+/)[0])).toEqual(['figure', '------', 'A']);
});
