// The fence behind docs/SCALING.md's zombie handling, on the real broker: a second owner of a partition's
// transactional id makes the first one's writes fail, and read_committed readers never see them.
import { Kafka, logLevel } from './kafkajs';
import { createLogger } from '@movie-stream/logging';
import { ensureTopics, FencedError, PartitionWriter, readPartitions } from './index';
import { readUntil } from './int-test-kit';

jest.setTimeout(120_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'test', level: 'error', format: 'json' });
const kafka = new Kafka({ clientId: 'partition-writer-int-test', brokers, logLevel: logLevel.NOTHING });
const prefix = `writer-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

describe('PartitionWriter on a real broker', () => {
  const admin = kafka.admin();
  const topic = `${prefix}.changelog`;
  const writers: PartitionWriter[] = [];
  const writer = () => {
    const w = new PartitionWriter(kafka, { transactionalId: `${prefix}.p01`, brokers, logger, attempts: 2 });
    writers.push(w);
    return w;
  };
  const values = async () => {
    const parts = await readPartitions({ kafka, admin, brokers, topic, logger, groupIdPrefix: `${prefix}.reader` }, ({ low }) => low);
    return parts.find((p) => p.partition === 1)?.records.map((r) => r.value?.toString()) ?? [];
  };

  // A commit returns once the coordinator decided it; the marker that ends the transaction (and makes its records
  // readable to read_committed) is written to the partition a moment later: read until the condition holds.
  const settle = <T>(read: () => Promise<T>, done: (value: T) => boolean) => readUntil(read, done, 30_000);
  const highWatermark = async () => (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === 1)?.high;

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, [{ name: topic, partitions: 2 }], 0, logger);
  });
  afterAll(async () => {
    for (const w of writers) await w.close();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('commits each batch as one transaction and returns the offset after its commit marker', async () => {
    const a = writer();
    await a.open();
    const next1 = await a.send(topic, 1, [
      { key: '1', value: 'a1' },
      { key: '2', value: 'a2' },
    ]);
    const next2 = await a.send(topic, 1, [{ key: '3', value: 'a3' }]);
    // Records 0 and 1, marker 2; record 3, marker 4.
    expect([next1, next2]).toEqual(['2', '4']);
    expect(await settle(highWatermark, (high) => high === '5')).toBe('5');
    expect(await settle(values, (v) => v.length >= 3)).toEqual(['a1', 'a2', 'a3']);
  });

  it('reports each committed batch to the meta reporter as published, and a fenced one not', async () => {
    const reports: unknown[] = [];
    const meta = { record: (...r: unknown[]) => void reports.push(r) };
    const w = new PartitionWriter(kafka, { transactionalId: `${prefix}.p00`, brokers, logger, meta });
    writers.push(w);
    await w.open();
    await w.send(topic, 0, [
      { key: '1', value: 'xy' },
      { key: '2', value: Buffer.from('abc') },
    ]);
    expect(reports).toEqual([['published', topic, 2, 5]]);
    const newer = new PartitionWriter(kafka, { transactionalId: `${prefix}.p00`, brokers, logger });
    writers.push(newer);
    await newer.open();
    await expect(w.send(topic, 0, [{ key: '3', value: 'zombie' }])).rejects.toBeInstanceOf(FencedError);
    expect(reports).toHaveLength(1);
  });

  it('a second owner fences the first: its next batch fails with FencedError and is never visible', async () => {
    const old = writers[0];
    const b = writer();
    await b.open();
    await expect(old.send(topic, 1, [{ key: '1', value: 'zombie' }])).rejects.toBeInstanceOf(FencedError);
    await b.send(topic, 1, [{ key: '1', value: 'b1' }]);
    await expect(old.send(topic, 1, [{ key: '2', value: 'zombie again' }])).rejects.toBeInstanceOf(FencedError);
    expect(await settle(values, (v) => v.length >= 4)).toEqual(['a1', 'a2', 'a3', 'b1']);
  });
});
