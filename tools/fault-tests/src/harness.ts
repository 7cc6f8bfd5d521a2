import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { consumerLag } from '@movie-stream/messaging';
import { PipelineRun, REPO_ROOT, ServiceProcess, startService } from '@movie-stream/pipeline';
import { cachedDataset, computeReferenceMeans, movieDataMismatches, readSemicolonCsv, until } from '@movie-stream/test-support';

const PROCESSOR = 'mean-rating-processor';

/** A deterministic generated data set (5 rated movies missing from movies.csv), cached across test runs. */
export async function dataset(ratings: number, movies: number, seed = 7): Promise<{ ratingsFile: string; moviesFile: string }> {
  return cachedDataset(join(REPO_ROOT, '.bench', 'fault-data'), { ratings, movies, seed, unnamedRatedMovies: 5 });
}

/** Mismatches between the run's movie-data.csv and the independent computation (empty = exact). */
export function mismatches(run: PipelineRun, ratingsFile: string, moviesFile: string): Promise<string[]> {
  return movieDataMismatches(join(run.outDir, 'movie-data.csv'), ratingsFile, moviesFile);
}

export function logOf(run: PipelineRun, app: string): string {
  const f = join(run.logDir, `${app}.log`);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

/**
 * Stops every run a test file started, and deletes its topics, even when a test failed (jest would
 * otherwise never exit). Call at the top level of a test file; wrap each new PipelineRun in the result.
 */
export function trackRuns(): (run: PipelineRun) => PipelineRun {
  const runs: PipelineRun[] = [];
  afterAll(async () => {
    for (const r of runs) {
      await r.stopAll();
      await r.deleteTopics().catch(() => undefined);
    }
  });
  return (run) => {
    runs.push(run);
    return run;
  };
}

/**
 * Processor instances of one run, each with its own output and state directory (as on separate hosts).
 * `onStart` sees every process started (the test file kills what is left in its afterAll).
 */
export class Processors {
  readonly instances = new Map<string, ServiceProcess>();
  constructor(
    private readonly run: PipelineRun,
    private readonly onStart: (s: ServiceProcess) => void = () => undefined,
  ) {}

  dir(name: string): string {
    return join(this.run.outDir, 'instances', name);
  }

  /** `commandPrefix`: see startService (e.g. `ip netns exec <ns>` for an instance on a host of its own). */
  start(name: string, commandPrefix: string[] = []): ServiceProcess {
    const env = { ...this.run.serviceEnv(PROCESSOR), OUT_DIR: this.dir(name), INSTANCE_ID: name, SESSION_TIMEOUT_MS: '6000' };
    const s = startService(PROCESSOR, env, [], join(this.dir(name), 'logs'), PROCESSOR, commandPrefix);
    this.onStart(s);
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

  /** The instance's last `joined consumer group` after `from` (a length of its log), or undefined (also while it is being written). */
  lastJoin(name: string, from = 0): { partitions: number[]; gained: number[]; at: number } | undefined {
    const log = this.log(name).slice(from);
    const at = log.lastIndexOf('joined consumer group {');
    if (at < 0) return undefined;
    const end = log.indexOf('\n', at);
    if (end < 0) return undefined; // the line is still being written
    const line = log.slice(at, end);
    return { ...JSON.parse(line.slice(line.indexOf('{'))), at: from + at };
  }

  /**
   * True once the instance's last join after `from` gave it all `count` partitions and it has claimed the
   * ones it gained. A drained group is not enough: an instance that left commits everything first, so lag is
   * 0 before the one left has claimed what it took over (its final snapshot would then lack those).
   */
  ownsAll(name: string, from = 0, count = 6): boolean {
    const j = this.lastJoin(name, from);
    if (!j || j.partitions.length !== count) return false;
    return j.gained.length === 0 || this.log(name).indexOf('claimed partitions', j.at) > j.at;
  }
}

/** Every movie's sum and count in `file` compared with the reference; returns the mismatches. */
export async function meanMismatches(file: string, ratingsFile: string): Promise<string[]> {
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

/** Ratings the processors' group has committed (each instance commits the partitions it owns). */
export async function committed(run: PipelineRun): Promise<number> {
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
export async function drained(run: PipelineRun, procs: Processors, alive: string[]): Promise<void> {
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
export async function expectChangelogRebuildsExactly(run: PipelineRun, procs: Processors, ratingsFile: string): Promise<void> {
  const fresh = procs.start('fresh');
  await drained(run, procs, ['fresh']);
  // Each partition was restored from the changelog, not replayed from ratings.
  expect(await until(() => procs.restores('fresh').length >= 6, 60_000, 100)).toBe(true);
  expect(procs.restores('fresh').map((r) => r.source)).toEqual(Array(6).fill('changelog'));
  fresh.child.kill('SIGTERM');
  expect((await fresh.exited).code).toBe(0);
  expect(await meanMismatches(join(procs.dir('fresh'), 'mean-ratings.csv'), ratingsFile)).toEqual([]);
}

/** Ratings on the run's ratings topic (a read that fails, e.g. a partition without a leader yet, counts 0). */
export async function onTopic(run: PipelineRun): Promise<number> {
  const admin = run.kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(run.topics.ratings)).reduce((n, o) => n + Number(o.high), 0);
  } catch {
    return 0;
  } finally {
    await admin.disconnect();
  }
}
