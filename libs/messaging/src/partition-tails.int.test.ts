// Reading partition tails and whole partitions on the real broker (started by the jest global setup).
import { Kafka, logLevel } from './kafkajs';
import { createLogger } from '@movie-stream/logging';
import { ensureTopics, keyPartitioner, Publisher, readPartitions, readPartitionTails } from './index';

jest.setTimeout(180_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'test', level: 'error', format: 'json' });
const kafka = new Kafka({ clientId: 'partition-tails-int-test', brokers, logLevel: logLevel.NOTHING });
const prefix = `tails-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

describe('reading partition tails on a real broker', () => {
  const admin = kafka.admin();
  const topic = `${prefix}.t`;
  const groupIdPrefix = `${prefix}.reader`;
  // partition → values written, in order; partitions 3 and 4 stay empty, partition 2 is emptied by deleteTopicRecords.
  const written = new Map<number, string[]>([
    [0, []],
    [1, []],
    [2, []],
    [3, []],
    [4, []],
  ]);

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, [{ name: topic, partitions: 5 }], 0, logger);
    const publisher = new Publisher(kafka, { brokers, logger, idempotent: true });
    await publisher.connect();
    // Several sends, so partition 0's records span several record batches.
    for (let b = 0; b < 5; b++) {
      const messages = Array.from({ length: 300 }, (_, i) => ({ partition: 0, key: 'k', value: Buffer.from(`p0-${b * 300 + i}`) }));
      await publisher.send(topic, messages);
      written.get(0)!.push(...messages.map((m) => String(m.value)));
    }
    await publisher.send(topic, [{ partition: 1, key: 'only', value: Buffer.from('p1-0') }]);
    written.get(1)!.push('p1-0');
    await publisher.send(
      topic,
      [0, 1, 2].map((i) => ({ partition: 2, key: 'k', value: Buffer.from(`p2-${i}`) })),
    );
    await publisher.disconnect();
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 2, offset: '3' }] });
  });

  afterAll(async () => {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  });

  it('returns the last record of every non-empty partition and nothing for empty ones', async () => {
    const tails = await readPartitionTails({ kafka, admin, brokers, topic, logger, groupIdPrefix });
    expect(tails.map((t) => [t.partition, t.low, t.high])).toEqual([
      [0, '0', '1500'],
      [1, '0', '1'],
      [2, '3', '3'],
      [3, '0', '0'],
      [4, '0', '0'],
    ]);
    expect(tails.map((t) => t.last && [t.last.offset, String(t.last.value)])).toEqual([
      ['1499', 'p0-1499'],
      ['0', 'p1-0'],
      undefined,
      undefined,
      undefined,
    ]);
    expect(String(tails[1].last?.key)).toBe('only');
    // The throw-away group is deleted afterwards.
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(groups.filter((g) => g.startsWith(groupIdPrefix))).toEqual([]);
  });

  it('reads whole partitions in order up to the high watermark', async () => {
    const parts = await readPartitions({ kafka, admin, brokers, topic, logger, groupIdPrefix }, ({ low }) => low);
    expect(parts.map((p) => p.records.map((r) => String(r.value)))).toEqual([...written.values()]);
    expect(parts[0].records.map((r) => r.offset)).toEqual(Array.from({ length: 1500 }, (_, i) => String(i)));
    // From an offset inside the partition.
    const from = await readPartitions({ kafka, admin, brokers, topic, logger, groupIdPrefix }, ({ partition, high }) =>
      partition === 0 ? '1234' : high,
    );
    expect(from[0].records.map((r) => String(r.value))).toEqual(written.get(0)!.slice(1234));
    expect(from.slice(1).every((p) => p.records.length === 0)).toBe(true);
  });

  it('an empty topic is read without a consumer', async () => {
    const empty = `${prefix}.empty`;
    await ensureTopics(admin, [{ name: empty, partitions: 3 }], 0, logger);
    const tails = await readPartitionTails({ kafka, admin, brokers, topic: empty, logger, groupIdPrefix: `${prefix}.none` });
    expect(tails.map((t) => [t.partition, t.high, t.last])).toEqual([
      [0, '0', undefined],
      [1, '0', undefined],
      [2, '0', undefined],
    ]);
  });

  it('keyPartitioner puts a key where the Publisher puts it', async () => {
    const keyed = `${prefix}.keyed`;
    await ensureTopics(admin, [{ name: keyed, partitions: 6 }], 0, logger);
    const publisher = new Publisher(kafka, { brokers, logger, idempotent: true });
    await publisher.connect();
    await publisher.send(
      keyed,
      Array.from({ length: 2000 }, (_, i) => ({ key: String(i + 1), value: Buffer.from(String(i + 1)) })),
    );
    await publisher.disconnect();
    const partitionOf = keyPartitioner(keyed, 6);
    const parts = await readPartitions({ kafka, admin, brokers, topic: keyed, logger, groupIdPrefix }, ({ low }) => low);
    let n = 0;
    for (const p of parts) {
      for (const r of p.records) {
        expect(partitionOf(String(r.key))).toBe(p.partition);
        n++;
      }
    }
    expect(n).toBe(2000);
    expect(new Set(parts.filter((p) => p.records.length > 0).map((p) => p.partition)).size).toBe(6);
  });
});
