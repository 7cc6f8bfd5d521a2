import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  compareMovieData,
  computeReferenceMeans,
  describeWithMovielens,
  parseSemicolonCsv,
  readSemicolonCsv,
  type ReferenceMean,
} from './index';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'test-support-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, content, 'utf8');
  return f;
}

describe('computeReferenceMeans', () => {
  it('computes sum, count and mean per movie, skipping invalid lines', async () => {
    const f = file(
      'ratings.csv',
      [
        'userId,movieId,rating,timestamp',
        '1,10,4.0,100',
        '2,10,3.5,101',
        '3,10,0.5,102',
        '1,20,5.0,103',
        '', // empty
        '1,20,7,104', // out of range
        '1,20,3.3,104', // not a half step
        'x,20,3.0,104', // non-numeric
        '1,20,3.0', // 3 fields
        '1,20,3.0,104,9', // 5 fields
        '1,0,3.0,104', // movieId 0
        '1,30,2.5,105\r', // CRLF line
        '4,30,1.0,-1', // negative timestamp
      ].join('\n') + '\n',
    );
    const { means, ratings, skipped } = await computeReferenceMeans(f);
    expect(ratings).toBe(5);
    expect(skipped).toBe(8);
    expect([...means.values()]).toEqual([
      { movieId: 10, sum: 8, count: 3, mean: 8 / 3 },
      { movieId: 20, sum: 5, count: 1, mean: 5 },
      { movieId: 30, sum: 2.5, count: 1, mean: 2.5 },
    ]);
  });
});

describe('parseSemicolonCsv', () => {
  it('handles quoting, "" escapes, ; and newlines inside quotes, CRLF, BOM, missing final newline', () => {
    const text = '\ufeffmovieId;title;genres\r\n1;"A; ""B""\nC";Drama|Comedy\r\n2;;\n3;"";"x"';
    expect(parseSemicolonCsv(text)).toEqual([
      { movieId: '1', title: 'A; "B"\nC', genres: 'Drama|Comedy' },
      { movieId: '2', title: '', genres: '' },
      { movieId: '3', title: '', genres: 'x' },
    ]);
    expect(parseSemicolonCsv('a;b\n')).toEqual([]);
    expect(parseSemicolonCsv('a;b\n1;\n')).toEqual([{ a: '1', b: '' }]);
  });

  it('throws on malformed input with the line number', () => {
    expect(() => parseSemicolonCsv('a;b\n1;2\n3\n', 'f.csv')).toThrow('f.csv:3: expected 2 fields, got 1');
    expect(() => parseSemicolonCsv('a;b\n1;2\n\n4;5\n', 'f.csv')).toThrow('f.csv:3: expected 2 fields, got 1');
    expect(() => parseSemicolonCsv('a;b\n1;"x\n', 'f.csv')).toThrow('f.csv:2: unterminated quoted field');
    expect(() => parseSemicolonCsv('a;b\n1;"x"y\n', 'f.csv')).toThrow(/f.csv:2: unexpected "y" after a closing quote/);
    expect(() => parseSemicolonCsv('a;b\n1;x"y\n', 'f.csv')).toThrow(/quote inside an unquoted field/);
    expect(() => parseSemicolonCsv('', 'f.csv')).toThrow(/empty file/);
  });

  it('reads a file', async () => {
    const f = file('out.csv', 'movieId;sum;count;mean\n10;8;3;2.6666666666666665\n');
    expect(await readSemicolonCsv(f)).toEqual([{ movieId: '10', sum: '8', count: '3', mean: '2.6666666666666665' }]);
  });
});

describe('compareMovieData', () => {
  const ref = new Map<number, ReferenceMean>([
    [10, { movieId: 10, sum: 8, count: 3, mean: 8 / 3 }],
    [20, { movieId: 20, sum: 5, count: 1, mean: 5 }],
    [99, { movieId: 99, sum: 2, count: 1, mean: 2 }], // rated, not in movies.csv
  ]);
  const ids = new Set([10, 20, 30]); // 30 has no ratings
  const good = (): Record<string, string>[] => [
    { movieId: '10', title: 'Ten (1990)', genres: 'Drama', mean_rating: '2.6666666666666665', rating_count: '3' },
    { movieId: '20', title: 'Twenty', genres: '', mean_rating: '5', rating_count: '1' },
    { movieId: '30', title: 'Thirty', genres: 'Comedy', mean_rating: '', rating_count: '0' },
    { movieId: '99', title: '', genres: '', mean_rating: '2', rating_count: '1' },
  ];

  it('accepts exact output, and means within 1e-9 relative', () => {
    expect(compareMovieData(good(), ref, ids)).toEqual([]);
    const rows = good();
    rows[0]!.mean_rating = String((8 / 3) * (1 + 5e-10));
    expect(compareMovieData(rows, ref, ids)).toEqual([]);
  });

  it('reports every kind of mismatch', () => {
    const rows = good();
    rows[0]!.mean_rating = String((8 / 3) * (1 + 2e-9));
    rows[1]!.rating_count = '2';
    rows[2]!.rating_count = '1';
    rows[3]!.title = 'Named?';
    rows.push({ ...rows[1]! }, { movieId: '77', title: '', genres: '', mean_rating: '', rating_count: '0' });
    expect(compareMovieData(rows, ref, ids)).toEqual([
      `movie 10: mean_rating "${rows[0]!.mean_rating}", expected ${8 / 3}`,
      'movie 20: rating_count "2", expected 1',
      'movie 30: rating_count "1", expected 0 (no ratings)',
      'movie 99: not in movies.csv but has title "Named?" / genres ""',
      'movie 20: more than one row',
      'movie 77: neither in movies.csv nor rated',
    ]);
    expect(compareMovieData(good().slice(0, 2), ref, ids)).toEqual([
      'movie 30: in movies.csv but has no row',
      'movie 99: rated but has no row',
    ]);
    expect(compareMovieData([{ movieId: '1' }], ref, ids)).toEqual([
      'movie-data rows lack column(s) title, genres, mean_rating, rating_count',
    ]);
  });
});

describeWithMovielens('on ml-latest-small', (ml) => {
  it('reads all 100004 ratings of 9066 movies with nothing skipped', async () => {
    const { means, ratings, skipped } = await computeReferenceMeans(path.join(ml, 'ratings.csv'));
    expect({ ratings, skipped, movies: means.size }).toEqual({ ratings: 100004, skipped: 0, movies: 9066 });
    expect([...means.values()].reduce((s, m) => s + m.count, 0)).toBe(100004);
  });
});
