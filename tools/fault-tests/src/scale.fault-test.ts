// docs/SCALING.md: several mean-rating-processors share the ratings partitions. Instances join, are
// SIGKILLed, SIGTERMed and SIGSTOPped past the session timeout (a zombie that wakes up mid-batch); the state
// ends exact, and a fresh instance with no state of its own rebuilds all of it from the changelog alone.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps, PipelineRun, ServiceProcess } from '@movie-stream/pipeline';
import { until } from '@movie-stream/test-support';
import { committed, dataset, drained, expectChangelogRebuildsExactly, meanMismatches, Processors, trackRuns } from './harness';

jest.setTimeout(900_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const track = trackRuns();
const started: ServiceProcess[] = [];

beforeAll(() => buildApps());
afterAll(() => {
  for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL');
});

async function newRun(ratings: number, movies: number, seed: number) {
  const d = await dataset(ratings, movies, seed);
  const run = track(
    new PipelineRun({
      ratingsFile: d.ratingsFile,
      moviesFile: d.moviesFile,
      outDir: join(tmpdir(), `scale-${Date.now()}`),
      brokers,
      log: () => undefined,
      snapshotIntervalMs: 300,
    }),
  );
  run.cleanOutput();
  await run.createTopics(6);
  return { run, ...d, procs: new Processors(run, (s) => started.push(s)) };
}

it('1 processor, 2 more join mid-stream, one is SIGKILLed and one SIGTERMed: the one left is exact, and the changelog alone rebuilds it exactly', async () => {
  const { run, ratingsFile, procs } = await newRun(1_000_000, 20_000, 51);
  procs.start('a');
  run.start('rating-producer', ['--ratings', ratingsFile]);
  // Join while the ratings are still coming in: once a fifth of them are counted.
  expect(await until(async () => (procs.check(['a']), (await committed(run)) > 200_000), 120_000, 100)).toBe(true);
  procs.start('b');
  procs.start('c');
  // All three hold partitions (each logged a claim) before the kills.
  expect(await until(() => (procs.check(['a', 'b', 'c']), ['b', 'c'].every((n) => procs.restores(n).length > 0)), 120_000, 100)).toBe(true);
  const aBeforeKills = procs.log('a').length;
  procs.instances.get('b')?.child.kill('SIGKILL');
  procs.instances.get('c')?.child.kill('SIGTERM');
  expect((await procs.instances.get('c')?.exited)?.code).toBe(0);
  await run.producerResult('rating-producer');
  expect(await until(() => (procs.check(['a']), procs.ownsAll('a', aBeforeKills)), 120_000, 100)).toBe(true);
  await drained(run, procs, ['a']);
  procs.instances.get('a')?.child.kill('SIGTERM');
  expect((await procs.instances.get('a')?.exited)?.code).toBe(0);
  expect(await meanMismatches(join(procs.dir('a'), 'mean-ratings.csv'), ratingsFile)).toEqual([]);
  // The survivor took the others' partitions back from the changelog (not by replaying ratings).
  const back = procs.restores('a').filter((r) => r.source !== 'replay');
  expect(back.length).toBeGreaterThan(0);
  for (const r of [...procs.restores('a'), ...procs.restores('b'), ...procs.restores('c')]) {
    process.stdout.write(`restore of partition ${r.partition}: ${r.source}, ${r.recordsRead} records, ${r.ms} ms\n`);
  }
  await expectChangelogRebuildsExactly(run, procs, ratingsFile);
});

it('a processor SIGSTOPped past the session timeout wakes up as a zombie: its stale work is fenced, the state stays exact', async () => {
  const { run, ratingsFile, procs } = await newRun(600_000, 5_000, 52);
  procs.start('a');
  procs.start('b');
  expect(await until(() => (procs.check(['a', 'b']), ['a', 'b'].every((n) => procs.restores(n).length > 0)), 120_000, 100)).toBe(true);
  run.start('rating-producer', ['--ratings', ratingsFile]);
  // Stop b while the ratings are still coming in and it holds work of its own: once a sixth of them are counted.
  expect(await until(async () => (procs.check(['a', 'b']), (await committed(run)) > 100_000), 120_000, 50)).toBe(true);
  const b = procs.instances.get('b') as ServiceProcess;
  const aBefore = procs.log('a').length;
  b.child.kill('SIGSTOP');
  // a takes b's partitions over once b's session has expired.
  expect(await until(() => (procs.check(['a']), /"partitions":\[0,1,2,3,4,5\]/.test(procs.log('a').slice(aBefore))), 120_000, 100)).toBe(
    true,
  );
  const bBefore = procs.log('b').length;
  b.child.kill('SIGCONT');
  // b finds out it was evicted (a new join) before it is stopped.
  expect(await until(() => (procs.check(['a', 'b']), /joined consumer group/.test(procs.log('b').slice(bBefore))), 120_000, 100)).toBe(
    true,
  );
  const woke = procs.log('b').slice(bBefore);
  process.stdout.write(`zombie after SIGCONT: ${/partition lost/.test(woke) ? 'a batch was fenced' : 'no batch in flight'}\n`);
  await run.producerResult('rating-producer');
  const aBeforeStop = procs.log('a').length;
  b.child.kill('SIGTERM');
  expect((await b.exited).code).toBe(0);
  // a took back what b had regained after its wake-up (the group may drain before a has claimed it).
  expect(await until(() => (procs.check(['a']), procs.ownsAll('a', aBeforeStop)), 120_000, 100)).toBe(true);
  await drained(run, procs, ['a']);
  procs.instances.get('a')?.child.kill('SIGTERM');
  expect((await procs.instances.get('a')?.exited)?.code).toBe(0);
  expect(await meanMismatches(join(procs.dir('a'), 'mean-ratings.csv'), ratingsFile)).toEqual([]);
  await expectChangelogRebuildsExactly(run, procs, ratingsFile);
});
