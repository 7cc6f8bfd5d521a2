// npm run report against the real broker: meta reports written to a fresh prefix come back as a table,
// an SVG chart and JSON with the same totals.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { create, MetaReport_Action, MetaReportSchema, toBinary } from '@movie-stream/schema';
import { writeReport } from './report';

jest.setTimeout(60_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kafka = new Kafka({ clientId: 'report-int-test', brokers, logLevel: logLevel.NOTHING });
const prefix = `it-report-${Date.now().toString(36)}-${process.pid}.meta`;

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [`${prefix}.published`, `${prefix}.consumed`] }).catch(() => undefined);
  await admin.disconnect();
});

it('writes the throughput chart and summary from the meta topics', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: `${prefix}.published` }, { topic: `${prefix}.consumed` }], waitForLeaders: true });
  await admin.disconnect();
  const start = Math.floor(Date.now() / 1000) * 1000 - 20_000;
  const report = (action: MetaReport_Action, service: string, i: number, count: number) => ({
    key: service,
    value: Buffer.from(toBinary(MetaReportSchema, create(MetaReportSchema, {
      service, instanceId: `${service}-1`, action, topic: 'ratings',
      windowStartMs: BigInt(start + i * 1000), windowEndMs: BigInt(start + (i + 1) * 1000), count: BigInt(count), bytes: BigInt(count * 20),
    }))),
  });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: `${prefix}.published`, messages: [1000, 3000, 2000].map((c, i) => report(MetaReport_Action.PUBLISHED, 'rating-producer', i, c)) });
  await producer.send({ topic: `${prefix}.consumed`, messages: [500, 2500, 3000].map((c, i) => report(MetaReport_Action.CONSUMED, 'mean-rating-processor', i + 1, c)) });
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
