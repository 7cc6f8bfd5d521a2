import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '@movie-stream/data-generator';
import { cachedDataset, datasetKey, sliceRatings, splitRatings } from './datasets';
import { movieDataMismatches, movieIdsOf } from './reference';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'test-support-datasets-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cachedDataset', () => {
  it('generates once per parameters, then reuses the same files; other parameters get their own entry', async () => {
    const cache = join(dir, 'cache');
    const a = await cachedDataset(cache, { ratings: 500, movies: 40, seed: 3, unnamedRatedMovies: 2 });
    expect(a).toMatchObject({ generated: true, ratings: 500, movies: 40, dir: join(cache, 'r500-m40-s3-u2') });
    expect(a.unnamedMovieIds).toHaveLength(2);
    const fresh = join(dir, 'fresh');
    await generateDataset({ ratings: 500, movies: 40, seed: 3, unnamedRatedMovies: 2, outDir: fresh });
    expect(readFileSync(a.ratingsFile)).toEqual(readFileSync(join(fresh, 'ratings.csv')));
    expect(readFileSync(a.moviesFile)).toEqual(readFileSync(join(fresh, 'movies.csv')));
    const mtime = statSync(a.ratingsFile).mtimeMs;

    const again = await cachedDataset(cache, { ratings: 500, movies: 40, seed: 3, unnamedRatedMovies: 2 });
    expect(again).toEqual({ ...a, generated: false });
    expect(statSync(again.ratingsFile).mtimeMs).toBe(mtime);

    const other = await cachedDataset(cache, { ratings: 500, movies: 40, seed: 4 });
    expect(other.generated).toBe(true);
    expect(readdirSync(cache).sort()).toEqual(['r500-m40-s3-u2', 'r500-m40-s4']);
  });

  it('takes a directory without its completion marker as unfinished and generates it again', async () => {
    const cache = join(dir, 'interrupted');
    const d = join(cache, datasetKey({ ratings: 100, movies: 10, seed: 1 }));
    await generateDataset({ ratings: 5, movies: 10, seed: 1, outDir: d }); // as a killed run would leave it
    const got = await cachedDataset(cache, { ratings: 100, movies: 10, seed: 1 });
    expect(got.generated).toBe(true);
    expect(readFileSync(got.ratingsFile, 'utf8').trim().split('\n')).toHaveLength(101);
    expect(readdirSync(cache)).toEqual(['r100-m10-s1']);
  });

  it('keys every parameter that changes the bytes', () => {
    expect(datasetKey({ ratings: 1, movies: 2 })).toBe('r1-m2-s42');
    expect(datasetKey({ ratings: 1, movies: 2, seed: 7, unnamedRatedMovies: 5, badRows: 3, users: 9 })).toBe('r1-m2-s7-u5-b3-users9');
  });
});

describe('splitting ratings files', () => {
  const header = 'userId,movieId,rating,timestamp';
  const rows = Array.from({ length: 11 }, (_, i) => `${i + 1},${i + 1},3.5,100`);
  let file: string;
  beforeAll(() => {
    file = join(dir, 'ratings.csv');
    writeFileSync(file, [header, ...rows, ''].join('\n'));
  });

  it('splitRatings: consecutive parts, each with the header, together every row once', () => {
    const parts = splitRatings(file, 3, dir, 'slice');
    expect(parts).toEqual([0, 1, 2].map((i) => join(dir, `slice-${i}.csv`)));
    const bodies = parts.map((p) => readFileSync(p, 'utf8').split('\n'));
    for (const b of bodies) expect([b[0], b.at(-1)]).toEqual([header, '']);
    expect(bodies.map((b) => b.length - 2)).toEqual([3, 4, 4]);
    expect(bodies.flatMap((b) => b.slice(1, -1))).toEqual(rows);
  });

  it('sliceRatings: rows [from, to) with the header', () => {
    const out = sliceRatings(file, 2, 5, join(dir, 'mid.csv'));
    expect(readFileSync(out, 'utf8')).toBe([header, ...rows.slice(2, 5), ''].join('\n'));
  });
});

describe('movieIdsOf and movieDataMismatches', () => {
  it('read the ids of movies.csv (quoted titles too) and compare a movie-data.csv with the reference', async () => {
    const movies = join(dir, 'movies.csv');
    writeFileSync(movies, 'movieId,title,genres\n1,"A, ""B""",Drama\r\n20,C,(no genres listed)\n');
    expect([...(await movieIdsOf(movies))]).toEqual([1, 20]);
    const ratings = join(dir, 'r.csv');
    writeFileSync(ratings, 'userId,movieId,rating,timestamp\n1,1,4.0,1\n2,1,3.0,2\n1,7,5.0,3\n');
    const data = join(dir, 'movie-data.csv');
    const good = 'movieId;title;genres;rating_count;mean_rating\n1;"A, ""B""";Drama;2;3.5\n20;C;;0;\n7;;;1;5\n';
    writeFileSync(data, good);
    expect(await movieDataMismatches(data, ratings, movies)).toEqual([]);
    writeFileSync(data, good.replace('1;5\n', '1;4\n'));
    expect(await movieDataMismatches(data, ratings, movies)).toEqual(['movie 7: mean_rating "4", expected 5']);
    expect(existsSync(data)).toBe(true);
  });
});
