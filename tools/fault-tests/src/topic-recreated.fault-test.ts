// docs/RELIABILITY.md, "A topic deleted and recreated under a saved state": the real mean-rating-processor
// refuses a state that does not belong to its topic (recreated with fewer or more records, partitions
// added), says what to do, and --reset-state=true rebuilds exactly; a normal restart still resumes exactly.
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps, PipelineRun } from '@movie-stream/pipeline';
import { computeReferenceMeans, readSemicolonCsv, sliceRatings, until } from '@movie-stream/test-support';
import { dataset, logOf, trackRuns } from './harness';

jest.setTimeout(600_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const PROCESSOR = 'mean-rating-processor';
const track = trackRuns();

beforeAll(() => buildApps());

describe('mean-rating-processor on a ratings topic deleted and recreated under its state', () => {
  let run: PipelineRun;
  let files: { first: string; second: string; both: string; fewer: string; more: string };
  const meanFile = () => join(run.outDir, 'mean-ratings.csv');
  const stateFile = () => join(run.outDir, '.state', PROCESSOR, 'CURRENT');

  beforeAll(async () => {
    const a = await dataset(12_000, 400, 31);
    const b = await dataset(30_000, 400, 32);
    const outDir = join(tmpdir(), `recreated-${Date.now()}`);
    run = track(
      new PipelineRun({
        ratingsFile: a.ratingsFile,
        moviesFile: a.moviesFile,
        outDir,
        brokers,
        log: () => undefined,
        snapshotIntervalMs: 200,
      }),
    );
    run.cleanOutput();
    await run.createTopics(6);
    files = {
      first: sliceRatings(a.ratingsFile, 0, 8_000, join(outDir, 'first.csv')),
      second: sliceRatings(a.ratingsFile, 8_000, 12_000, join(outDir, 'second.csv')),
      both: sliceRatings(a.ratingsFile, 0, 12_000, join(outDir, 'both.csv')),
      fewer: sliceRatings(b.ratingsFile, 0, 1_500, join(outDir, 'fewer.csv')),
      more: b.ratingsFile,
    };
  });

  async function produce(file: string): Promise<void> {
    run.start('rating-producer', ['--ratings', file]);
    await run.producerResult('rating-producer');
  }

  /** Waits until mean-ratings.csv counts every rating of `file`, then checks each movie against the reference. */
  async function expectExactFor(file: string): Promise<void> {
    const ref = await computeReferenceMeans(file);
    let counted = -1;
    const exact = await until(
      async () => {
        const s = run.service(PROCESSOR);
        if (s?.child.exitCode !== null)
          throw new Error(`${PROCESSOR} exited (${s?.child.exitCode}):\n${logOf(run, PROCESSOR).slice(-3000)}`);
        if (existsSync(meanFile())) counted = (await readSemicolonCsv(meanFile())).reduce((s, r) => s + Number(r.count), 0);
        return counted === ref.ratings;
      },
      180_000,
      200,
    );
    if (!exact) throw new Error(`mean-ratings.csv counts ${counted} ratings, expected ${ref.ratings}`);
    const rows = await readSemicolonCsv(meanFile());
    expect(rows).toHaveLength(ref.means.size);
    for (const r of rows) {
      const m = ref.means.get(Number(r.movieId));
      expect([Number(r.movieId), Number(r.sum), Number(r.count), Number(r.mean)]).toEqual([Number(r.movieId), m?.sum, m?.count, m?.mean]);
    }
  }

  /** Starts the processor and expects it to refuse: exit 1 with a message naming the problem and the fix. */
  async function expectRefusal(problem: string): Promise<void> {
    const stateBefore = readFileSync(stateFile(), 'utf8');
    const outputBefore = readFileSync(meanFile(), 'utf8');
    const logBefore = logOf(run, PROCESSOR).length;
    const s = run.start(PROCESSOR);
    // A refusal takes a second or two; a processor still running after a minute has accepted the state.
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([s.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 60_000)))]);
    clearTimeout(timer);
    if (exited === null) await run.stop(PROCESSOR);
    expect(exited?.code).toBe(1);
    const log = logOf(run, PROCESSOR).slice(logBefore);
    expect(log).toContain('the saved state does not belong to the topics as they are now');
    expect(log).toContain(problem);
    expect(log).toContain('start once with --reset-state=true (or RESET_STATE=true)');
    // Refusing changes nothing: neither the saved state nor the output.
    expect(readFileSync(stateFile(), 'utf8')).toBe(stateBefore);
    expect(readFileSync(meanFile(), 'utf8')).toBe(outputBefore);
  }

  async function recreateRatings(partitions: number): Promise<void> {
    const admin = run.kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [run.topics.ratings] });
      // Deletion finishes asynchronously: creating the name again succeeds once it has.
      let failure: Error | undefined;
      const created = await until(
        () =>
          admin
            .createTopics({
              topics: [{ topic: run.topics.ratings, numPartitions: partitions, replicationFactor: 1 }],
              waitForLeaders: true,
            })
            .catch((e: Error) => ((failure = e), false)),
        60_000,
        200,
      );
      if (!created) throw failure ?? new Error(`${run.topics.ratings} could not be created again within 60 s`);
    } finally {
      await admin.disconnect();
    }
  }

  it('builds a state, and a normal restart on the same topic resumes exactly', async () => {
    run.start(PROCESSOR);
    await produce(files.first);
    await expectExactFor(files.first);
    expect(await run.stop(PROCESSOR)).toBe(0);
    await produce(files.second); // while the processor is down
    run.start(PROCESSOR);
    await expectExactFor(files.both);
    expect(await run.stop(PROCESSOR)).toBe(0);
    expect(logOf(run, PROCESSOR)).toMatch(/the records before the state's offsets are the ones the state last consumed/);
  });

  it('refuses the topic recreated with fewer records, and --reset-state=true rebuilds exactly', async () => {
    await recreateRatings(6);
    await produce(files.fewer);
    await expectRefusal("past the partition's end");
    run.start(PROCESSOR, ['--reset-state=true']);
    await expectExactFor(files.fewer);
    expect(await run.stop(PROCESSOR)).toBe(0);
  });

  it('refuses the topic recreated with more records, and --reset-state=true rebuilds exactly', async () => {
    await recreateRatings(6);
    await produce(files.more);
    await expectRefusal('is not the one the state last consumed there');
    run.start(PROCESSOR, ['--reset-state=true']);
    await expectExactFor(files.more);
    expect(await run.stop(PROCESSOR)).toBe(0);
  });

  it('refuses partitions added to the topic under the state', async () => {
    const admin = run.kafka.admin();
    await admin.connect();
    await admin.createPartitions({ topicPartitions: [{ topic: run.topics.ratings, count: 8 }] }).finally(() => admin.disconnect());
    await expectRefusal(`${run.topics.ratings} has 8 partitions, the state was built on 6`);
  });
});

describe('mean-rating-processor on topics that are not co-partitioned', () => {
  it('refuses to start, naming each topic with its partition count and the fix, and writes nothing', async () => {
    const a = await dataset(2_000, 100, 33);
    const run = track(
      new PipelineRun({
        ratingsFile: a.ratingsFile,
        moviesFile: a.moviesFile,
        outDir: join(tmpdir(), `copart-${Date.now()}`),
        brokers,
        log: () => undefined,
      }),
    );
    run.cleanOutput();
    const admin = run.kafka.admin();
    await admin.connect();
    try {
      // mean-ratings as it was before scale-out: 3 partitions beside 6 of ratings.
      await admin.createTopics({
        topics: [
          { topic: run.topics.ratings, numPartitions: 6, replicationFactor: 1 },
          {
            topic: run.topics.meanRatings,
            numPartitions: 3,
            replicationFactor: 1,
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    const s = run.start(PROCESSOR);
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([s.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 60_000)))]);
    clearTimeout(timer);
    if (exited === null) await run.stop(PROCESSOR);
    expect(exited?.code).toBe(1);
    const log = logOf(run, PROCESSOR);
    expect(log).toContain(
      `${run.topics.ratings} (6 partitions), ${run.topics.meanRatings} (3 partitions) must have the same partition count`,
    );
    expect(log).toContain('Recreate them with one count');
    expect(existsSync(join(run.outDir, 'mean-ratings.csv'))).toBe(false);
  });
});
