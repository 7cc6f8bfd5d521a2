// The processor's database mode (--state postgres) SIGKILLed after a batch's transaction committed and before
// the broker acknowledged that batch's MeanRatings: the restarted processor must publish them again, so
// `mean-ratings` (read_committed) and the sink's movie_data end exact against the independent computation.
// No hook in the service opens the window: mean-ratings is set to refuse every write (max.message.bytes 1),
// so the processor commits its batch and then fails on the refused publish (or is killed first). The batch holds only
// movies' last ratings (the ratings file is split into every movie's last rating and the rest), so the kill
// is certain to leave movies whose final mean was never published. Real broker, real PostgreSQL, a
// database of the test's own.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { overrideTopicSettings, setTopicSettings } from '@movie-stream/messaging';
import { buildApps, PipelineRun, REPO_ROOT } from '@movie-stream/pipeline-run';
import {
  cachedDataset,
  computeReferenceMeans,
  movieDataMismatches,
  ownDatabase,
  publishedMeans,
  publishedMismatches,
  storedProgress,
  teardownAfterAll,
  until,
} from '@movie-stream/test-support';

jest.setTimeout(300_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const PROCESSOR = 'mean-rating-processor';
const teardown = teardownAfterAll();

beforeAll(() => buildApps());

/** Splits a ratings file into every movie's last rating and the rest, in file order; returns [rest, last ratings]. */
function splitOffLastRatings(ratingsFile: string, dir: string): [string, string] {
  const [header, ...rows] = readFileSync(ratingsFile, 'utf8').split('\n').filter(Boolean);
  const movieColumn = header!.split(',').indexOf('movieId');
  const lastRow = new Map<string, number>();
  rows.forEach((r, i) => lastRow.set(r.split(',')[movieColumn]!, i));
  const isLast = new Set(lastRow.values());
  const write = (name: string, keep: (i: number) => boolean) => {
    const file = join(dir, name);
    writeFileSync(file, [header, ...rows.filter((_, i) => keep(i))].join('\n') + '\n');
    return file;
  };
  return [write('rest.csv', (i) => !isLast.has(i)), write('last.csv', (i) => isLast.has(i))];
}

function logOf(run: PipelineRun, app: string): string {
  const f = join(run.logDir, `${app}.log`);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

it('processor (--state postgres) SIGKILLed between its commit and the publish of movies’ last ratings, restarted: mean-ratings and movie_data exact', async () => {
  const { ratingsFile, moviesFile } = await cachedDataset(join(REPO_ROOT, '.bench', 'test-data'), {
    ratings: 40_000,
    movies: 1_000,
    seed: 21,
    unnamedRatedMovies: 5,
  });
  const reference = await computeReferenceMeans(ratingsFile);
  const { url, db } = await ownDatabase(teardown);
  const run = new PipelineRun({
    ratingsFile,
    moviesFile,
    outDir: join(tmpdir(), `publish-crash-${Date.now()}`),
    brokers,
    log: () => undefined,
    env: { SESSION_TIMEOUT_MS: '6000' },
    database: { url, sink: true, processor: true },
  });
  teardown.run(run);
  run.cleanOutput();
  await run.createTopics();
  const [rest, lastRatings] = splitOffLastRatings(ratingsFile, run.outDir);
  const ratings = run.topics.ratings;

  // All but every movie's last rating: processed, published, stored.
  run.startConsumers();
  await run.waitForConsumerGroups();
  run.start('movie-producer', ['--movies', moviesFile]);
  run.start('rating-producer', ['--ratings', rest]);
  await Promise.all([run.producerResult('movie-producer'), run.producerResult('rating-producer')]);
  expect(await until(async () => (await run.lag(run.groups.processor, [ratings])) === 0, 180_000, 250)).toBe(true);

  // mean-ratings refuses every write from now on; the last ratings come.
  const before = await storedProgress(db, run.groups.processor, ratings);
  const settings = await overrideTopicSettings(run.kafka, run.topics.meanRatings, { 'max.message.bytes': '1' });
  teardown.add(() => setTopicSettings(run.kafka, run.topics.meanRatings, settings));
  run.start('rating-producer', ['--ratings', lastRatings]);
  await run.producerResult('rating-producer');
  // A batch committed in PostgreSQL and its publish refused: the processor fails on the refusal (exit 1, it
  // is permanent); a kill then finds it dead, or kills it in the same window if it is still there.
  const refused = /MESSAGE_TOO_LARGE/;
  const inWindow = async () => refused.test(logOf(run, PROCESSOR)) && (await storedProgress(db, run.groups.processor, ratings)) > before;
  expect(await until(inWindow, 180_000, 20)).toBe(true);
  await run.kill(PROCESSOR, 0, 'SIGKILL');
  await setTopicSettings(run.kafka, run.topics.meanRatings, settings);

  // The kill hit the window: movies whose every rating is stored but whose published count is behind.
  const state = await db.query<{ movie_id: number; c: string }>('SELECT movie_id, rating_count AS c FROM movie_ratings_state');
  const published = await publishedMeans(run);
  const behind = state.rows.filter(
    (r) => Number(r.c) === reference.means.get(r.movie_id)?.count && (published.get(r.movie_id)?.maxCount ?? 0) < Number(r.c),
  );
  process.stderr.write(`after the kill: ${behind.length} movies fully stored but not published with their final count\n`);
  expect(behind.length).toBeGreaterThan(0);

  run.startInstance(PROCESSOR, 0);
  await run.waitUntilDrained();
  await run.stopConsumers();
  await run.exportMovieData();

  // mean-ratings: every movie's last MeanRating is its exact sum and count.
  const final = await publishedMeans(run);
  const wrong = publishedMismatches(final, reference.means);
  expect({ movies: reference.means.size, wrong: wrong.length, first: wrong.slice(0, 10) }).toEqual({
    movies: reference.means.size,
    wrong: 0,
    first: [],
  });
  // movie_data (the sink's database), exported as movie-data.csv.
  expect(await movieDataMismatches(join(run.outDir, 'movie-data.csv'), ratingsFile, moviesFile)).toEqual([]);
});
