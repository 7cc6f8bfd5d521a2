// npm start's runner, the monitor and `npm run report` against a broker that requires SASL/PLAIN (a cluster
// of their own: tools/kafka/kafka.sh with KAFKA_SASL_PLAIN, stopped at the end). Each used to build a plain
// KafkaJS client of its own and could not talk to such a broker at all.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@movie-stream/logging';
import { kafkaClient, MetaReporter, rawSink, topicNames } from '@movie-stream/messaging';
import { startMonitor } from '@movie-stream/monitoring';
import { PipelineRun, REPO_ROOT } from '@movie-stream/pipeline-run';
import { KafkaCluster } from '@movie-stream/test-support';

jest.setTimeout(240_000);

const INSTANCE = 'pipeline-sasl';
const PORT_BASE = 34800;
const brokers = [`127.0.0.1:${PORT_BASE + 1}`];
const USER = 'bob';
const PASSWORD = 'bob-secret:1';
const security = { kafkaSaslMechanism: 'plain', kafkaSaslUsername: USER, kafkaSaslPassword: PASSWORD };
const logger = createLogger({ service: 'sasl-test', level: 'error', format: 'json' });
const tmp = mkdtempSync(join(tmpdir(), 'sasl-clients-'));

const cluster = new KafkaCluster({ instance: INSTANCE, portBase: PORT_BASE, saslPlain: `${USER}:${PASSWORD}` });

let run: PipelineRun;
beforeAll(async () => {
  cluster.start();
  // npm start's setup step, through the runner's own client
  run = new PipelineRun({ ratingsFile: '', moviesFile: '', outDir: join(tmp, 'out'), brokers, security, log: () => undefined });
  await run.createTopics(2);
});
afterAll(() => {
  cluster.reset(); // stop, and delete the cluster's data
  rmSync(tmp, { recursive: true, force: true });
});

async function listTopics(): Promise<string[]> {
  const admin = kafkaClient({ brokers, ...security }, 'sasl-test', logger).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

it("the runner's client creates the run's topics", async () => {
  expect((await listTopics()).filter((t) => t.startsWith(`${run.runId}.`)).sort()).toEqual(
    [
      run.topics.ratings,
      run.topics.movies,
      run.topics.meanRatings,
      `${run.topics.metaPrefix}.published`,
      `${run.topics.metaPrefix}.consumed`,
      `${run.topics.ratings}.dlq`,
      `${run.topics.movies}.dlq`,
      `${run.topics.meanRatings}.dlq`,
    ].sort(),
  );
});

it("the monitor's own client sees the run's topics", async () => {
  const monitor = await startMonitor({
    brokers,
    security,
    metaPrefix: run.topics.metaPrefix,
    scope: `${run.runId}.`,
    port: 0,
    pollMs: 300,
    logger: { info: () => undefined, warn: () => undefined },
  });
  try {
    // the poller's first snapshots may predate its connection: wait for one that lists the topics
    for (;;) {
      const s = monitor.snapshot();
      if (s.topics.some((t) => t.topic === run.topics.ratings)) {
        expect(s.error).toBeUndefined();
        expect(s.topics.find((t) => t.topic === run.topics.ratings)?.partitions).toBe(2);
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await monitor.close();
  }
});

it('npm run report reads the meta topics with KAFKA_SASL_* set (password from a file)', async () => {
  // three meta reports, as a service writes them
  const kafka = kafkaClient({ brokers, ...security }, 'sasl-test', logger);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  let now = 1_700_000_000_000;
  const meta = new MetaReporter({
    service: 'rating-producer',
    instanceId: 'sasl-test',
    windowMs: 1000,
    sink: rawSink(producer),
    logger,
    now: () => now,
    topics: topicNames({
      topicRatings: run.topics.ratings,
      topicMovies: run.topics.movies,
      topicMeanRatings: run.topics.meanRatings,
      topicMetaPrefix: run.topics.metaPrefix,
    }),
  });
  for (let i = 0; i < 3; i++, now += 1000) meta.record('published', run.topics.ratings, 100 + i, 1000);
  await meta.close();
  await producer.disconnect();

  const passwordFile = join(tmp, 'password');
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  const report = (env: NodeJS.ProcessEnv, args: string[] = []) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(
        join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
        ['tools/report/src/main.ts', '--since', 'all', '--prefix', run.topics.metaPrefix, '--out', join(tmp, 'report'), ...args],
        {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            KAFKA_BROKERS: brokers.join(','),
            KAFKA_SSL: '',
            KAFKA_SASL_MECHANISM: '',
            KAFKA_SASL_USERNAME: '',
            KAFKA_SASL_PASSWORD: '',
            KAFKA_SASL_PASSWORD_FILE: '',
            ...env,
          },
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => resolve({ code, out, err })); // close: after the output is read
    });
  const ok = await report({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: USER, KAFKA_SASL_PASSWORD_FILE: passwordFile });
  // KafkaJS may warn about what it retries (a fresh cluster's group coordinator), and logs a consumer that
  // joins while the coordinator is still loading as an error before it restarts it (seen in CI): no other
  // errors, no password warning.
  const retried = /The coordinator is loading|Restarting the consumer/;
  const errors = ok.err.split('\n').filter((l) => !retried.test(l));
  expect(errors.join('\n')).not.toMatch(/"level":"error"|command line|failed/);
  expect(ok.out).toContain('3 meta reports');
  expect(ok.code).toBe(0);

  const wrong = await report({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: USER, KAFKA_SASL_PASSWORD: 'wrong' });
  expect(wrong.code).toBe(1);
  expect(wrong.err).toMatch(/report failed: .*SASL.*Invalid username or password/);

  // the password as a flag works too, with a warning that it is visible in ps
  const flag = await report({}, ['--kafka-sasl-mechanism', 'plain', '--kafka-sasl-username', USER, `--kafka-sasl-password=${PASSWORD}`]);
  expect(flag.code).toBe(0);
  const flagOut = flag.out + flag.err;
  expect(flagOut).toContain('3 meta reports');
  expect(flagOut).toMatch(/--kafka-sasl-password was given on the command line/);
  expect(flagOut).not.toContain(PASSWORD);
});
