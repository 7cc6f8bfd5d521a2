import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The MovieLens ml-latest-small folder used by tests and benchmarks. It is not part of the repository:
 * set MOVIELENS_DIR, or keep it at ../shared/movielens/ml-latest-small beside the checkout.
 */
export function movielensDir(): string {
  const dir = process.env.MOVIELENS_DIR ?? resolve(__dirname, '..', '..', '..', '..', 'shared', 'movielens', 'ml-latest-small');
  if (!existsSync(join(dir, 'ratings.csv')) || !existsSync(join(dir, 'movies.csv'))) {
    throw new Error(`MovieLens ml-latest-small not found at ${dir}: set MOVIELENS_DIR to the folder holding ratings.csv and movies.csv`);
  }
  return dir;
}
