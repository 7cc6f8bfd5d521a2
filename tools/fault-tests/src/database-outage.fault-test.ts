// PostgreSQL unreachable for three session timeouts under a scaled database-mode run (2 processors with
// --state postgres, 2 sinks with --sink postgres, SESSION_TIMEOUT_MS 6000). Every instance is inside a batch
// that waits for the database the whole time (ratings and movies keep coming meanwhile); a handler that
// waits heartbeats, so no member is evicted and no consumer joins its group again. Afterwards the sink's
// movie_data and the last MeanRating of every movie on `mean-ratings` (read_committed) are exact against
// the independent computation. The outage is a TCP relay the test cuts (tcp-relay.ts): every connection
// reset, new ones refused; the machine's PostgreSQL keeps running.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOffsets } from '@movie-stream/movie-db';
import { buildApps, PipelineRun } from '@movie-stream/pipeline';
import {
  computeReferenceMeans,
  freePort,
  movieDataMismatches,
  ownDatabase,
  publishedMeans,
  publishedMismatches,
  splitRatings,
  teardownAfterAll,
  TEST_DATABASE_SERVER,
  until,
} from '@movie-stream/test-support';
import { dataset, logOf } from './harness';
import { TcpRelay } from './tcp-relay';

jest.setTimeout(900_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const SESSION_TIMEOUT_MS = 6_000;
const OUTAGE_MS = 3 * SESSION_TIMEOUT_MS;
const INSTANCES = ['mean-rating-processor-0', 'mean-rating-processor-1', 'movie-data-sink-0', 'movie-data-sink-1'];
const teardown = teardownAfterAll();

beforeAll(() => buildApps());

/** Per instance, how many times it joined its consumer group (the line partition-claims.ts writes on every join). */
function joins(run: PipelineRun): Record<string, number> {
  return Object.fromEntries(INSTANCES.map((i) => [i, (logOf(run, i).match(/joined consumer group/g) ?? []).length]));
}

it('PostgreSQL unreachable for 3 × SESSION_TIMEOUT_MS while ratings and movies flow, 2 processors and 2 sinks in database mode: no consumer rejoins; movie_data and mean-ratings exact', async () => {
  const { ratingsFile, moviesFile } = await dataset(300_000, 3_000, 31);
  const reference = await computeReferenceMeans(ratingsFile);

  const { url, db } = await ownDatabase(teardown);
  const relay = new TcpRelay(await freePort(), { host: TEST_DATABASE_SERVER.hostname, port: Number(TEST_DATABASE_SERVER.port || 5432) });
  teardown.add(() => relay.cut());
  await relay.open();
  const relayed = new URL(url);
  relayed.port = String(relay.port);

  const run = teardown.run(
    new PipelineRun({
      ratingsFile,
      moviesFile,
      outDir: join(tmpdir(), `faults-db-outage-${Date.now()}`),
      brokers,
      log: () => undefined,
      env: { SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) },
      database: { url: relayed.toString(), sink: true, processor: true },
      processors: 2,
      sinks: 2,
    }),
  );
  run.cleanOutput();
  await run.createTopics();
  const [firstHalf, secondHalf] = splitRatings(ratingsFile, 2, run.outDir, 'half');
  run.startConsumers();
  await run.waitForConsumerGroups();

  // The first half of the ratings flows; cut once the processors have stored batches of it.
  run.start('rating-producer', ['--ratings', firstHalf!]);
  const stored = async () => {
    const o = await loadOffsets(db, run.groups.processor, [run.topics.ratings]);
    return Object.values(o[run.topics.ratings] ?? {}).length;
  };
  expect(await until(async () => (await stored()) > 0, 120_000, 20)).toBe(true);
  run.checkConsumers('before the outage');
  const joinsBefore = joins(run);
  const logLengths = Object.fromEntries(INSTANCES.map((i) => [i, logOf(run, i).length]));
  const cutAt = Date.now();
  await relay.cut();

  // Meanwhile the rest of the ratings and all the movies come: every instance gets batches to store.
  await run.producerResult('rating-producer');
  run.start('rating-producer', ['--ratings', secondHalf!]);
  run.start('movie-producer', ['--movies', moviesFile]);
  await Promise.all([run.producerResult('rating-producer'), run.producerResult('movie-producer')]);
  // Every instance is waiting for PostgreSQL inside a batch.
  const waiting = (i: string) => /waiting for PostgreSQL at [^\n]* not stored: /.test(logOf(run, i).slice(logLengths[i]));
  expect(await until(() => INSTANCES.every(waiting), Math.max(0, OUTAGE_MS - (Date.now() - cutAt)), 100)).toBe(true);
  run.checkConsumers('during the outage');
  // The scenario: the outage lasts three session timeouts.
  const left = OUTAGE_MS - (Date.now() - cutAt);
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  run.checkConsumers('at the end of the outage');
  await relay.open();
  process.stderr.write(`PostgreSQL unreachable for ${((Date.now() - cutAt) / 1000).toFixed(1)} s\n`);

  await run.waitUntilDrained();
  const joinsAfter = joins(run);
  await run.stopConsumers();
  process.stderr.write(`joins per instance before the outage ${JSON.stringify(joinsBefore)}, after ${JSON.stringify(joinsAfter)}\n`);
  // No member was evicted: no instance joined its group again.
  expect(joinsAfter).toEqual(joinsBefore);
  expect(INSTANCES.filter((i) => !/PostgreSQL at .* is back/.test(logOf(run, i)))).toEqual([]);

  // movie_data (the sinks' database), exported as movie-data.csv.
  await run.exportMovieData();
  expect(await movieDataMismatches(join(run.outDir, 'movie-data.csv'), ratingsFile, moviesFile)).toEqual([]);
  // mean-ratings: every movie's last MeanRating is its exact sum and count.
  const published = await publishedMeans(run);
  const wrong = publishedMismatches(published, reference.means);
  expect({ movies: reference.means.size, wrong: wrong.length, first: wrong.slice(0, 10) }).toEqual({
    movies: reference.means.size,
    wrong: 0,
    first: [],
  });
});
