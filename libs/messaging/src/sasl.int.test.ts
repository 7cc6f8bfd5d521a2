// The client factory against a broker that requires SASL/PLAIN: a cluster of its own (tools/kafka/kafka.sh
// with KAFKA_SASL_PLAIN), started here and stopped at the end.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createLogger } from '@movie-stream/logging';
import {
  connectWithRetry,
  ensureTopics,
  kafkaClient,
  KafkaAuthenticationError,
  kafkaConnection,
  KafkaConnectionRefusedError,
  keyPartitioner,
  Publisher,
  retryForever,
} from './index';

jest.setTimeout(240_000);

const REPO_ROOT = join(__dirname, '..', '..', '..');
const INSTANCE = 'messaging-sasl';
const PORT_BASE = 34700;
const brokers = [`127.0.0.1:${PORT_BASE + 1}`];
const USER = 'alice';
const PASSWORD = 'alice-secret';
const logger = createLogger({ service: 'sasl-test', level: 'error', format: 'json' });

function kafkaSh(...args: string[]): string {
  const r = spawnSync('bash', [join(REPO_ROOT, 'tools', 'kafka', 'kafka.sh'), ...args], {
    env: {
      ...process.env,
      KAFKA_BROKERS: '',
      KAFKA_INSTANCE: INSTANCE,
      KAFKA_PORT_BASE: String(PORT_BASE),
      KAFKA_SASL_PLAIN: `${USER}:${PASSWORD}`,
    },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`kafka.sh ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  kafkaSh('start');
});
afterAll(() => {
  kafkaSh('reset'); // stop, and delete the cluster's data
});

const sasl = { brokers, kafkaSaslMechanism: 'plain', kafkaSaslUsername: USER, kafkaSaslPassword: PASSWORD };

it('with the right credentials: creates a topic, produces and consumes', async () => {
  const topic = `sasl-${Date.now().toString(36)}`;
  const kafka = kafkaClient(sasl, 'sasl-test', logger);
  const admin = kafka.admin();
  await connectWithRetry(admin, brokers, logger);
  await ensureTopics(admin, [{ name: topic, partitions: 2 }], 1, logger);
  expect(await admin.listTopics()).toContain(topic);
  // idempotent, as the services' producers: a retried send on the fresh cluster must not write twice
  const producer = kafka.producer({ idempotent: true });
  await connectWithRetry(producer, brokers, logger);
  const sent = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
  await producer.send({ topic, messages: sent, acks: -1 });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await connectWithRetry(consumer, brokers, logger);
  await consumer.subscribe({ topic, fromBeginning: true });
  // By key: a rebalance while the group forms may deliver a message twice (at least once).
  const got = new Map<string, string>();
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        got.set(String(message.key), String(message.value));
        if (got.size === sent.length) resolve();
      },
    });
  });
  await consumer.disconnect();
  expect([...got].map(([k, v]) => `${k}=${v}`).sort()).toEqual(sent.map((m) => `${m.key}=${m.value}`).sort());
  const offsets = await admin.fetchTopicOffsets(topic);
  expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(sent.length);
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
});

it('with a wrong password: connecting fails at once with an error that says why, instead of retrying forever', async () => {
  const warnings: string[] = [];
  const admin = kafkaClient({ ...sasl, kafkaSaslPassword: 'wrong' }, 'sasl-test', logger).admin();
  const failure = await connectWithRetry(admin, brokers, { warn: (m: string) => warnings.push(m) } as never).then(
    () => new Error('connected with a wrong password'),
    (e: Error) => e,
  );
  expect(failure).toBeInstanceOf(KafkaAuthenticationError);
  expect(failure.message).toMatch(/Kafka rejected the SASL authentication: .*Invalid username or password.*KAFKA_SASL_PASSWORD/);
  expect(failure.message).not.toContain('wrong');
  expect(warnings).toEqual([]); // not one pointless retry
  await admin.disconnect();
});

it('without SASL: the broker closes every connection, and the retry loop ends with an error that names SASL', async () => {
  const warnings: string[] = [];
  const admin = kafkaClient({ brokers }, 'sasl-test', logger).admin();
  // What a service does first: connect, then create its topics, each retried until it works.
  const failure = await retryForever(
    'connect and list topics',
    async () => {
      await admin.connect();
      return admin.listTopics();
    },
    { warn: (m: string) => warnings.push(m) },
    undefined,
    () => 10,
  ).then(
    (topics) => new Error(`listed ${topics.length} topics without SASL`),
    (e: Error) => e,
  );
  expect(failure).toBeInstanceOf(KafkaConnectionRefusedError);
  expect(failure.message).toMatch(/Kafka closed the connection 5 times in a row .*KAFKA_SASL_MECHANISM/);
  expect(warnings).toHaveLength(4);
  await admin.disconnect();
});

describe('KAFKA_CLIENT=platformatic (the CSV producers’ other client) with SASL/PLAIN', () => {
  it('with the right credentials: publishes every message, each on its key’s partition', async () => {
    const topic = `sasl-plt-${Date.now().toString(36)}`;
    const kafka = kafkaClient(sasl, 'sasl-test', logger);
    const admin = kafka.admin();
    await connectWithRetry(admin, brokers, logger);
    await ensureTopics(admin, [{ name: topic, partitions: 3 }], 1, logger);
    const publisher = new Publisher(kafka, {
      brokers,
      logger,
      idempotent: true,
      client: 'platformatic',
      connection: kafkaConnection(sasl, 'sasl-test'),
    });
    await publisher.connect();
    const sent = Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`v${i}`) }));
    await publisher.send(topic, sent);
    await publisher.disconnect();
    const expected = [0, 0, 0];
    for (const m of sent) expected[keyPartitioner(topic, 3)(m.key)]++;
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.sort((a, b) => a.partition - b.partition).map((p) => Number(p.high))).toEqual(expected);
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('with a wrong password: connecting fails at once with the authentication error, no retries', async () => {
    const warnings: string[] = [];
    // A retry is the failure: the first one ends the wait (and shows what was retried).
    const retried = new AbortController();
    const wrong = { ...sasl, kafkaSaslPassword: 'wrong' };
    const publisher = new Publisher(kafkaClient(wrong, 'sasl-test', logger), {
      brokers,
      signal: retried.signal,
      logger: {
        warn: (m: string) => {
          warnings.push(m);
          retried.abort(new Error(`retried: ${m}`));
        },
        info: () => undefined,
      } as never,
      client: 'platformatic',
      connection: kafkaConnection(wrong, 'sasl-test'),
    });
    const failure = await publisher.connect().then(
      () => new Error('connected with a wrong password'),
      (e: Error) => e,
    );
    expect(failure).toBeInstanceOf(KafkaAuthenticationError);
    expect(failure.message).toMatch(/Kafka rejected the SASL authentication: .*KAFKA_SASL_PASSWORD/);
    expect(failure.message).not.toContain('wrong');
    expect(warnings).toEqual([]);
    await publisher.disconnect();
  });
});
