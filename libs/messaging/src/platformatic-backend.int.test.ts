// The Publisher on @platformatic/kafka (KAFKA_CLIENT=platformatic) against the real broker: every message
// once, on the partition KafkaJS's Java-compatible partitioner gives its key (the pipeline's co-partitioning
// rests on it), values intact; read back with the KafkaJS-based readers.
import { createLogger } from '@movie-stream/logging';
import { fromBinary, MetaReportSchema } from '@movie-stream/schema';
import { createKafka, ensureTopics, keyPartitioner, MetaReporter, Publisher, readPartitions, topicNames } from './index';
import type { KafkaConnection } from './kafka-factory';

jest.setTimeout(180_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'test', level: 'error', format: 'json' });
const kafka = createKafka({ brokers, clientId: 'platformatic-backend-int-test' }, logger);
const connection: KafkaConnection = { brokers, clientId: 'platformatic-backend-int-test' };
const prefix = `plt-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
const admin = kafka.admin();
const PARTITIONS = 12;

/** Keys of every kind the partitioner sees: small numbers (movie ids), long strings, non-ASCII, raw bytes. */
function keys(n: number): (string | Buffer)[] {
  let seed = 17;
  const rnd = (m: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % m;
  return Array.from({ length: n }, (_, i) => {
    switch (i % 4) {
      case 0:
        return String(i);
      case 1:
        return `movie-${rnd(1_000_000)}-${'x'.repeat(rnd(40))}`;
      case 2:
        return `ключ-${i}-é-🎬`;
      default:
        return Buffer.from(Array.from({ length: 1 + rnd(24) }, () => rnd(256)));
    }
  });
}

async function contents(topic: string) {
  return readPartitions({ kafka, admin, brokers, topic, logger, groupIdPrefix: `${prefix}.read` }, ({ low }) => low);
}

beforeAll(async () => {
  await admin.connect();
});

afterAll(async () => {
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (mine.length) await admin.deleteTopics({ topics: mine });
  await admin.disconnect();
});

describe('Publisher with KAFKA_CLIENT=platformatic', () => {
  it.each([
    ['idempotent, acks -1, one batch in flight', { idempotent: true }],
    ['acks 1, gzip, three batches in flight', { idempotent: false, acks: 1, compression: 'gzip' as const, maxInFlight: 3 }],
  ])('%s: every message once, on its key’s KafkaJS partition, value intact', async (_name, options) => {
    const topic = `${prefix}.${options.idempotent ? 'idem' : 'gzip'}`;
    await ensureTopics(admin, [{ name: topic, partitions: PARTITIONS }], 0, logger);
    const publisher = new Publisher(kafka, { brokers, logger, client: 'platformatic', connection, ...options });
    expect(publisher.client).toBe('platformatic');
    await publisher.connect();
    const all = keys(20_000).map((key, i) => ({ key, value: Buffer.from(`value-${i}`) }));
    // Through enqueue, as the CSV producers publish: batches of 1000 (some keys repeat across batches).
    for (let i = 0; i < all.length; i += 1000) await publisher.enqueue(topic, all.slice(i, i + 1000));
    await publisher.flush();
    await publisher.disconnect();

    const partitionOf = keyPartitioner(topic, PARTITIONS);
    const expected = new Map(all.map((m, i) => [`value-${i}`, { key: Buffer.from(m.key), partition: partitionOf(m.key) }]));
    const seen = new Map<string, number>();
    const misplaced: string[] = [];
    for (const part of await contents(topic)) {
      for (const r of part.records) {
        const value = String(r.value);
        seen.set(value, (seen.get(value) ?? 0) + 1);
        const want = expected.get(value);
        if (!want) misplaced.push(`unexpected value ${value}`);
        else if (!want.key.equals(r.key!) || want.partition !== part.partition)
          misplaced.push(`${value}: key ${String(r.key)} on ${part.partition}, expected ${want.partition}`);
      }
    }
    expect(misplaced.slice(0, 5)).toEqual([]);
    expect(seen.size).toBe(all.length);
    expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
    // The keys spread over every partition (so the check above compared real partitions, not one).
    expect(new Set([...expected.values()].map((e) => e.partition)).size).toBe(PARTITIONS);
  });

  it('the meta sink sends with the same client, and the reports add up to what was published', async () => {
    const names = topicNames({
      topicRatings: `${prefix}.r`,
      topicMovies: `${prefix}.m`,
      topicMeanRatings: `${prefix}.mr`,
      topicMetaPrefix: `${prefix}.meta`,
    });
    await ensureTopics(
      admin,
      [names.ratings, names.metaPublished, names.metaConsumed].map((name) => ({ name, partitions: name === names.ratings ? 6 : 1 })),
      0,
      logger,
    );
    const publisher = new Publisher(kafka, { brokers, logger, client: 'platformatic', connection, idempotent: true });
    await publisher.connect();
    const meta = new MetaReporter({ service: 'it', instanceId: 'i1', topics: names, windowMs: 200, sink: publisher.rawSink(), logger });
    publisher.meta = meta;
    meta.start();
    for (let b = 0; b < 5; b++) {
      await publisher.send(
        names.ratings,
        Array.from({ length: 500 }, (_, i) => ({ key: String(i % 37), value: Buffer.from(`r-${b}-${i}`) })),
      );
    }
    await meta.close();
    await publisher.disconnect();
    const reports = (await contents(names.metaPublished)).flatMap((p) => p.records);
    expect(reports.length).toBeGreaterThan(0);
    const counted = reports.map((r) => fromBinary(MetaReportSchema, r.value!)).reduce((sum, m) => sum + Number(m.count), 0);
    expect(counted).toBe(2_500);
  });

  it('refuses what it cannot do before sending anything', () => {
    const base = { brokers, logger, connection };
    expect(() => new Publisher(kafka, { ...base, client: 'platformatik' })).toThrow(
      /KAFKA_CLIENT "platformatik" is not one of kafkajs, platformatic/,
    );
    expect(() => new Publisher(kafka, { ...base, client: 'platformatic', compression: 'zstd' as never })).toThrow(
      /KAFKA_COMPRESSION "zstd" is not one of none, gzip, lz4/,
    );
    expect(() => new Publisher(kafka, { ...base, client: 'platformatic', compression: 'lz4' })).toThrow(
      /KAFKA_COMPRESSION=lz4 needs KAFKA_CLIENT=kafkajs/,
    );
    expect(() => new Publisher(kafka, { ...base, client: 'platformatic', idempotent: true, acks: 1 })).toThrow(
      /idempotent producer needs KAFKA_ACKS=-1/,
    );
  });

  it('needs the connection settings for the platformatic client', async () => {
    const publisher = new Publisher(kafka, { brokers, logger, client: 'platformatic' });
    await expect(publisher.connect()).rejects.toThrow(/needs the connection settings/);
    await publisher.disconnect();
  });
});
