import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findMovielensDir, movielensDir } from './movielens-dir';

let empty: string;
let full: string;
beforeAll(() => {
  empty = mkdtempSync(join(tmpdir(), 'ml-empty-'));
  full = mkdtempSync(join(tmpdir(), 'ml-full-'));
  for (const f of ['ratings.csv', 'movies.csv']) writeFileSync(join(full, f), 'x\n');
});
afterAll(() => {
  rmSync(empty, { recursive: true, force: true });
  rmSync(full, { recursive: true, force: true });
});

describe('findMovielensDir', () => {
  it('MOVIELENS_DIR without the files: says which are missing, where, and what to do', () => {
    const r = findMovielensDir({ MOVIELENS_DIR: empty });
    expect(r.dir).toBe(empty);
    expect(r.missing).toBe(
      `MovieLens ml-latest-small not found: no ratings.csv, movies.csv in ${empty}; set MOVIELENS_DIR to the unzipped ml-latest-small folder (data/README.md says where to get it)`,
    );
  });

  it('MOVIELENS_DIR with both files: found', () => {
    expect(findMovielensDir({ MOVIELENS_DIR: full })).toEqual({ dir: full });
  });

  it('without MOVIELENS_DIR: ../shared/movielens/ml-latest-small beside the checkout', () => {
    const repo = resolve(__dirname, '..', '..', '..');
    expect(findMovielensDir({}).dir).toBe(resolve(repo, '..', 'shared', 'movielens', 'ml-latest-small'));
  });
});

describe('movielensDir', () => {
  const saved = process.env.MOVIELENS_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.MOVIELENS_DIR;
    else process.env.MOVIELENS_DIR = saved;
  });

  it('returns the folder, or throws the reason', () => {
    process.env.MOVIELENS_DIR = full;
    expect(movielensDir()).toBe(full);
    process.env.MOVIELENS_DIR = empty;
    expect(() => movielensDir()).toThrow(`no ratings.csv, movies.csv in ${empty}`);
  });
});
