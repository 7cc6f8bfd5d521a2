// LZ4 on a real broker, both ways with Kafka's own Java clients: what the seam's producers write with lz4 is
// stored compressed, read back by the seam and by Kafka's ConsoleConsumer; what Kafka's ConsoleProducer writes
// with lz4 is read by the seam. Java tools run from the project's Kafka jars (tools/kafka/kafka.sh run).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createLogger } from '@movie-stream/logging';
import { Kafka, logLevel } from './kafkajs';
import { ensureTopics, PartitionWriter, Publisher, readPartitions, readTopicRange } from './index';
import { readUntil } from './int-test-kit';
import type { Compression } from './compression';

jest.setTimeout(180_000);

const REPO_ROOT = join(__dirname, '..', '..', '..');
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'test', level: 'error', format: 'json' });
const kafka = new Kafka({ clientId: 'compression-int-test', brokers, logLevel: logLevel.NOTHING });
const prefix = `lz4-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

/** A Kafka Java tool's stdout (its stderr is only shown on failure). */
function javaTool(cls: string, args: string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'tools', 'kafka', 'kafka.sh'), 'run', cls, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cls} exited ${code}: ${err.slice(-2000)}`))));
    child.stdin.end(stdin);
  });
}

/** Bytes the broker holds for a topic (all partitions), from Kafka's LogDirsCommand. */
async function bytesOnBroker(topic: string): Promise<number> {
  const out = await javaTool('org.apache.kafka.tools.LogDirsCommand', [
    '--bootstrap-server',
    brokers.join(','),
    '--describe',
    '--topic-list',
    topic,
  ]);
  const json = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as {
    brokers: { logDirs: { partitions: { partition: string; size: number }[] }[] }[];
  };
  let bytes = 0;
  for (const b of json.brokers) for (const d of b.logDirs) for (const p of d.partitions) bytes += p.size;
  return bytes;
}

/** Values read by the seam's reader, sorted. */
async function readValues(topic: string): Promise<string[]> {
  const values: string[] = [];
  await readTopicRange(kafka, {
    topics: [topic],
    groupId: `${prefix}.reader-${topic}`,
    what: topic,
    timeoutMs: 60_000,
    onMessage: (m) => values.push(m.value?.toString() ?? ''),
  });
  return values.sort();
}

// Rating-like rows: compressible as the pipeline's are.
const N = 20_000;
const rows = Array.from({ length: N }, (_, i) => `${i % 700},${i % 9000},${(i % 10) / 2},${1260759144 + (i % 97) * 60}`);
const expected = [...rows].sort();

describe('LZ4 compression on a real broker', () => {
  const admin = kafka.admin();
  const topic = (name: string) => `${prefix}.${name}`;
  const created: string[] = [];
  /** The rows' bytes on the broker, published without compression. */
  let uncompressedBytes = 0;

  const publish = async (compression: Compression, to: string) => {
    const publisher = new Publisher(kafka, { brokers, logger, compression, maxInFlight: 4 });
    await publisher.connect();
    try {
      for (let i = 0; i < N; i += 5000)
        await publisher.enqueue(
          to,
          rows.slice(i, i + 5000).map((value) => ({ key: value.split(',')[0], value })),
        );
      await publisher.flush();
    } finally {
      await publisher.disconnect();
    }
  };

  beforeAll(async () => {
    await admin.connect();
    for (const name of ['publisher-lz4', 'publisher-none', 'java-lz4', 'writer-lz4', 'writer-none']) created.push(topic(name));
    await ensureTopics(
      admin,
      created.map((name) => ({ name, partitions: 3 })),
      1,
      logger,
    );
    await publish('none', topic('publisher-none'));
    uncompressedBytes = await bytesOnBroker(topic('publisher-none'));
    expect(uncompressedBytes).toBeGreaterThan(N * 25);
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  });

  it("Publisher's lz4 batches: stored compressed, read back by the seam and by Kafka's Java ConsoleConsumer", async () => {
    await publish('lz4', topic('publisher-lz4'));

    expect(await readValues(topic('publisher-lz4'))).toEqual(expected);
    const java = await javaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
      '--bootstrap-server',
      brokers.join(','),
      '--topic',
      topic('publisher-lz4'),
      '--from-beginning',
      '--max-messages',
      String(N),
      '--timeout-ms',
      '60000',
    ]);
    expect(java.split('\n').filter(Boolean).sort()).toEqual(expected);

    // The broker keeps the producer's compression (topic compression.type=producer): far fewer bytes.
    const [lz4, none] = [await bytesOnBroker(topic('publisher-lz4')), await bytesOnBroker(topic('publisher-none'))];
    expect(none).toBeGreaterThan(N * 20);
    console.log(lz4, none);
    expect(lz4).toBeLessThan(none / 2);
  });

  it("reads what Kafka's Java ConsoleProducer wrote with lz4", async () => {
    await javaTool(
      'org.apache.kafka.tools.ConsoleProducer',
      ['--bootstrap-server', brokers.join(','), '--topic', topic('java-lz4'), '--compression-codec', 'lz4'],
      rows.join('\n') + '\n',
    );
    expect(await bytesOnBroker(topic('java-lz4'))).toBeLessThan(uncompressedBytes * 0.65);
    expect(await readValues(topic('java-lz4'))).toEqual(expected);
  });

  it("the processor's transactional writer compresses its changelog batches too", async () => {
    const write = async (compression: Compression, to: string) => {
      const w = new PartitionWriter(kafka, { transactionalId: `${prefix}.${compression}`, brokers, logger, compression });
      try {
        await w.open();
        await w.send(
          to,
          1,
          rows.map((value) => ({ key: value.split(',')[0], value })),
        );
      } finally {
        await w.close();
      }
    };
    await write('lz4', topic('writer-lz4'));
    await write('none', topic('writer-none'));
    // The commit marker reaches the partition a moment after commit() returns; read_committed ends before the
    // batch until then: read until it is there.
    const read = async () =>
      (
        await readPartitions({ kafka, admin, brokers, topic: topic('writer-lz4'), logger, groupIdPrefix: `${prefix}.w` }, ({ low }) => low)
      ).flatMap((p) => p.records.map((r) => r.value?.toString() ?? ''));
    const values = await readUntil(read, (v) => v.length >= expected.length, 30_000);
    expect(values.sort()).toEqual(expected);
    expect(await bytesOnBroker(topic('writer-lz4'))).toBeLessThan((await bytesOnBroker(topic('writer-none'))) * 0.65);
  });
});
