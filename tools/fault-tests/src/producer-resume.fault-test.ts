// Guarantee 8 of docs/RELIABILITY.md: a rating producer SIGKILLed mid-file and re-run with the same command
// publishes exactly the ratings still missing. Kills only the producer, so it runs on the shared broker.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps, PipelineRun } from '@movie-stream/pipeline';
import { until } from '@movie-stream/test-support';
import { dataset, logOf, mismatches, trackRuns } from './harness';

jest.setTimeout(900_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const RATINGS = 1_000_000;
const KILLS = 3;
const track = trackRuns();

beforeAll(() => buildApps());

/** Records on the run's ratings topic (sum of the partitions' end offsets). */
async function ratingsOnTopic(run: PipelineRun): Promise<number> {
  const admin = run.kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(run.topics.ratings)).reduce((s, p) => s + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('rating producer SIGKILLed mid-file', () => {
  it(`${KILLS} kills during ${RATINGS} ratings, each followed by the same command: every rating on the topic once, means exact`, async () => {
    const { ratingsFile, moviesFile } = await dataset(RATINGS, 5_000);
    const run = track(
      new PipelineRun({
        ratingsFile,
        moviesFile,
        brokers,
        outDir: join(tmpdir(), `faults-producer-resume-${Date.now()}`),
        log: () => undefined,
        snapshotIntervalMs: 500,
        stallTimeoutMs: 300_000,
      }),
    );
    run.cleanOutput();
    await run.createTopics();
    run.start('mean-rating-processor');
    run.start('movie-data-sink');
    run.start('movie-producer', ['--movies', moviesFile]);
    await run.producerResult('movie-producer');

    const command = ['--ratings', ratingsFile];
    const onTopicAtKill: number[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      const before = await ratingsOnTopic(run);
      const producer = run.start('rating-producer', command);
      // Kill once this run has published a good part of what is left, never on a timer: at a third of
      // the rest the producer is mid-file whatever the machine's speed.
      const target = before + Math.floor((RATINGS - before) / 3);
      let now = before;
      const reached = await until(
        async () => {
          if ((now = await ratingsOnTopic(run)) >= target) return true;
          if (producer.child.exitCode !== null)
            throw new Error(`rating-producer exited (${producer.child.exitCode}) before it was killed; see ${producer.logFile}`);
          return false;
        },
        300_000,
        50,
      );
      if (!reached) throw new Error(`rating-producer published ${now - before} ratings in 300 s; see ${producer.logFile}`);
      expect(producer.child.exitCode).toBeNull();
      producer.child.kill('SIGKILL');
      expect((await producer.exited).signal).toBe('SIGKILL');
      onTopicAtKill.push(await ratingsOnTopic(run));
    }
    // Each kill hit the producer with some of the file published and some not.
    expect(onTopicAtKill[KILLS - 1]).toBeLessThan(RATINGS);
    for (let i = 1; i < KILLS; i++) expect(onTopicAtKill[i]).toBeGreaterThan(onTopicAtKill[i - 1]);

    run.start('rating-producer', command);
    const summary = (await run.producerResult('rating-producer')) as Awaited<ReturnType<PipelineRun['producerResult']>> & {
      alreadyPublished: number;
    };
    process.stderr.write(
      `producer-resume: on the topic at the kills ${onTopicAtKill.join(', ')}; last run published ${summary.published}, skipped ${summary.alreadyPublished}\n`,
    );
    // Not one rating twice on the topic, not one missing.
    expect(await ratingsOnTopic(run)).toBe(RATINGS);
    expect(summary.complete).toBe(true);
    // At least what was there at the last kill (a send the broker had received may land just after it).
    expect(summary.alreadyPublished).toBeGreaterThanOrEqual(onTopicAtKill[KILLS - 1]);
    expect(summary.published + summary.alreadyPublished).toBe(RATINGS);
    expect(logOf(run, 'rating-producer')).toMatch(/is partly on .*: resuming/);

    await run.waitUntilDrained();
    expect(await run.stop('mean-rating-processor')).toBe(0);
    expect(await run.stop('movie-data-sink')).toBe(0);
    expect(await mismatches(run, ratingsFile, moviesFile)).toEqual([]);
  });
});
