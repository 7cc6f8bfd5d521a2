// docs/RELIABILITY.md, rolling restarts: 3 processors and 2 sinks, every instance restarted one at a time
// (SIGTERM, its exit, the same instance started again, back in its group holding partitions) while ratings are
// published, two full rounds; the merged mean-ratings.csv and movie-data.csv equal the independent computation.
// Once with dynamic members (each stop leaves the group, each start joins anew: two rebalances per restart),
// once with static ones (GROUP_INSTANCE_ID): the restarted instance gets its partitions back and the others
// are never asked to rejoin.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps, PipelineRun, restartSchedule, restartUntilClaimed, type RestartResult } from '@movie-stream/pipeline-run';
import { splitRatings, until } from '@movie-stream/test-support';
import { dataset, logOf, meanMismatches, mismatches, onTopic, trackRuns } from './harness';

jest.setTimeout(600_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const PROCESSORS = 3;
const SINKS = 2;
const ROUNDS = 2;
const PARTITIONS = 6;
const track = trackRuns();

beforeAll(() => buildApps());

/**
 * How often each consumer instance has joined its group so far, by log name; undefined for one whose KafkaJS
 * consumer restarted itself (a crash KafkaJS retries, e.g. a coordinator loading): it joins again then, without
 * any rebalance, so its count says nothing.
 */
function joins(run: PipelineRun): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const app of ['mean-rating-processor', 'movie-data-sink'] as const)
    for (let i = 0; i < (app === 'mean-rating-processor' ? PROCESSORS : SINKS); i++) {
      const name = run.instanceLayout(app, i).logName;
      const log = logOf(run, name);
      out.set(name, log.includes('Restarting the consumer') ? undefined : log.split('joined consumer group').length - 1);
    }
  return out;
}

it.each([
  ['dynamic', false],
  ['static', true],
])(
  '%s members: 3 processors and 2 sinks, each restarted one at a time while ratings are published, twice over: every stop exits 0, the merged outputs are exact',
  async (_name, staticMembership) => {
    const schedule = Array.from({ length: ROUNDS }, () => restartSchedule(PROCESSORS, SINKS)).flat();
    // One slice of ratings per restart, its producer started before the stop: every restart happens while
    // ratings come in.
    const RATINGS = 400_000;
    const { ratingsFile, moviesFile } = await dataset(RATINGS, 4_000, 81);
    const run = track(
      new PipelineRun({
        ratingsFile,
        moviesFile,
        outDir: join(tmpdir(), `rolling-restart-${Date.now()}`),
        brokers,
        log: () => undefined,
        snapshotIntervalMs: 300,
        processors: PROCESSORS,
        sinks: SINKS,
        staticMembership,
        env: { SESSION_TIMEOUT_MS: '6000' },
        // Small sends one at a time: a slice takes seconds to publish (at full speed, well under the second a
        // restart takes), so the ratings keep coming while the instance stops and rejoins.
        appEnv: (app) => (app === 'rating-producer' ? { PUBLISH_BATCH_SIZE: '100', PUBLISH_MAX_IN_FLIGHT: '1' } : {}),
      }),
    );
    run.cleanOutput();
    await run.createTopics(PARTITIONS);
    const slices = splitRatings(ratingsFile, schedule.length, run.outDir, 'slice');
    run.startConsumers();
    await run.waitForConsumerGroups();
    run.start('movie-producer', ['--movies', moviesFile]);
    await run.producerResult('movie-producer');
    // After the movie producer's run (seconds): every member has logged the join of the settled group by now.
    const joinsAtStart = joins(run);

    const done: (RestartResult & { onTopicAtStop: number; publishing: boolean })[] = [];
    let published = 0;
    for (const [i, step] of schedule.entries()) {
      const before = await onTopic(run);
      const producer = run.start('rating-producer', ['--ratings', slices[i]]);
      // Stop the instance once this slice's ratings are arriving.
      const arriving = await until(async () => (run.checkConsumers('before a restart'), (await onTopic(run)) > before), 60_000, 20);
      if (!arriving) throw new Error(`the producer of slice ${i} published nothing within 60 s; see ${run.logDir}`);
      const onTopicAtStop = await onTopic(run);
      const r = await restartUntilClaimed(run, step, { partitions: PARTITIONS });
      done.push({ ...r, onTopicAtStop, publishing: producer.child.exitCode === null });
      published += (await run.producerResult('rating-producer')).published;
    }
    expect(published).toBe(RATINGS);
    for (const s of done) {
      process.stdout.write(
        `restart of ${s.app} instance ${s.instance}: exit ${s.exitCode}, back and holding partitions after ${Math.round(s.ms)} ms ` +
          `(${s.onTopicAtStop} ratings on the topic at the stop; producer ${s.publishing ? 'still publishing' : 'done'} when it was back)\n`,
      );
    }
    expect(done.map((s) => s.exitCode)).toEqual(Array(schedule.length).fill(0));

    await run.waitUntilDrained();
    if (staticMembership) {
      // Each instance joined once per restart of its own, never because another one restarted (no rebalance).
      const restarts = (name: string) => schedule.filter((st) => run.instanceLayout(st.app, st.instance).logName === name).length;
      const end = joins(run);
      const counted = [...joinsAtStart].filter(([name, n]) => n !== undefined && end.get(name) !== undefined);
      expect(counted.length).toBeGreaterThan(0);
      for (const [name, n] of counted) expect([name, end.get(name)! - n!]).toEqual([name, restarts(name)]);
    }
    await run.stopConsumers(); // fails unless every instance exits 0
    const merged = run.mergeOutputs();
    expect(merged.map((m) => m.app).sort()).toEqual(['mean-rating-processor', 'movie-data-sink']);
    expect(merged.flatMap((m) => m.warnings)).toEqual([]);
    expect(await meanMismatches(join(run.outDir, 'mean-ratings.csv'), ratingsFile)).toEqual([]);
    expect(await mismatches(run, ratingsFile, moviesFile)).toEqual([]);
  },
);
