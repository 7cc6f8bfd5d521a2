// Guarantees 2 and 3 of docs/RELIABILITY.md: broker failures, brokers absent at start, many producers.
// Uses a cluster of its own (ports 9291-9293) so killing brokers disturbs nothing else.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '@movie-stream/messaging';
import { buildApps, PipelineRun, startService } from '@movie-stream/pipeline';
import { KafkaCluster, splitRatings, until } from '@movie-stream/test-support';
import { dataset, logOf, mismatches, onTopic } from './harness';

jest.setTimeout(900_000);

const cluster = new KafkaCluster({ instance: 'faults', portBase: 9290, size: 3 });
const runs: PipelineRun[] = [];

beforeAll(() => {
  buildApps();
  cluster.reset(); // a fresh cluster: no topics or groups from an earlier run
  cluster.start();
});
afterAll(async () => {
  for (const r of runs) await r.stopAll();
  cluster.stop();
});

function newRun(name: string, ratingsFile: string, moviesFile: string, scale: { processors?: number; sinks?: number } = {}): PipelineRun {
  const run = new PipelineRun({
    ...scale,
    ratingsFile,
    moviesFile,
    brokers: cluster.brokers,
    outDir: join(tmpdir(), `faults-${name}-${Date.now()}`),
    log: () => undefined,
    snapshotIntervalMs: 500,
    env: { SESSION_TIMEOUT_MS: '10000' },
  });
  runs.push(run);
  run.cleanOutput();
  return run;
}

/**
 * Waits until the rating producer has put some of its `total` ratings on the topic (and is still running);
 * returns how many. Fails when it finished first (the fault would then hit nothing) or after 120 s.
 */
async function whenPublishing(run: PipelineRun, total: number): Promise<number> {
  let n = 0;
  const publishing = await until(
    async () => {
      n = await onTopic(run);
      const exited = run.service('rating-producer')?.child.exitCode !== null;
      if (n > 0 && !exited) return true;
      if (exited || n >= total)
        throw new Error(`rating-producer finished (${n} of ${total} on the topic) before the fault could be injected`);
      return false;
    },
    120_000,
    50,
  );
  if (!publishing) throw new Error(`rating-producer published nothing within 120 s; see ${run.logDir}`);
  return n;
}

async function finish(run: PipelineRun, ratingsFile: string, moviesFile: string): Promise<void> {
  await run.waitUntilDrained();
  // Every instance of both consumers exits 0 (stopConsumers throws otherwise); a scaled run's outputs are merged.
  await run.stopConsumers();
  if (run.scaled) run.mergeOutputs();
  expect(await mismatches(run, ratingsFile, moviesFile)).toEqual([]);
}

describe('3 brokers, replication factor 3, min.insync.replicas 2, acks=all, idempotent producers', () => {
  it('a broker SIGKILLed mid-stream and restarted later: nothing lost or duplicated', async () => {
    const { ratingsFile, moviesFile } = await dataset(200_000, 2_000);
    const run = newRun('broker-kill', ratingsFile, moviesFile);
    await run.createTopics();
    run.startServices();
    // The kill must land mid-publish: once some of the ratings, not all, are on the topic.
    const atKill = await whenPublishing(run, 200_000);
    cluster.killBroker(2);
    const stillPublishing = run.service('rating-producer')?.child.exitCode === null;
    const producer = await run.producerResult('rating-producer');
    expect({ stillPublishing, someButNotAll: atKill > 0 && atKill < 200_000 }).toEqual({ stillPublishing: true, someButNotAll: true });
    expect(producer.published).toBe(200_000);
    await sleep(3000);
    cluster.startBroker(2);
    await run.producerResult('movie-producer');
    await finish(run, ratingsFile, moviesFile);
  });

  it('3 processors and 2 sinks, a broker SIGKILLed mid-stream: the merged outputs are exact', async () => {
    const { ratingsFile, moviesFile } = await dataset(200_000, 2_000);
    const run = newRun('broker-kill-scaled', ratingsFile, moviesFile, { processors: 3, sinks: 2 });
    await run.createTopics();
    run.startConsumers();
    await run.waitForConsumerGroups();
    run.startProducers();
    await whenPublishing(run, 200_000);
    cluster.killBroker(3);
    expect((await run.producerResult('rating-producer')).published).toBe(200_000);
    cluster.startBroker(3);
    await run.producerResult('movie-producer');
    await finish(run, ratingsFile, moviesFile);
  });

  it("brokers 2 and 3 stopped (the seed's experiment 2): the pipeline pauses, then resumes without loss", async () => {
    // Large enough that the producer is still publishing while the two brokers shut down (one after the
    // other, a few seconds each): at ≈ 150-300k ratings/s, 1,000,000 could be all published by then.
    const { ratingsFile, moviesFile } = await dataset(3_000_000, 5_000);
    const run = newRun('two-down', ratingsFile, moviesFile);
    await run.createTopics();
    run.start('mean-rating-processor');
    run.start('movie-data-sink');
    run.start('movie-producer', ['--movies', moviesFile]);
    await run.producerResult('movie-producer');
    run.start('rating-producer', ['--ratings', ratingsFile]);
    const atStop = await whenPublishing(run, 3_000_000);
    cluster.stopBroker(2);
    cluster.stopBroker(3);
    expect(atStop).toBeLessThan(3_000_000);
    // With one in-sync replica left, acks=all writes are refused (min.insync.replicas=2): producers wait.
    await sleep(15_000);
    const stillRunning = run.service('rating-producer')?.child.exitCode === null;
    cluster.startBroker(2);
    cluster.startBroker(3);
    const producer = await run.producerResult('rating-producer');
    expect(stillRunning).toBe(true);
    expect(producer.published).toBe(3_000_000);
    await finish(run, ratingsFile, moviesFile);
  });

  it('ten rating producers at once against two brokers all finish, every rating delivered (experiment 1)', async () => {
    const { ratingsFile, moviesFile } = await dataset(200_000, 2_000);
    cluster.stopBroker(3);
    try {
      const run = newRun('ten-producers', ratingsFile, moviesFile);
      await run.createTopics();
      const parts = splitRatings(ratingsFile, 10, run.outDir, 'part');
      run.start('mean-rating-processor');
      run.start('movie-data-sink');
      run.start('movie-producer', ['--movies', moviesFile]);
      await run.producerResult('movie-producer');
      // PipelineRun tracks one process per app name: start the ten producers as separate services.
      const producers = parts.map((f, i) =>
        startService(
          'rating-producer',
          { ...run.serviceEnv('rating-producer'), INSTANCE_ID: `rating-producer-${i}` },
          ['--ratings', f],
          join(run.logDir, `p${i}`),
        ),
      );
      const exits = await Promise.all(producers.map((p) => p.exited));
      expect(exits.map((e) => e.code)).toEqual(Array(10).fill(0));
      const published = producers.map((p) => JSON.parse(p.stdout.find((l) => l.startsWith('{"summary"')) as string).summary.published);
      expect(published.reduce((a: number, b: number) => a + b, 0)).toBe(200_000);
      await finish(run, ratingsFile, moviesFile);
    } finally {
      cluster.startBroker(3);
    }
  });
});

describe('no broker yet', () => {
  it('a producer started before any broker waits, says so, and completes once the broker comes up 60 s later', async () => {
    const late = new KafkaCluster({ instance: 'faults-late', portBase: 9390 });
    late.reset();
    const { ratingsFile, moviesFile } = await dataset(20_000, 500);
    const run = new PipelineRun({
      ratingsFile,
      moviesFile,
      brokers: late.brokers,
      outDir: join(tmpdir(), `faults-late-${Date.now()}`),
      log: () => undefined,
    });
    runs.push(run);
    run.cleanOutput();
    run.start('rating-producer', ['--ratings', ratingsFile]);
    await sleep(62_000);
    expect(run.service('rating-producer')?.child.exitCode).toBeNull();
    expect(logOf(run, 'rating-producer')).toMatch(/waiting for Kafka at 127\.0\.0\.1:9391/);
    try {
      late.start();
      const summary = await run.producerResult('rating-producer');
      expect(summary.published).toBe(20_000);
    } finally {
      late.stop();
    }
  });
});
