import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readMovies, readRatings, type RejectedRow } from '@movie-stream/movielens-csv';
import { generateDataset, movieIdAt, mulberry32 } from './index';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'data-generator-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll<T>(r: { batches: AsyncIterable<T[]> }): Promise<T[]> {
  const out: T[] = [];
  for await (const b of r.batches) out.push(...b);
  return out;
}

describe('generateDataset', () => {
  it('is deterministic: same seed gives the same bytes, another seed differs', async () => {
    const opts = { ratings: 3000, movies: 200, unnamedRatedMovies: 2, badRows: 3 };
    const a = await generateDataset({ ...opts, seed: 7, outDir: path.join(dir, 'a') });
    const b = await generateDataset({ ...opts, seed: 7, outDir: path.join(dir, 'b') });
    const c = await generateDataset({ ...opts, seed: 8, outDir: path.join(dir, 'c') });
    expect(readFileSync(a.ratingsFile)).toEqual(readFileSync(b.ratingsFile));
    expect(readFileSync(a.moviesFile)).toEqual(readFileSync(b.moviesFile));
    expect(readFileSync(a.ratingsFile)).not.toEqual(readFileSync(c.ratingsFile));
    expect(readFileSync(a.moviesFile)).not.toEqual(readFileSync(c.moviesFile));
  });

  it('writes the requested rows, which movielens-csv reads with zero rejects', async () => {
    const res = await generateDataset({ ratings: 20000, movies: 700, seed: 1, outDir: path.join(dir, 'clean'), unnamedRatedMovies: 5 });
    expect(res).toMatchObject({ ratings: 20000, movies: 700, badRows: 0 });
    const rejects: RejectedRow[] = [];
    const rr = readRatings(res.ratingsFile, { onReject: (r) => rejects.push(r) });
    const mr = readMovies(res.moviesFile, { onReject: (r) => rejects.push(r) });
    const ratings = await readAll(rr);
    const movies = await readAll(mr);
    expect(rejects).toEqual([]);
    expect(ratings).toHaveLength(20000);
    expect(movies).toHaveLength(700);
    expect(readFileSync(res.ratingsFile, 'utf8').startsWith('userId,movieId,rating,timestamp\n')).toBe(true);
    expect(readFileSync(res.moviesFile, 'utf8').startsWith('movieId,title,genres\n')).toBe(true);

    // Unnamed ids: rated, absent from movies.csv.
    const named = new Set(movies.map((m) => m.movieId));
    const rated = new Set(ratings.map((r) => r.movieId));
    expect(res.unnamedMovieIds).toHaveLength(5);
    for (const id of res.unnamedMovieIds) {
      expect(named.has(id)).toBe(false);
      expect(rated.has(id)).toBe(true);
    }
    expect([...rated].filter((id) => !named.has(id)).sort((x, y) => x - y)).toEqual([...res.unnamedMovieIds].sort((x, y) => x - y));

    // MovieLens-like shape: sparse ids, quoted/non-ASCII titles, empty genre lists, valid timestamps.
    const ids = [...named].sort((x, y) => x - y);
    expect(ids[ids.length - 1]! - ids[0]! + 1).toBeGreaterThan(ids.length);
    expect(movies.some((m) => m.title.includes(','))).toBe(true);
    expect(movies.some((m) => m.title.includes('"'))).toBe(true);
    expect(movies.some((m) => /[^\x00-\x7f]/.test(m.title))).toBe(true);
    expect(movies.some((m) => m.genres.length === 0)).toBe(true);
    expect(movies.every((m) => /\(\d{4}\)$/.test(m.title))).toBe(true);
    const lo = Date.UTC(1996, 0, 1) / 1000;
    const hi = Date.UTC(2017, 0, 1) / 1000;
    expect(ratings.every((r) => r.timestamp >= lo && r.timestamp < hi)).toBe(true);
    expect(ratings[0]!.timestamp).toBeLessThan(ratings[ratings.length - 1]!.timestamp);

    // Zipf-like popularity: the most rated movie gets far more than the average.
    const counts = new Map<number, number>();
    for (const r of ratings) counts.set(r.movieId, (counts.get(r.movieId) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeGreaterThan((20000 / counts.size) * 10);
    // Per-movie bias: movie means spread out.
    const means = [...counts.keys()]
      .filter((id) => counts.get(id)! >= 30)
      .map((id) => {
        const rs = ratings.filter((r) => r.movieId === id);
        return rs.reduce((s, r) => s + r.rating, 0) / rs.length;
      });
    expect(Math.max(...means) - Math.min(...means)).toBeGreaterThan(1);
  });

  it.each([1, 4, 9])('injects exactly %i bad rows, all rejected', async (k) => {
    const res = await generateDataset({ ratings: 1000, movies: 50, seed: 3, badRows: k, outDir: path.join(dir, `bad${k}`) });
    expect(res).toMatchObject({ ratings: 1000, badRows: k });
    const r = readRatings(res.ratingsFile);
    const rows = await readAll(r);
    expect(rows).toHaveLength(1000);
    expect(r.stats.rowsRejected).toBe(k);
    expect(Object.keys(r.stats.rejectReasons).sort()).toEqual(
      ['expected 4 fields, got 3', 'movieId is not a positive integer', 'rating outside 0.5-5.0', 'empty line']
        .slice(0, Math.min(k, 4))
        .sort(),
    );
  });

  it('handles bad rows with no ratings, and rejects impossible options', async () => {
    const res = await generateDataset({ ratings: 0, movies: 3, badRows: 4, outDir: path.join(dir, 'zero') });
    const r = readRatings(res.ratingsFile);
    expect(await readAll(r)).toEqual([]);
    expect(r.stats.rowsRejected).toBe(4);
    await expect(generateDataset({ ratings: 1, movies: 3, unnamedRatedMovies: 2, outDir: dir })).rejects.toThrow(/unnamedRatedMovies/);
    await expect(generateDataset({ ratings: -1, movies: 3, outDir: dir })).rejects.toThrow(/ratings must be/);
  });
});

describe('helpers', () => {
  it('mulberry32 is seeded and in [0, 1)', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('movie ids have gaps and are increasing', () => {
    expect([0, 1, 6, 7, 8, 14].map(movieIdAt)).toEqual([1, 2, 7, 11, 12, 21]);
  });
});

describe('data/sample', () => {
  it('is exactly what the command in data/README.md produces', async () => {
    const repo = path.resolve(__dirname, '../../..');
    const readme = readFileSync(path.join(repo, 'data/README.md'), 'utf8');
    expect(readme).toContain(
      'npx tsx tools/data-generator/src/main.ts --ratings 5000 --movies 300 --seed 42 --unnamed-rated-movies 3 --out data/sample',
    );
    const res = await generateDataset({ ratings: 5000, movies: 300, seed: 42, unnamedRatedMovies: 3, outDir: path.join(dir, 'sample') });
    expect(res.unnamedMovieIds).toEqual([72, 215, 361]);
    expect(readFileSync(res.ratingsFile)).toEqual(readFileSync(path.join(repo, 'data/sample/ratings.csv')));
    expect(readFileSync(res.moviesFile)).toEqual(readFileSync(path.join(repo, 'data/sample/movies.csv')));
  });
});

describe('CLI', () => {
  it('prints usage for --help and generates files', () => {
    const repo = path.resolve(__dirname, '../../..');
    const tsx = path.join(repo, 'node_modules/.bin/tsx');
    const main = path.join(__dirname, 'main.ts');
    expect(execFileSync(tsx, [main, '--help'], { encoding: 'utf8' })).toMatch(/--ratings N/);
    const out = path.join(dir, 'cli');
    const stdout = execFileSync(tsx, [main, '--ratings', '10', '--movies', '5', '--bad-rows', '2', '--out', out], { encoding: 'utf8' });
    expect(stdout).toMatch(/wrote 10 ratings \(\+2 bad rows\)/);
    expect(readFileSync(path.join(out, 'ratings.csv'), 'utf8').split('\n')).toHaveLength(1 + 12 + 1);
    expect(() => execFileSync(tsx, [main, '--ratings', 'x', '--movies', '5'], { stdio: 'pipe' })).toThrow(/not a non-negative integer/);
  }, 30000);
});
