// The dashboard's Group members table in a real browser: a live group of two consumers, one row each,
// with the partitions each holds (disjoint, covering the topic).
import { kafkaClient, waitForLeaders, withAdmin } from '@movie-stream/messaging';
import { startMonitor, Monitor } from '@movie-stream/monitoring';
import { launchChromium } from './browser';

jest.setTimeout(120_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const scope = `it-members-${Date.now().toString(36)}-${process.pid}.`;
const topic = `${scope}t`;
const group = `${scope}group`;
const clients = ['a', 'b'].map((n) => `${scope}client-${n}`);
const kafka = kafkaClient({ brokers }, `${scope}admin`, { warn: () => undefined });
const consumers = clients.map((clientId) =>
  kafkaClient({ brokers }, clientId, { warn: () => undefined }).consumer({
    groupId: group,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  }),
);

let monitor: Monitor | undefined;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await monitor?.close();
  await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
  await withAdmin(kafka, async (admin) => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.deleteGroups([group]).catch(() => undefined);
  });
});

it('shows one row per member with the partitions it holds', async () => {
  browser = await launchChromium();
  await withAdmin(kafka, async (admin) => {
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: false });
    await waitForLeaders(admin, [topic]);
  });
  // One message per partition: the group commits, and the monitor shows only groups that have.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, messages: [0, 1, 2, 3].map((partition) => ({ partition, value: Buffer.from('x') })) });
  await producer.disconnect();
  for (const c of consumers) {
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async () => undefined });
  }
  monitor = await startMonitor({ brokers, metaPrefix: `${scope}meta`, scope, port: 0, pollMs: 500 });

  const page = await browser.context.newPage();
  await page.goto(monitor.url);
  const rowsText = () => page.locator('#members tbody tr').allInnerTexts();
  // Both members in the table, each holding some partitions of the topic (not while the group rebalances).
  const deadline = Date.now() + 90_000;
  let rows = await rowsText();
  while (!(rows.length === 2 && rows.every((r) => r.includes(`${topic}: `)))) {
    if (Date.now() > deadline) throw new Error(`members table never showed both members: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 200));
    rows = await rowsText();
  }
  expect(rows.map((r) => clients.find((c) => r.includes(c)))).toEqual(clients);
  expect(rows.every((r) => r.includes(group))).toBe(true);
  const held = rows.map((r) =>
    r
      .slice(r.indexOf(`${topic}: `) + topic.length + 2)
      .trim()
      .split(', ')
      .map(Number),
  );
  expect(held[0]!.filter((p) => held[1]!.includes(p))).toEqual([]);
  expect(held.flat().sort()).toEqual([0, 1, 2, 3]);
});
