// Reading partition tails and whole partitions on the real broker (started by the jest global setup).
import { Kafka, logLevel } from './kafkajs';
import { createLogger } from '@movie-stream/logging';
import { ensureTopics, keyPartitioner, Publisher, readPartitions, readPartitionTails, streamPartitions, TopicRecord } from './index';
import { readUntil } from './int-test-kit';

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
    // No consumer group was made for the read.
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

  it('joins no consumer group: none exists before, during or after a read', async () => {
    const mine = async () => (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupIdPrefix));
    expect(await mine()).toEqual([]);
    const during: string[][] = [];
    await streamPartitions(
      { kafka, admin, brokers, topic, logger, groupIdPrefix, fetchMaxBytesPerPartition: 1 },
      ({ low }) => low,
      async () => void during.push(await mine()),
    );
    expect(during.length).toBeGreaterThan(1);
    expect(during.flat()).toEqual([]);
    expect(await mine()).toEqual([]);
  });

  it('hands the records on fetch by fetch, in order, each once', async () => {
    const batches: [number, TopicRecord[]][] = [];
    const ranges = await streamPartitions(
      // One record batch per fetch (a fetch returns at least one whatever the limit): partition 0 takes 5.
      { kafka, admin, brokers, topic, logger, fetchMaxBytesPerPartition: 1 },
      ({ low }) => low,
      (partition, records) => void batches.push([partition, records]),
    );
    expect(ranges.map((r) => [r.partition, r.low, r.high])).toEqual([
      [0, '0', '1500'],
      [1, '0', '1'],
      [2, '3', '3'],
      [3, '0', '0'],
      [4, '0', '0'],
    ]);
    const p0 = batches.filter(([p]) => p === 0).map(([, records]) => records);
    expect(p0.length).toBe(5);
    expect(p0.flat().map((r) => String(r.value))).toEqual(written.get(0));
    expect(batches.filter(([p]) => p === 1).flatMap(([, records]) => records.map((r) => String(r.value)))).toEqual(['p1-0']);
  });

  it('stops at an abort, handing on nothing more', async () => {
    const stop = new AbortController();
    const reason = new Error('stopping');
    let calls = 0;
    const read = streamPartitions(
      { kafka, admin, brokers, topic, logger, signal: stop.signal, fetchMaxBytesPerPartition: 1 },
      ({ partition, low, high }) => (partition === 0 ? low : high),
      () => {
        calls++;
        stop.abort(reason);
      },
    );
    await expect(read).rejects.toBe(reason);
    expect(calls).toBe(1);
  });

  it('leaves out aborted transactions and transaction markers (read_committed)', async () => {
    const txTopic = `${prefix}.tx`;
    await ensureTopics(admin, [{ name: txTopic, partitions: 1 }], 0, logger);
    const producer = kafka.producer({ transactionalId: `${prefix}.tx`, idempotent: true, maxInFlightRequests: 1 });
    const plain = new Publisher(kafka, { brokers, logger, idempotent: true });
    await Promise.all([producer.connect(), plain.connect()]);
    const inTx = async (values: string[], commit: boolean) => {
      const tx = await producer.transaction();
      await tx.send({ topic: txTopic, messages: values.map((v) => ({ partition: 0, value: v })) });
      await (commit ? tx.commit() : tx.abort());
    };
    await inTx(['c1', 'c2'], true);
    await inTx(['a1', 'a2', 'a3'], false);
    await plain.send(txTopic, [{ partition: 0, key: 'k', value: Buffer.from('plain') }]);
    await inTx(['a4'], false);
    await inTx(['c3'], true);
    await Promise.all([producer.disconnect(), plain.disconnect()]);
    const expected = ['c1', 'c2', 'plain', 'c3'];
    // A commit returns once the coordinator decided it; c3's commit marker reaches the partition a moment later,
    // and until then read_committed ends before c3 (CI read too early once): read until it is there.
    const readWhole = async () =>
      (await readPartitions({ kafka, admin, brokers, topic: txTopic, logger }, ({ low }) => low))[0].records.map((r) => String(r.value));
    const whole = await readUntil(readWhole, (w) => w.length >= expected.length, 30_000);
    expect(whole).toEqual(expected);
    // Batch by batch too (aborted batches and markers in separate fetches).
    const one: string[] = [];
    await streamPartitions(
      { kafka, admin, brokers, topic: txTopic, logger, fetchMaxBytesPerPartition: 1 },
      ({ low }) => low,
      (_p, records) => void one.push(...records.map((r) => String(r.value))),
    );
    expect(one).toEqual(expected);
    // The last entry is c3's commit marker: no tail record.
    const [tail] = await readPartitionTails({ kafka, admin, brokers, topic: txTopic, logger });
    expect(tail.last).toBeUndefined();
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
