// docs/SCALING.md, sinks: movie-data-sinks share movies and mean-ratings partition by partition (partition p
// of both to one instance, so a movie's title and mean meet), and their states merge into one exact
// movie-data.csv, also after one of them is SIGKILLed mid-stream and the other takes its partitions over.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps, PipelineRun } from '@movie-stream/pipeline';
import { dataset, mismatches, trackRuns, onTopic } from './harness';

jest.setTimeout(600_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const SINK = 'movie-data-sink';
const track = trackRuns();

beforeAll(() => buildApps());

it('2 processors and 2 sinks, one sink SIGKILLed mid-stream: the merged movie-data.csv is exact, every movie with its title and mean', async () => {
  const RATINGS = 300_000;
  const { ratingsFile, moviesFile } = await dataset(RATINGS, 3_000, 61);
  const run = track(
    new PipelineRun({
      ratingsFile,
      moviesFile,
      outDir: join(tmpdir(), `sinks-${Date.now()}`),
      brokers,
      log: () => undefined,
      snapshotIntervalMs: 300,
      processors: 2,
      sinks: 2,
      env: { SESSION_TIMEOUT_MS: '6000' },
    }),
  );
  run.cleanOutput();
  await run.createTopics(6);
  run.startConsumers();
  await run.waitForConsumerGroups();
  run.startProducers();
  // Kill while ratings are still coming in.
  let published = 0;
  await new Promise<void>((resolve, reject) => {
    const poll = async () => {
      published = await onTopic(run);
      if (published >= RATINGS) return reject(new Error('the producer finished before the kill'));
      if (published > RATINGS / 4) return resolve();
      setTimeout(() => void poll().catch(reject), 50);
    };
    void poll().catch(reject);
  });
  expect((await run.kill(SINK, 1, 'SIGKILL')).signal).toBe('SIGKILL');
  expect((await run.producerResult('rating-producer')).published).toBe(RATINGS);
  await run.producerResult('movie-producer');
  await run.waitUntilDrained();
  await run.stopConsumers();
  const merged = run.mergeOutputs().find((m) => m.app === SINK);
  expect(merged?.warnings).toEqual([]);
  expect(await mismatches(run, ratingsFile, moviesFile)).toEqual([]);
});
