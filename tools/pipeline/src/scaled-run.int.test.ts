// A scaled run's plumbing on a real broker: two processors and two sinks on the sample data, each instance
// a process of its own with its own OUT_DIR, INSTANCE_ID, log and state, all stopping cleanly. (That the
// merged outputs are exact needs instances that keep only their own partitions: the services' side.)
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '@movie-stream/test-support';
import { buildApps, CONSUMER_APPS, PipelineRun, REPO_ROOT } from '@movie-stream/pipeline-run';

jest.setTimeout(240_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A running process's environment, as the kernel holds it. */
function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

let run: PipelineRun | undefined;
beforeAll(() => buildApps());
afterAll(async () => {
  await run?.stopAll();
  await run?.deleteTopics().catch(() => undefined);
});

it('starts every consumer instance with its own OUT_DIR and INSTANCE_ID, and each saves a state of its own and stops with 0', async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'scaled-'));
  const r = new PipelineRun({
    ratingsFile: join(REPO_ROOT, 'data', 'sample', 'ratings.csv'),
    moviesFile: join(REPO_ROOT, 'data', 'sample', 'movies.csv'),
    outDir,
    brokers,
    processors: 2,
    sinks: 2,
    snapshotIntervalMs: 300,
    log: () => undefined,
  });
  run = r;
  r.cleanOutput();
  await r.createTopics();
  r.startConsumers();
  await r.waitForConsumerGroups(120_000);

  const expected = CONSUMER_APPS.flatMap((app) =>
    [0, 1].map((i) => ({ app, i, outDir: join(outDir, 'instances', `${app}-${i}`), instanceId: `${app}-${i}-${r.runId}` })),
  );
  expect(CONSUMER_APPS.map((app) => r.instances(app).map((x) => x.instance))).toEqual([
    [0, 1],
    [0, 1],
  ]);
  const seen = expected.map(({ app, i }) => {
    const env = environOf(r.service(app, i)!.child.pid!);
    return { app, i, outDir: env.OUT_DIR, instanceId: env.INSTANCE_ID };
  });
  expect(seen).toEqual(expected.map(({ app, i, outDir: o, instanceId }) => ({ app, i, outDir: o, instanceId })));

  r.startProducers();
  const [movies, ratings] = await Promise.all([r.producerResult('movie-producer'), r.producerResult('rating-producer')]);
  expect(ratings.published).toBeGreaterThan(0);
  expect(movies.published).toBeGreaterThan(0);

  // Each instance owns partitions with data, so each saves a snapshot in its own directory.
  const stateOf = (app: string, i: number) => join(outDir, 'instances', `${app}-${i}`, '.state', app);
  const saved = await until(() => expected.every(({ app, i }) => existsSync(join(stateOf(app, i), 'CURRENT'))), 120_000);
  expect(expected.filter(({ app, i }) => !existsSync(join(stateOf(app, i), 'CURRENT'))).map(({ app, i }) => `${app}-${i}`)).toEqual([]);
  expect(saved).toBe(true);
  r.checkConsumers('while consuming');

  await r.stopConsumers();
  expect(expected.map(({ app, i }) => r.service(app, i)!.child.exitCode)).toEqual([0, 0, 0, 0]);
  for (const { app, i } of expected) {
    expect(readFileSync(join(outDir, 'logs', `${app}-${i}.log`), 'utf8')).toContain(`${app}-${i}-${r.runId}`);
  }
  // Nothing of the unscaled layout: no shared state and no per-service output in <out> before the merge.
  expect(['.state', 'mean-ratings.csv', 'movie-data.csv'].filter((f) => existsSync(join(outDir, f)))).toEqual([]);
});

/** A process's state letter from /proc (T = stopped by a signal). */
const procState = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];

it('scales, kills, pauses and resumes instances; only an exit nobody asked for counts as a consumer dying', async () => {
  const r = new PipelineRun({
    ratingsFile: '',
    moviesFile: '',
    outDir: mkdtempSync(join(tmpdir(), 'scaled-h-')),
    brokers,
    processors: 2,
    log: () => undefined,
  });
  run = r;
  r.cleanOutput();
  await r.createTopics();
  r.startConsumers();
  expect(CONSUMER_APPS.map((app) => r.instances(app).length)).toEqual([2, 1]);

  expect(await r.kill('mean-rating-processor', 1, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
  expect(r.instances('mean-rating-processor').map((x) => x.instance)).toEqual([0]);
  r.checkConsumers('after a deliberate kill'); // does not throw

  await r.scale('mean-rating-processor', 3);
  expect(r.instances('mean-rating-processor').map((x) => x.instance)).toEqual([0, 1, 2]);

  const sink = r.service('movie-data-sink', 0)!;
  r.pause('movie-data-sink', 0);
  expect(await until(() => procState(sink.child.pid!) === 'T', 30_000)).toBe(true);
  r.resume('movie-data-sink', 0);
  expect(await until(() => procState(sink.child.pid!) !== 'T', 30_000)).toBe(true);

  // Scaling down stops the highest instances gracefully.
  await r.waitForConsumerGroups(120_000);
  expect(await r.scale('mean-rating-processor', 1)).toEqual([0, 0]);
  expect(r.instances('mean-rating-processor').map((x) => x.instance)).toEqual([0]);
  r.checkConsumers('after scaling down');

  // An instance that dies without being asked to is a consumer dying.
  sink.child.kill('SIGKILL');
  await sink.exited;
  expect(() => r.checkConsumers('in the test')).toThrow(`movie-data-sink instance 0 exited with SIGKILL in the test; see ${sink.logFile}`);
  await expect(r.stopConsumers()).rejects.toThrow('a consumer did not stop cleanly (movie-data-sink instance 0 exited with SIGKILL); see');
});
