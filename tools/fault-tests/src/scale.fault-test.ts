// docs/SCALING.md: several mean-rating-processors share the ratings partitions. Instances join, are
// SIGKILLed, SIGTERMed and SIGSTOPped past the session timeout (a zombie that wakes up mid-batch); the state
// ends exact, and a fresh instance with no state of its own rebuilds all of it from the changelog alone.
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerLag } from '@movie-stream/messaging';
import { buildApps, PipelineRun, ServiceProcess, startService } from '@movie-stream/pipeline';
import { computeReferenceMeans, readSemicolonCsv, until } from '@movie-stream/test-support';
import { dataset, trackRuns } from './harness';

jest.setTimeout(900_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const PROCESSOR = 'mean-rating-processor';
const track = trackRuns();
const started: ServiceProcess[] = [];

beforeAll(() => buildApps());
afterAll(() => {
  for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL');
});

/** Processor instances of one run, each with its own output and state directory (as on separate hosts). */
class Processors {
  readonly instances = new Map<string, ServiceProcess>();
  constructor(private readonly run: PipelineRun) {}

  dir(name: string): string {
    return join(this.run.outDir, 'instances', name);
  }

  start(name: string): ServiceProcess {
    const env = { ...this.run.serviceEnv(PROCESSOR), OUT_DIR: this.dir(name), INSTANCE_ID: name, SESSION_TIMEOUT_MS: '6000' };
    const s = startService(PROCESSOR, env, [], join(this.dir(name), 'logs'));
    started.push(s);
    this.instances.set(name, s);
    return s;
  }

  log(name: string): string {
    const f = join(this.dir(name), 'logs', `${PROCESSOR}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Throws with the log when an instance died that should not have. */
  check(alive: string[]): void {
    for (const name of alive) {
      const s = this.instances.get(name);
      if (s && s.child.exitCode !== null) throw new Error(`${name} exited (${s.child.exitCode}):\n${this.log(name).slice(-3000)}`);
    }
  }

  restores(name: string): { partition: number; source: string; ms: number; recordsRead: number }[] {
    return this.log(name)
      .split('\n')
      .filter((l) => l.includes('restored partition'))
      .map((l) => JSON.parse(l.slice(l.indexOf('{'))));
  }
}

/** Every movie's sum and count in `file` compared with the reference; returns the mismatches. */
async function meanMismatches(file: string, ratingsFile: string): Promise<string[]> {
  const ref = await computeReferenceMeans(ratingsFile);
  const rows = await readSemicolonCsv(file);
  const out: string[] = [];
  const seen = new Set<number>();
  for (const r of rows) {
    const id = Number(r.movieId);
    seen.add(id);
    const m = ref.means.get(id);
    if (!m || m.count !== Number(r.count) || Math.abs(m.sum - Number(r.sum)) > 1e-6) {
      out.push(`movie ${id}: ${r.sum}/${r.count}, expected ${m?.sum}/${m?.count}`);
    }
  }
  for (const id of ref.means.keys()) if (!seen.has(id)) out.push(`movie ${id} missing`);
  return out;
}

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
  return { run, ...d, procs: new Processors(run) };
}

/** Ratings the processors' group has committed (each instance commits the partitions it owns). */
async function committed(run: PipelineRun): Promise<number> {
  const admin = run.kafka.admin();
  await admin.connect();
  try {
    return (await consumerLag(admin, run.groups.processor, [run.topics.ratings])).reduce((s, l) => s + l.committed, 0);
  } catch {
    return 0;
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the processors' group has committed every rating (only owned partitions are committed). */
async function drained(run: PipelineRun, procs: Processors, alive: string[]): Promise<void> {
  const ok = await until(
    async () => {
      procs.check(alive);
      return (await run.lag(run.groups.processor, [run.topics.ratings]).catch(() => -1)) === 0;
    },
    300_000,
    250,
  );
  if (!ok) throw new Error('the processors did not drain within 5 minutes');
}

/** A fresh instance with no state rebuilds everything from the changelog; its table must be exact. */
async function expectChangelogRebuildsExactly(run: PipelineRun, procs: Processors, ratingsFile: string): Promise<void> {
  const fresh = procs.start('fresh');
  await drained(run, procs, ['fresh']);
  // Each partition was restored from the changelog, not replayed from ratings.
  expect(await until(() => procs.restores('fresh').length >= 6, 60_000, 100)).toBe(true);
  expect(procs.restores('fresh').map((r) => r.source)).toEqual(Array(6).fill('changelog'));
  fresh.child.kill('SIGTERM');
  expect((await fresh.exited).code).toBe(0);
  expect(await meanMismatches(join(procs.dir('fresh'), 'mean-ratings.csv'), ratingsFile)).toEqual([]);
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
  procs.instances.get('b')?.child.kill('SIGKILL');
  procs.instances.get('c')?.child.kill('SIGTERM');
  expect((await procs.instances.get('c')?.exited)?.code).toBe(0);
  await run.producerResult('rating-producer');
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
  b.child.kill('SIGTERM');
  expect((await b.exited).code).toBe(0);
  await drained(run, procs, ['a']);
  procs.instances.get('a')?.child.kill('SIGTERM');
  expect((await procs.instances.get('a')?.exited)?.code).toBe(0);
  expect(await meanMismatches(join(procs.dir('a'), 'mean-ratings.csv'), ratingsFile)).toEqual([]);
  await expectChangelogRebuildsExactly(run, procs, ratingsFile);
});
