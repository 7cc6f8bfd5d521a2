// A fresh topic against the real broker (started by the jest global setup): reading its offsets while its
// partitions elect their leaders is ordinary, and logs no warning or error (issue 20), whether or not the
// election is still under way when the first request arrives.
import { kafkaClient } from './kafka-factory';
import { retryForever } from './kafka-client';
import { brokers, uniqueName } from './int-test-kit';

jest.setTimeout(60_000);

it('reads the offsets of a topic created a moment ago (leaders not awaited) without a warning or an error', async () => {
  const lines: { level: string; message: string; meta?: object }[] = [];
  const at = (level: string) => (message: string, meta?: object) => void lines.push({ level, message, meta });
  const logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
  const kafka = kafkaClient({ brokers }, 'expected-conditions-int-test', logger);
  const admin = kafka.admin();
  const topics = [uniqueName('fresh-a'), uniqueName('fresh-b')];
  await admin.connect();
  try {
    // Many partitions, and no waiting for their leaders: the election is under way when the reads start.
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 24 })), waitForLeaders: false });
    const offsets = await Promise.all(
      topics.map((t) => retryForever(`reading the offsets of ${t}`, () => admin.fetchTopicOffsets(t), logger)),
    );
    expect(offsets.map((o) => o.length)).toEqual([24, 24]);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    // What was retried on the way, if anything (it depends on the broker's timing), was logged at debug.
    process.stderr.write(`fresh topics: ${lines.filter((l) => l.level === 'debug').length} debug lines\n`);
  } finally {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
});
