import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineRun, REPO_ROOT } from '@movie-stream/pipeline';
import { cachedDataset, movieDataMismatches } from '@movie-stream/test-support';

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
