// Guarantees 4, 5 and 6 of docs/RELIABILITY.md, and the secrets-in-logs check, on the shared broker.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@movie-stream/logging';
import { buildApps, PipelineRun } from '@movie-stream/pipeline';
import { deadLetterTopic, DLQ_HEADERS, Publisher, sleep } from '@movie-stream/messaging';
import { generateDataset } from '@movie-stream/data-generator';
import { until } from '@movie-stream/test-support';
import { dataset, logOf, mismatches, trackRuns } from './harness';

jest.setTimeout(600_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const track = trackRuns();
beforeAll(() => buildApps());

function newRun(name: string, ratingsFile: string, moviesFile: string, env: NodeJS.ProcessEnv = {}): PipelineRun {
  const run = new PipelineRun({
    ratingsFile,
    moviesFile,
    brokers,
    outDir: join(tmpdir(), `faults-${name}-${Date.now()}`),
    log: () => undefined,
    snapshotIntervalMs: 300,
    env,
  });
  track(run);
  run.cleanOutput();
  return run;
}

function currentOffsets(stateDir: string): Record<string, Record<string, string>> {
  const gen = readFileSync(join(stateDir, 'CURRENT'), 'utf8').trim();
  return JSON.parse(readFileSync(join(stateDir, gen, 'offsets.json'), 'utf8')).offsets;
}

async function committed(run: PipelineRun, group: string, topic: string): Promise<Record<string, string>> {
  const admin = run.kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return Object.fromEntries(t.partitions.filter((p) => Number(p.offset) >= 0).map((p) => [String(p.partition), p.offset]));
  } finally {
    await admin.disconnect();
  }
}

const chattr = (flag: '+i' | '-i', dir: string) => {
  const r = spawnSync('chattr', [flag, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chattr ${flag} ${dir} failed (root and a file system with attributes are needed): ${r.stderr}`);
};

describe('graceful shutdown', () => {
  it('SIGTERM mid-stream: final snapshot, its offsets committed, exit 0 within 10 s; SIGINT the same', async () => {
    const { ratingsFile, moviesFile } = await dataset(200_000, 2_000);
    const run = newRun('shutdown', ratingsFile, moviesFile);
    await run.createTopics();
    run.startServices();
    await sleep(2500);
    for (const [app, signal] of [
      ['mean-rating-processor', 'SIGTERM'],
      ['movie-data-sink', 'SIGINT'],
    ] as const) {
      const s = run.service(app)!;
      const t0 = Date.now();
      s.child.kill(signal);
      const { code } = await s.exited;
      const seconds = (Date.now() - t0) / 1000;
      process.stderr.write(`${app}: ${signal} → exit ${code} in ${seconds.toFixed(2)} s\n`);
      expect(code).toBe(0);
      expect(seconds).toBeLessThan(10);
      expect(logOf(run, app)).toMatch(/final snapshot/);
      // Exactly the offsets of the final snapshot are committed.
      const stateDir = join(run.outDir, '.state', app);
      const snap = currentOffsets(stateDir);
      const { group, topics } = run.layout.consumers[app];
      // The consumed topics' offsets (the processor's state also keeps its changelog position, never committed).
      expect(topics.every((t) => snap[t] !== undefined)).toBe(true);
      for (const topic of topics) expect(await committed(run, group, topic)).toEqual(snap[topic]);
    }
    // The producer runs on to the end of its file (a partly published file cannot be republished
    // without counting its first part twice); restarted, both consumers finish the job exactly.
    const p = run.service('rating-producer')!;
    expect((await p.exited).code).toBe(0);
    expect((await run.producerResult('rating-producer')).complete).toBe(true);
    run.start('mean-rating-processor');
    run.start('movie-data-sink');
    await run.waitUntilDrained();
    await run.stopAll();
    expect(await mismatches(run, ratingsFile, moviesFile)).toEqual([]);
  });

  it('SIGTERM to a producer mid-file: it stops publishing, exit 0, and its summary says it did not finish', async () => {
    // Large enough that the producer cannot finish in the moment between its first ratings and the signal.
    const { ratingsFile, moviesFile } = await dataset(1_000_000, 2_000);
    const run = newRun('shutdown-producer', ratingsFile, moviesFile);
    await run.createTopics();
    const p = run.start('rating-producer', ['--ratings', ratingsFile]);
    const admin = run.kafka.admin();
    await admin.connect();
    const onTopic = async () => (await admin.fetchTopicOffsets(run.topics.ratings)).reduce((n, o) => n + Number(o.high), 0);
    try {
      // (Right after creation a partition may have no leader yet: such a read counts as nothing published.)
      const started = await until(async () => (await onTopic().catch(() => 0)) > 0 || p.child.exitCode !== null, 120_000, 50);
      if (!started) throw new Error(`rating-producer published nothing within 120 s; see ${p.logFile}`);
      const t0 = Date.now();
      p.child.kill('SIGTERM');
      const { code } = await p.exited;
      const seconds = (Date.now() - t0) / 1000;
      process.stderr.write(`rating-producer: SIGTERM → exit ${code} in ${seconds.toFixed(2)} s\n`);
      expect(code).toBe(0);
      expect(seconds).toBeLessThan(10);
      const summary = await run.producerResult('rating-producer');
      expect(summary.complete).toBe(false);
      // What it says it published is what the topic holds: nothing half-sent, nothing unreported.
      expect(await onTopic()).toBe(summary.published);
      expect(summary.published).toBeLessThan(1_000_000);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('snapshot write failures', () => {
  it('an unwritable state directory: error with path and errno, no commit, previous snapshot intact, retried', async () => {
    const { ratingsFile, moviesFile } = await dataset(200_000, 2_000);
    const run = newRun('readonly', ratingsFile, moviesFile);
    await run.createTopics();
    const stateDir = join(run.outDir, '.state', 'mean-rating-processor');
    run.start('mean-rating-processor');
    // The first snapshot only comes after the first ratings: publish a few.
    run.start('rating-producer', ['--ratings', (await dataset(1_000, 50)).ratingsFile]);
    if (!(await until(() => existsSync(join(stateDir, 'CURRENT')), 120_000)))
      throw new Error(`no snapshot in ${stateDir} within 120 s; see ${run.logDir}`);
    await run.producerResult('rating-producer');
    // Until a snapshot holds all 1,000 and its offsets are committed. (A generation read while the next one
    // replaces it may be gone: that read counts as not yet.)
    const settled = await until(
      async () => {
        const snap = (() => {
          try {
            return currentOffsets(stateDir)[run.topics.ratings] ?? {};
          } catch {
            return {};
          }
        })();
        if (Object.values(snap).reduce((n, o) => n + Number(o), 0) !== 1_000) return false;
        return JSON.stringify(await committed(run, run.groups.processor, run.topics.ratings)) === JSON.stringify(snap);
      },
      120_000,
      100,
    );
    if (!settled) throw new Error(`the snapshot of the first 1,000 ratings was not written and committed within 120 s; see ${run.logDir}`);
    const before = currentOffsets(stateDir);
    const gen = readFileSync(join(stateDir, 'CURRENT'), 'utf8');
    chattr('+i', stateDir);
    try {
      run.start('rating-producer', ['--ratings', ratingsFile]);
      await run.producerResult('rating-producer');
      await until(
        () => /snapshot of mean-ratings failed; offsets not committed, will retry/.test(logOf(run, 'mean-rating-processor')),
        120_000,
      );
      const log = logOf(run, 'mean-rating-processor');
      expect(log).toMatch(/snapshot of mean-ratings failed; offsets not committed, will retry/);
      expect(log).toMatch(/"code":"EPERM"/);
      expect(log).toContain(stateDir);
      expect(readFileSync(join(stateDir, 'CURRENT'), 'utf8')).toBe(gen);
      expect(await committed(run, run.groups.processor, run.topics.ratings)).toEqual(before[run.topics.ratings]);
    } finally {
      chattr('-i', stateDir);
    }
    // Writable again: the next snapshot succeeds and the result is exact (1,000 + 200,000 ratings).
    run.start('movie-data-sink');
    run.start('movie-producer', ['--movies', moviesFile]);
    await run.producerResult('movie-producer');
    await run.waitUntilDrained();
    await run.stopAll();
    const counts = readFileSync(join(run.outDir, 'mean-ratings.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .reduce((s, l) => s + Number(l.split(';')[2]), 0);
    expect(counts).toBe(201_000);
  });
});

describe('bad input', () => {
  it('rejected CSV rows are counted and written with line and reason; rows read = published + rejected', async () => {
    const dir = join(tmpdir(), `faults-bad-${Date.now()}`);
    const gen = await generateDataset({ ratings: 5_000, movies: 200, seed: 3, outDir: dir, badRows: 12 });
    const run = newRun('bad-rows', gen.ratingsFile, gen.moviesFile);
    const summary = await run.run();
    expect(summary.ratings.rowsRead).toBe(summary.ratings.published + summary.ratings.rowsRejected);
    expect(summary.ratings.rowsRejected).toBe(12);
    const rejected = readFileSync(join(run.outDir, 'rejected-ratings.csv'), 'utf8').trim().split('\n');
    expect(rejected).toHaveLength(13); // header + 12
    expect(rejected[0]).toBe('line;reason;raw');
    expect(await mismatches(run, gen.ratingsFile, gen.moviesFile)).toEqual([]);
  });

  it('garbage bytes in the ratings topic go to ratings.dlq with their origin; the means are unchanged', async () => {
    const { ratingsFile, moviesFile } = await dataset(20_000, 500);
    const run = newRun('dlq', ratingsFile, moviesFile);
    await run.createTopics();
    // The run's client (messaging's factory). Idempotent: a retried send on a loaded machine must not put a
    // garbage message in twice (it did once, and the DLQ then rightly held three).
    const kafka = run.kafka;
    const publisher = new Publisher(kafka, {
      brokers,
      logger: createLogger({ service: 'garbage', level: 'error', format: 'json' }),
      idempotent: true,
    });
    await publisher.connect();
    const garbage = [Buffer.from([0xff, 0xfe, 0xfd, 0x00, 0x13]), Buffer.from('not protobuf at all')];
    await publisher.send(
      run.topics.ratings,
      garbage.map((value, i) => ({ key: `garbage-${i}`, value })),
    );
    await publisher.disconnect();
    run.startServices();
    await run.producerResult('rating-producer');
    await run.waitUntilDrained();
    await run.stopAll();
    expect(await mismatches(run, ratingsFile, moviesFile)).toEqual([]);

    // Read the whole DLQ (up to its end offset), not just the first two records: a duplicate must fail.
    // A consumer of the run's client rather than messaging's readPartitions, whose records carry no headers.
    const dlq = deadLetterTopic(run.topics.ratings);
    const admin = kafka.admin();
    await admin.connect();
    const dlqEnd = (await admin.fetchTopicOffsets(dlq)).reduce((n, p) => n + Number(p.high), 0);
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId: `dlq-reader-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: dlq, fromBeginning: true });
    const got: { value: Buffer; headers: Record<string, string> }[] = [];
    // Bounded: a DLQ that never delivers its records fails the test with what it did get, not a jest hang.
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`read ${got.length} of the ${dlqEnd} records of ${dlq} within 60 s`)), 60_000);
        consumer
          .run({
            eachMessage: async ({ message }) => {
              got.push({
                value: message.value as Buffer,
                headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
              });
              if (got.length === dlqEnd) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      clearTimeout(timer);
      await consumer.disconnect();
    }
    // Different keys, different partitions: the DLQ order is not the publish order.
    const hex = (bs: Buffer[]) => bs.map((b) => b.toString('hex')).sort();
    expect(hex(got.map((g) => g.value))).toEqual(hex(garbage));
    for (const g of got) {
      expect(g.headers[DLQ_HEADERS.topic]).toBe(run.topics.ratings);
      expect(g.headers[DLQ_HEADERS.partition]).toMatch(/^\d+$/);
      expect(g.headers[DLQ_HEADERS.offset]).toMatch(/^\d+$/);
      expect(g.headers[DLQ_HEADERS.error]).toMatch(/not a Rating|outside|not positive/);
    }
  });
});

describe('security basics', () => {
  it('a SASL password never appears in the logs', async () => {
    const { ratingsFile, moviesFile } = await dataset(1_000, 50);
    const secret = 'hunter2-do-not-log-me';
    const run = newRun('secret', ratingsFile, moviesFile, {
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_PASSWORD: secret,
      LOG_LEVEL: 'debug',
    });
    run.start('rating-producer', ['--ratings', ratingsFile]);
    await sleep(8000); // the broker speaks PLAINTEXT: the SASL handshake fails and the producer keeps retrying, logging
    await run.stop('rating-producer');
    const log = logOf(run, 'rating-producer');
    expect(log).toMatch(/kafkaSaslPassword":"\*\*\*"/);
    expect(log).not.toContain(secret);
  });
});
