// Generated data sets, cached per parameters (tests and benchmarks ask for the same ones again and again).
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SEED, generateDataset, type GenerateOptions, type GenerateResult } from '@movie-stream/data-generator';

export type DatasetParams = Omit<GenerateOptions, 'outDir'>;
export type CachedDataset = GenerateResult & { dir: string; generated: boolean };

/** The cache entry's name: every parameter that changes the bytes (defaults left out). */
export function datasetKey(p: DatasetParams): string {
  let key = `r${p.ratings}-m${p.movies}-s${p.seed ?? DEFAULT_SEED}`;
  if (p.unnamedRatedMovies) key += `-u${p.unnamedRatedMovies}`;
  if (p.badRows) key += `-b${p.badRows}`;
  if (p.users !== undefined) key += `-users${p.users}`;
  return key;
}

/**
 * The generator's data set for these parameters, from `<cacheDir>/<key>/` or generated there. Written to
 * a temporary directory and renamed into place once complete, so an interrupted run never leaves a
 * half-written data set that a later one would take as whole.
 */
export async function cachedDataset(cacheDir: string, params: DatasetParams): Promise<CachedDataset> {
  const dir = join(cacheDir, datasetKey(params));
  const marker = 'dataset.json';
  const load = (generated: boolean): CachedDataset => {
    const saved = JSON.parse(readFileSync(join(dir, marker), 'utf8')) as Omit<GenerateResult, 'ratingsFile' | 'moviesFile'>;
    return { ...saved, ratingsFile: join(dir, 'ratings.csv'), moviesFile: join(dir, 'movies.csv'), dir, generated };
  };
  if (existsSync(join(dir, marker))) return load(false);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const { ratingsFile: _r, moviesFile: _m, ...counts } = await generateDataset({ ...params, outDir: tmp });
  writeFileSync(join(tmp, marker), JSON.stringify(counts));
  if (existsSync(join(dir, marker))) {
    rmSync(tmp, { recursive: true, force: true }); // another process finished the same one first
    return load(false);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return load(true);
}

/**
 * Splits a ratings file into `parts` files `<outDir>/<prefix>-<i>.csv` of consecutive rows, each with the
 * header (lines [i * n / parts, (i + 1) * n / parts) of the n data rows); returns their paths.
 */
export function splitRatings(ratingsFile: string, parts: number, outDir: string, prefix = 'part'): string[] {
  const { header, rows } = ratingRows(ratingsFile);
  return Array.from({ length: parts }, (_, i) =>
    writeRows(
      join(outDir, `${prefix}-${i}.csv`),
      header,
      rows.slice(Math.floor((i * rows.length) / parts), Math.floor(((i + 1) * rows.length) / parts)),
    ),
  );
}

/** A ratings file of data rows [from, to) of another one (header kept). */
export function sliceRatings(ratingsFile: string, from: number, to: number, out: string): string {
  const { header, rows } = ratingRows(ratingsFile);
  return writeRows(out, header, rows.slice(from, to));
}

function ratingRows(file: string): { header: string; rows: string[] } {
  const lines = readFileSync(file, 'utf8').split('\n');
  return { header: lines[0]!, rows: lines.slice(1).filter(Boolean) };
}

function writeRows(file: string, header: string, rows: string[]): string {
  writeFileSync(file, [header, ...rows].join('\n') + '\n');
  return file;
}
