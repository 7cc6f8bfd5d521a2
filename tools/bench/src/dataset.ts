// The bench's input: the generator's data set for given parameters (cached), and the independent
// computation its result is checked against.
import { join } from 'node:path';
import { cachedDataset, computeReferenceMeans, movieIdsOf, type ReferenceMean } from '@movie-stream/test-support';

export interface DataSet {
  ratingsFile: string;
  moviesFile: string;
  ratings: number;
  movies: number;
}

/** The generator's data set for these parameters, cached under <benchDir>/data/<key>/. */
export async function dataSet(
  benchDir: string,
  ratings: number,
  movies: number,
  seed: number,
): Promise<{ data: DataSet; dir: string; generated: boolean }> {
  const d = await cachedDataset(join(benchDir, 'data'), { ratings, movies, seed });
  return {
    data: { ratingsFile: d.ratingsFile, moviesFile: d.moviesFile, ratings: d.ratings, movies: d.movies },
    dir: d.dir,
    generated: d.generated,
  };
}

/** What movie-data.csv must hold for a data set, computed straight from its files. */
export interface Reference {
  means: Map<number, ReferenceMean>;
  movieIds: Set<number>;
}

export async function reference(data: DataSet): Promise<Reference> {
  const ref = await computeReferenceMeans(data.ratingsFile);
  return { means: ref.means, movieIds: await movieIdsOf(data.moviesFile) };
}
