// The dashboard's Partition restores table in a real browser: restores reported on the meta topic the way
// a stateful consumer reports them, shown in progress first, then finished with their source and figures.
import { createLogger } from '@movie-stream/logging';
import { kafkaClient, MetaReporter, rawSink, waitForLeaders, withAdmin } from '@movie-stream/messaging';
import { startMonitor, Monitor } from '@movie-stream/monitoring';
import { until } from '@movie-stream/test-support';
import { launchChromium } from './browser';

jest.setTimeout(120_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const prefix = `it-restores-${Date.now().toString(36)}-${process.pid}.meta`;
const metaTopics = { metaPublished: `${prefix}.published`, metaConsumed: `${prefix}.consumed` };
const kafka = kafkaClient({ brokers }, `${prefix}-admin`, { warn: () => undefined });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });

let monitor: Monitor | undefined;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await monitor?.close();
  await producer.disconnect().catch(() => undefined);
  await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: Object.values(metaTopics) }).catch(() => undefined));
});

it('lists restores in progress first, then the finished ones with source, records read, rows and time', async () => {
  browser = await launchChromium();
  await withAdmin(kafka, async (admin) => {
    await admin.createTopics({ topics: Object.values(metaTopics).map((topic) => ({ topic })), waitForLeaders: false });
    await waitForLeaders(admin, Object.values(metaTopics));
  });
  await producer.connect();
  const reporter = new MetaReporter({
    service: 'mean-rating-processor',
    instanceId: 'proc-7',
    topics: metaTopics,
    windowMs: 1000,
    sink: rawSink(producer),
    logger: createLogger({ service: 't', level: 'error', format: 'json' }),
  });
  const group = 'movie-stream.mean-rating-processor';
  monitor = await startMonitor({ brokers, metaPrefix: prefix, port: 0, pollMs: 60_000 });
  const page = await browser.context.newPage();
  await page.goto(monitor.url);
  const rowsText = () => page.locator('#restores tbody tr').allInnerTexts();
  const cells = (row: string) => row.split('\t').map((c) => c.trim());

  reporter.restoreStarted({ groupId: group, topic: 'ratings', partition: 1 });
  reporter.restoreStarted({ groupId: group, topic: 'ratings', partition: 4 });
  reporter.restoreFinished({
    groupId: group,
    topic: 'ratings',
    partition: 1,
    source: 'changelog',
    recordsRead: 5120,
    rowsRestored: 733,
    ms: 812,
  });
  let rows: string[] = [];
  const shown = await until(async () => {
    rows = await rowsText();
    return rows.length === 2 && rows[1]!.startsWith('done');
  }, 60_000);
  if (!shown) throw new Error(`restores table never showed one restore in progress and one finished: ${JSON.stringify(rows)}`);
  const [running, done] = rows.map(cells);
  expect(running!.slice(0, 7)).toEqual(['in progress', 'mean-rating-processor proc-7', group, '4', '', '', '']);
  expect(running![7]).toMatch(/^\d+ ms so far$/);
  expect(done!.slice(0, 8)).toEqual(['done', 'mean-rating-processor proc-7', group, '1', 'changelog', '5120', '733', '812 ms']);

  // Partition 4 finishes too: nothing in progress, the newest end on top.
  reporter.restoreFinished({ groupId: group, topic: 'ratings', partition: 4, source: 'local', recordsRead: 0, rowsRestored: 0, ms: 3 });
  await reporter.close();
  const finished = await until(async () => {
    rows = await rowsText();
    return rows.length === 2 && rows.every((r) => r.startsWith('done'));
  }, 60_000);
  if (!finished) throw new Error(`restores table never showed both restores finished: ${JSON.stringify(rows)}`);
  expect(rows.map((r) => cells(r).slice(3, 5))).toEqual([
    ['4', 'local'],
    ['1', 'changelog'],
  ]);
});
