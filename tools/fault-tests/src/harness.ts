import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateDataset } from '@movie-stream/data-generator';
import { PipelineRun } from '@movie-stream/pipeline';
import { compareMovieData, computeReferenceMeans, readSemicolonCsv } from '@movie-stream/test-support';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Kafka cluster of its own (tools/kafka/kafka.sh with KAFKA_INSTANCE), so killing brokers disturbs nobody. */
export class LocalCluster {
  constructor(readonly instance: string, readonly portBase: number, readonly size: 1 | 3) {}

  get brokers(): string[] {
    return Array.from({ length: this.size }, (_, i) => `127.0.0.1:${this.portBase + i + 1}`);
  }

  private kafka(...args: string[]): void {
    const r = spawnSync('bash', [join(REPO_ROOT, 'tools', 'kafka', 'kafka.sh'), ...args], {
      env: { ...process.env, KAFKA_BROKERS: '', KAFKA_INSTANCE: this.instance, KAFKA_PORT_BASE: String(this.portBase) },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`kafka.sh ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  }

  start(): void {
    this.kafka('start', '--brokers', String(this.size));
  }
  startBroker(i: number): void {
    this.kafka('start', '--brokers', String(this.size), '--broker', String(i));
  }
  killBroker(i: number): void {
    this.kafka('stop', '--broker', String(i), '--kill');
  }
  stopBroker(i: number): void {
    this.kafka('stop', '--broker', String(i));
  }
  stop(): void {
    this.kafka('stop');
  }
  /** Stops and deletes the cluster's data: the next start is a fresh cluster. */
  reset(): void {
    this.kafka('reset');
  }
}

/** A deterministic generated data set, cached across test runs. */
export async function dataset(ratings: number, movies: number, seed = 7): Promise<{ ratingsFile: string; moviesFile: string }> {
  const dir = join(REPO_ROOT, '.bench', 'fault-data', `r${ratings}-m${movies}-s${seed}`);
  if (!existsSync(join(dir, 'ratings.csv')) || !existsSync(join(dir, 'movies.csv'))) {
    mkdirSync(dir, { recursive: true });
    await generateDataset({ ratings, movies, seed, outDir: dir, unnamedRatedMovies: 5 });
  }
  return { ratingsFile: join(dir, 'ratings.csv'), moviesFile: join(dir, 'movies.csv') };
}

/** ids named by movies.csv (never quoted: the first comma ends them). */
export function movieIds(moviesFile: string): Set<number> {
  const ids = new Set<number>();
  const lines = readFileSync(moviesFile, 'utf8').split('\n').slice(1);
  for (const l of lines) if (l) ids.add(Number(l.slice(0, l.indexOf(','))));
  return ids;
}

/** Mismatches between movie-data.csv and the independent computation (empty = exact). */
export async function mismatches(run: PipelineRun, ratingsFile: string, moviesFile: string): Promise<string[]> {
  const ref = await computeReferenceMeans(ratingsFile);
  const rows = await readSemicolonCsv(join(run.outDir, 'movie-data.csv'));
  return compareMovieData(rows, ref.means, movieIds(moviesFile));
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
