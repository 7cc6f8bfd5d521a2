// npm run report against the real broker: meta reports written to a fresh prefix come back as a table,
// an SVG chart and JSON with the same totals.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaClient, newRunId, runMetaPrefix, waitForLeaders } from '@movie-stream/messaging';
import { create, MetaReport_Action, MetaReportSchema, toBinary } from '@movie-stream/schema';
import { resolveReportTarget, writeReport } from './report';

jest.setTimeout(60_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
// The project's client (the seam), its KafkaJS log lines dropped.
const kafka = kafkaClient({ brokers }, 'report-int-test', { warn: () => undefined });
const prefix = `it-report-${Date.now().toString(36)}-${process.pid}.meta`;
const created = [`${prefix}.published`, `${prefix}.consumed`];

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: created }).catch(() => undefined);
  await admin.disconnect();
});

async function createMetaTopics(p: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  created.push(`${p}.published`, `${p}.consumed`);
  await admin.createTopics({ topics: [{ topic: `${p}.published` }, { topic: `${p}.consumed` }], waitForLeaders: false });
  await waitForLeaders(admin, [`${p}.published`, `${p}.consumed`]);
  await admin.disconnect();
}

it('writes the throughput chart and summary from the meta topics', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: `${prefix}.published` }, { topic: `${prefix}.consumed` }], waitForLeaders: false });
  await waitForLeaders(admin, [`${prefix}.published`, `${prefix}.consumed`]);
  await admin.disconnect();
  const start = Math.floor(Date.now() / 1000) * 1000 - 20_000;
  const report = (action: MetaReport_Action, service: string, i: number, count: number) => ({
    key: service,
    value: Buffer.from(
      toBinary(
        MetaReportSchema,
        create(MetaReportSchema, {
          service,
          instanceId: `${service}-1`,
          action,
          topic: 'ratings',
          windowStartMs: BigInt(start + i * 1000),
          windowEndMs: BigInt(start + (i + 1) * 1000),
          count: BigInt(count),
          bytes: BigInt(count * 20),
        }),
      ),
    ),
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 }); // a retried send must not count twice
  await producer.connect();
  await producer.send({
    topic: `${prefix}.published`,
    messages: [1000, 3000, 2000].map((c, i) => report(MetaReport_Action.PUBLISHED, 'rating-producer', i, c)),
  });
  await producer.send({
    topic: `${prefix}.consumed`,
    messages: [500, 2500, 3000].map((c, i) => report(MetaReport_Action.CONSUMED, 'mean-rating-processor', i + 1, c)),
  });
  await producer.disconnect();

  const outDir = mkdtempSync(join(tmpdir(), 'report-'));
  const r = await writeReport({ kafka, prefix, sinceMs: start - 60_000, outDir });
  expect(r.reports).toBe(6);
  expect(r.summary.map((s) => [s.service, s.messages, s.meanPerSecond, s.peakPerSecond])).toEqual([
    ['mean-rating-processor', 6000, 2000, 3000],
    ['rating-producer', 6000, 2000, 3000],
  ]);
  expect(r.table).toContain('rating-producer');
  expect(existsSync(join(outDir, 'throughput.svg'))).toBe(true);
  const svg = readFileSync(join(outDir, 'throughput.svg'), 'utf8');
  expect(svg).toMatch(/^<svg/);
  expect(svg).toContain('rating-producer published');
  const json = JSON.parse(readFileSync(join(outDir, 'throughput.json'), 'utf8'));
  const producerLine = json.lines.find((l: { label: string }) => l.label === 'rating-producer published');
  expect(producerLine.points.map((p: number[]) => p[1])).toEqual([1000, 3000, 2000, 0]);

  // --since selects by when the reports were written (Kafka timestamps): after the writes, nothing.
  const none = await writeReport({ kafka, prefix, sinceMs: Date.now() + 1000, outDir: join(outDir, 'none') });
  expect(none.reports).toBe(0);
});

const metaReport = (service: string, action: MetaReport_Action, topic: string, windowStartMs: number, count: number) => ({
  key: service,
  value: Buffer.from(
    toBinary(
      MetaReportSchema,
      create(MetaReportSchema, {
        service,
        instanceId: `${service}-1`,
        action,
        topic,
        windowStartMs: BigInt(windowStartMs),
        windowEndMs: BigInt(windowStartMs + 1000),
        count: BigInt(count),
        bytes: BigInt(count * 20),
      }),
    ),
  ),
});

it('draws a line and points for every series of a one-second run', async () => {
  const p = `it-report-short-${Date.now().toString(36)}-${process.pid}.meta`;
  await createMetaTopics(p);
  const second = Math.floor(Date.now() / 1000) * 1000 - 5000;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 }); // a retried send must not count twice
  await producer.connect();
  await producer.send({
    topic: `${p}.published`,
    messages: [
      metaReport('rating-producer', MetaReport_Action.PUBLISHED, 'ratings', second, 5000),
      metaReport('mean-rating-processor', MetaReport_Action.PUBLISHED, 'mean-ratings', second, 300),
    ],
  });
  await producer.send({
    topic: `${p}.consumed`,
    messages: [
      metaReport('mean-rating-processor', MetaReport_Action.CONSUMED, 'ratings', second, 5000),
      metaReport('movie-data-sink', MetaReport_Action.CONSUMED, 'mean-ratings', second, 300),
    ],
  });
  await producer.disconnect();

  const outDir = mkdtempSync(join(tmpdir(), 'report-short-'));
  const r = await writeReport({ kafka, prefix: p, sinceMs: 0, outDir });
  expect(r.reports).toBe(4);
  const svg = readFileSync(join(outDir, 'throughput.svg'), 'utf8');
  const labels = [
    'mean-rating-processor consumed',
    'mean-rating-processor published',
    'movie-data-sink consumed',
    'rating-producer published',
  ];
  for (const label of labels) {
    // The line: its path has at least one segment (an "L" after the "M"), not a lone point.
    const line = new RegExp(`<path aria-label="[^"]*line: ${label}" [^>]*aria-roledescription="line mark" d="M[-\\d.]+,[-\\d.]+L[^"]+"`);
    expect(svg).toMatch(line);
    // Each second as a point too: the run's second and the zero seconds around it.
    const points =
      svg.match(
        new RegExp(
          `aria-label="seconds: [\\d.]+; messages/s: [\\d.,]+; line: ${label}" role="graphics-symbol" aria-roledescription="point"`,
          'g',
        ),
      ) ?? [];
    expect(points).toHaveLength(3);
  }
  const lines = JSON.parse(readFileSync(join(outDir, 'throughput.json'), 'utf8')).lines as { label: string; points: [number, number][] }[];
  expect(lines.find((l) => l.label === 'rating-producer published')?.points).toEqual([
    [second - 1000, 0],
    [second, 5000],
    [second + 1000, 0],
  ]);
});

it('reads the newest run by default, among several runs on the cluster', async () => {
  // Start times a day ahead: runs other tests start on this broker meanwhile are older.
  const base = Date.now() + 86_400_000;
  const runs = [newRunId(base, 11), newRunId(base + 60_000, 12), newRunId(base + 30_000, 13)];
  for (const id of runs) await createMetaTopics(runMetaPrefix(id));
  const target = await resolveReportTarget(kafka, {});
  expect(target).toEqual({
    prefix: `${runs[1]}.meta`,
    since: 'all',
    run: { runId: runs[1], startedMs: base + 60_000, metaPrefix: `${runs[1]}.meta` },
  });
  // A prefix given wins, with the last 10 minutes by default.
  expect(await resolveReportTarget(kafka, { prefix: 'meta' })).toEqual({ prefix: 'meta', since: '10m' });
});
