// Smoke check of the bench: the whole measurement on ~20,000 ratings against the real broker. A
// functional check only (every figure present and positive, result correct), never a timing assert. An lz4
// variant runs the bundled apps with KAFKA_COMPRESSION=lz4 (lz4-napi loaded beside the bundles): correct,
// and its topics take fewer bytes on the broker.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps } from '@movie-stream/pipeline-run';
import { runBench } from './bench';

jest.setTimeout(180_000);

const FIELDS = [
  'ratings',
  'e2e_seconds',
  'e2e_ratings_per_s',
  'producer_per_s',
  'processor_per_s',
  'sink_per_s',
  'kafka_producer_perf_per_s',
  'kafka_consumer_perf_per_s',
  'processor_peak_rss_mb',
  'producer_peak_rss_mb',
  'snapshot_max_block_ms',
  'e2e_vs_kafka',
  'producer_cpu_s_per_1m',
  'processor_cpu_s_per_1m',
  'sink_cpu_s_per_1m',
  'services_cpu_s_per_1m',
  'ratings_topic_mb',
  'mean_ratings_topic_mb',
];

beforeAll(() => buildApps());

it('measures a 20,000-rating run next to Kafka’s perf tools and checks the result', async () => {
  const r = await runBench({
    ratings: 20_000,
    movies: 2_000,
    partitions: 6,
    runs: 1,
    benchDir: mkdtempSync(join(tmpdir(), 'bench-')),
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    log: () => undefined,
    variants: [{ name: 'lz4', env: { KAFKA_COMPRESSION: 'lz4' } }],
  });
  expect(r.problems).toEqual([]);
  expect(r.json.correct).toBe(true);
  for (const f of FIELDS) {
    expect([f, typeof r.json[f]]).toEqual([f, 'number']);
    expect([f, (r.json[f] as number) > 0]).toEqual([f, true]);
  }
  expect(r.json.ratings).toBe(20_000);
  // Per 1M ratings: the run's CPU-seconds scaled by 1,000,000 / 20,000; the total is the sum of the services.
  const j = r.json as Record<string, number>;
  expect(j.producer_cpu_s_per_1m).toBeCloseTo(j.producer_cpu_s * 50, 0);
  expect(j.services_cpu_s_per_1m).toBeCloseTo(
    j.producer_cpu_s_per_1m + j.processor_cpu_s_per_1m + j.sink_cpu_s_per_1m + j.movie_producer_cpu_s_per_1m,
    0, // each figure is rounded on its own
  );
  expect(j.e2e_vs_kafka).toBeCloseTo(j.e2e_ratings_per_s / j.kafka_producer_perf_per_s, 2);
  const lz4 = (r.json.variants as Record<string, Record<string, number>>).lz4;
  expect(lz4.correct).toBe(true);
  expect(lz4.ratings_topic_mb).toBeLessThan(r.json.ratings_topic_mb as number);
  // Not compared for mean-ratings: how many updates the processor publishes depends on how its fetches fall.
  expect(lz4.mean_ratings_topic_mb).toBeGreaterThan(0);
  expect(r.table).toContain('end to end');
});
