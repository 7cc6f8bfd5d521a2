// End-to-end: the real services (bundled, as `npm start` runs them) on a real broker, compared with an
// independent computation straight from the CSV. Always on data the project makes (the generator's quoted
// and non-ASCII titles, rated movies missing from movies.csv, malformed rows); also on the real MovieLens
// ml-latest-small where it is at hand (MOVIELENS_DIR or ../shared/movielens beside the checkout).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '@movie-stream/data-generator';
import {
  compareMovieData,
  computeReferenceMeans,
  describeWithMovielens,
  movieIdsOf,
  readSemicolonCsv,
  splitRatings,
  until,
} from '@movie-stream/test-support';
import { buildApps, PipelineRun } from '@movie-stream/pipeline-run';

// Real broker, real processes: minutes, not the unit-test default of 5 s.
jest.setTimeout(180_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** An input and what the producers must report for it. */
interface DataSet {
  ratingsFile: string;
  moviesFile: string;
  /** Good rating rows, malformed rating rows, movie rows. */
  ratings: number;
  badRatings: number;
  movies: number;
}

async function expectExact(data: DataSet, outDir: string): Promise<number> {
  const reference = await computeReferenceMeans(data.ratingsFile);
  const ids = await movieIdsOf(data.moviesFile);
  const rows = await readSemicolonCsv(join(outDir, 'movie-data.csv'));
  expect(compareMovieData(rows, reference.means, ids)).toEqual([]);
  const all = new Set([...ids, ...reference.means.keys()]);
  expect(rows).toHaveLength(all.size);
  // mean-ratings.csv holds exactly the rated movies, with the same sums and counts.
  const means = await readSemicolonCsv(join(outDir, 'mean-ratings.csv'));
  expect(means).toHaveLength(reference.means.size);
  for (const m of means) {
    const ref = reference.means.get(Number(m.movieId));
    expect({ id: Number(m.movieId), sum: Number(m.sum), count: Number(m.count) }).toEqual({
      id: ref?.movieId,
      sum: ref?.sum,
      count: ref?.count,
    });
  }
  return reference.ratings;
}

const runs: PipelineRun[] = [];
beforeAll(() => buildApps());
// A failed test must not leave services running (jest would never exit).
afterAll(async () => {
  for (const r of runs) await r.stopAll();
});

/** The two end-to-end tests, on one data set (a function: the generated one exists only once beforeAll ran). */
function endToEnd(data: () => DataSet): void {
  it('computes every movie’s mean and count exactly; malformed rows rejected and counted', async () => {
    const d = data();
    const outDir = mkdtempSync(join(tmpdir(), 'e2e-'));
    const run = new PipelineRun({ ratingsFile: d.ratingsFile, moviesFile: d.moviesFile, outDir, brokers, log: () => undefined });
    runs.push(run);
    const summary = await run.run();
    expect(summary.ratings).toMatchObject({ rowsRead: d.ratings + d.badRatings, published: d.ratings, rowsRejected: d.badRatings });
    expect(summary.movies).toMatchObject({ rowsRead: d.movies, published: d.movies, rowsRejected: 0 });
    expect(await expectExact(d, outDir)).toBe(d.ratings);
  });

  it('stays exact when the processor and the sink are SIGKILLed mid-stream and restarted', async () => {
    const { ratingsFile, moviesFile, ratings } = data();
    const outDir = mkdtempSync(join(tmpdir(), 'crash-'));
    // Five slices of the ratings, published one after another; a kill while each is consumed.
    const slices = 5;
    const files = splitRatings(ratingsFile, slices, outDir, 'slice');
    const run = new PipelineRun({
      ratingsFile,
      moviesFile,
      outDir: join(outDir, 'out'),
      brokers,
      log: () => undefined,
      snapshotIntervalMs: 200,
      env: { SESSION_TIMEOUT_MS: '6000' },
    });
    runs.push(run);
    run.cleanOutput();
    await run.createTopics();
    let killedWithLag = 0;
    try {
      run.start('mean-rating-processor');
      run.start('movie-data-sink');
      run.start('movie-producer', ['--movies', moviesFile]);
      await run.producerResult('movie-producer');
      const admin = run.kafka.admin();
      await admin.connect();
      const published = async () => (await admin.fetchTopicOffsets(run.topics.ratings)).reduce((n, p) => n + Number(p.high), 0);
      try {
        const stateDir = join(run.outDir, '.state', 'mean-rating-processor');
        const currentOf = () => (existsSync(join(stateDir, 'CURRENT')) ? readFileSync(join(stateDir, 'CURRENT'), 'utf8') : undefined);
        let currentAtStart = currentOf();
        for (let i = 0; i < slices; i++) {
          // A restarted processor first catches up and saves a snapshot, so that the next kill has one to restore;
          // unless the victim had already applied and committed the whole slice (the producers are that fast
          // now: a CI run waited here in vain), when there is nothing to catch up and the last snapshot stays.
          const caughtUp = async () => currentOf() !== currentAtStart || (await run.lag(run.groups.processor, [run.topics.ratings])) === 0;
          if (i > 0 && !(await until(caughtUp, 120_000, 20))) {
            throw new Error(
              `the processor neither saved a snapshot nor had its group caught up within 120 s of its restart; see ${run.logDir}`,
            );
          }
          const before = await published();
          run.start('rating-producer', ['--ratings', files[i]]);
          // Kill as soon as this slice starts arriving: what is still being published cannot have been
          // processed and committed, so the victim dies with work pending (a condition, not a timer).
          if (!(await until(async () => (await published()) !== before, 120_000, 5))) {
            throw new Error(`slice ${i} never reached the topic; see ${run.logDir}`);
          }
          const victim = i === 2 ? 'movie-data-sink' : 'mean-rating-processor';
          run.service(victim)?.child.kill('SIGKILL');
          await run.service(victim)?.exited;
          const lag =
            victim === 'mean-rating-processor'
              ? await run.lag(run.groups.processor, [run.topics.ratings])
              : await run.lag(run.groups.sink, [run.topics.movies, run.topics.meanRatings]);
          if (lag > 0) killedWithLag++;
          currentAtStart = currentOf();
          run.start(victim);
          await run.producerResult('rating-producer');
        }
      } finally {
        await admin.disconnect();
      }
      await run.waitUntilDrained();
      expect(await run.stop('mean-rating-processor')).toBe(0);
      expect(await run.stop('movie-data-sink')).toBe(0);
    } finally {
      await run.stopAll();
      await run.deleteTopics();
    }
    // The restarts resumed from snapshots (not from scratch) …
    expect(readFileSync(join(run.logDir, 'mean-rating-processor.log'), 'utf8')).toMatch(/restored mean-ratings snapshot/);
    // … at least some kills hit while ratings were still unprocessed …
    expect(killedWithLag).toBeGreaterThan(0);
    // … and not one rating was lost or counted twice.
    expect(await expectExact(data(), run.outDir)).toBe(ratings);
  });
}

// 100,000 ratings like ml-latest-small, so that the kills land while ratings are still unprocessed.
const GENERATED = { ratings: 100_000, movies: 3_000, unnamedRatedMovies: 5, badRows: 20, seed: 5 };
describe(`pipeline on generated data (${GENERATED.ratings} ratings, ${GENERATED.movies} movies, ${GENERATED.badRows} malformed rows)`, () => {
  let generated: DataSet | undefined;
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-data-'));
    const g = await generateDataset({ ...GENERATED, outDir: dir });
    generated = { ratingsFile: g.ratingsFile, moviesFile: g.moviesFile, ratings: g.ratings, badRatings: g.badRows, movies: g.movies };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  endToEnd(() => generated!);

  it('KAFKA_CLIENT=platformatic: the producers publish through @platformatic/kafka, every mean and count still exact', async () => {
    const d = generated!;
    const outDir = mkdtempSync(join(tmpdir(), 'e2e-platformatic-'));
    const run = new PipelineRun({
      ratingsFile: d.ratingsFile,
      moviesFile: d.moviesFile,
      outDir,
      brokers,
      log: () => undefined,
      env: { KAFKA_CLIENT: 'platformatic' },
    });
    runs.push(run);
    const summary = await run.run();
    expect(summary.ratings).toMatchObject({ rowsRead: d.ratings + d.badRatings, published: d.ratings, rowsRejected: d.badRatings });
    expect(summary.movies).toMatchObject({ rowsRead: d.movies, published: d.movies, rowsRejected: 0 });
    for (const app of ['rating-producer', 'movie-producer']) {
      expect(readFileSync(join(run.logDir, `${app}.log`), 'utf8')).toMatch(/publishing with the platformatic Kafka client/);
    }
    // Exact means need every movie's ratings on the partition of its movies record (co-partitioning).
    expect(await expectExact(d, outDir)).toBe(d.ratings);
  });
});

describeWithMovielens('pipeline on ml-latest-small (100,004 ratings, 9,125 movies)', (ml) =>
  endToEnd(() => ({
    ratingsFile: join(ml, 'ratings.csv'),
    moviesFile: join(ml, 'movies.csv'),
    ratings: 100004,
    badRatings: 0,
    movies: 9125,
  })),
);
