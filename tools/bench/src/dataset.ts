// The bench's input: the generator's data set for given parameters (cached), and the independent
// computation its result is checked against.
import { createReadStream, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { generateDataset } from '@movie-stream/data-generator';
import { computeReferenceMeans, type ReferenceMean } from '@movie-stream/test-support';

export interface DataSet {
  ratingsFile: string;
  moviesFile: string;
  ratings: number;
  movies: number;
}

/** The generator's data set for these parameters, cached under <benchDir>/data/<key>/ (written to a temp dir, then renamed). */
export async function dataSet(benchDir: string, ratings: number, movies: number, seed: number): Promise<{ data: DataSet; dir: string; generated: boolean }> {
  const dir = join(benchDir, 'data', `r${ratings}-m${movies}-s${seed}`);
  const marker = join(dir, 'dataset.json');
  if (existsSync(marker)) return { data: JSON.parse(readFileSync(marker, 'utf8')) as DataSet, dir, generated: false };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const r = await generateDataset({ ratings, movies, seed, outDir: tmp });
  const data: DataSet = { ratingsFile: join(dir, 'ratings.csv'), moviesFile: join(dir, 'movies.csv'), ratings: r.ratings, movies: r.movies };
  writeFileSync(join(tmp, 'dataset.json'), JSON.stringify(data));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { data, dir, generated: true };
}

async function movieIds(file: string): Promise<Set<number>> {
  const ids = new Set<number>();
  let header = true;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (header) header = false;
    else if (line) ids.add(Number(line.slice(0, line.indexOf(',')))); // ids are never quoted
  }
  return ids;
}

/** What movie-data.csv must hold for a data set, computed straight from its files. */
export interface Reference {
  means: Map<number, ReferenceMean>;
  movieIds: Set<number>;
}

export async function reference(data: DataSet): Promise<Reference> {
  const ref = await computeReferenceMeans(data.ratingsFile);
  return { means: ref.means, movieIds: await movieIds(data.moviesFile) };
}
