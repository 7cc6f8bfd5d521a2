import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readMovies, readRatings, type ReadOptions, type ReadStats, type RejectedRow } from './index';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'movielens-csv-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function file(content: string): string {
  const f = path.join(dir, `f${fileNo++}.csv`);
  writeFileSync(f, content, 'utf8');
  return f;
}

async function readAll<T>(
  reader: (f: string, o?: ReadOptions) => { batches: AsyncIterable<T[]>; stats: ReadStats },
  content: string,
  opts: ReadOptions = {},
): Promise<{ rows: T[]; rejects: RejectedRow[]; stats: ReadStats; batchSizes: number[] }> {
  const rejects: RejectedRow[] = [];
  const { batches, stats } = reader(file(content), { ...opts, onReject: (r) => rejects.push(r) });
  const rows: T[] = [];
  const batchSizes: number[] = [];
  for await (const b of batches) {
    batchSizes.push(b.length);
    rows.push(...b);
  }
  expect(stats.rowsRead).toBe(stats.rowsAccepted + stats.rowsRejected);
  expect(stats.rowsRejected).toBe(rejects.length);
  return { rows, rejects, stats, batchSizes };
}

const RH = 'userId,movieId,rating,timestamp\n';
const MH = 'movieId,title,genres\n';

describe('readRatings', () => {
  it('yields rows in batches and counts them', async () => {
    const { rows, stats, batchSizes } = await readAll(readRatings, RH + '1,31,2.5,1260759144\n1,1029,3.0,1260759179\n2,10,4.0,835355493\n', {
      batchSize: 2,
    });
    expect(rows).toEqual([
      { userId: 1, movieId: 31, rating: 2.5, timestamp: 1260759144 },
      { userId: 1, movieId: 1029, rating: 3, timestamp: 1260759179 },
      { userId: 2, movieId: 10, rating: 4, timestamp: 835355493 },
    ]);
    expect(batchSizes).toEqual([2, 1]);
    expect(stats).toMatchObject({ rowsRead: 3, rowsAccepted: 3, rowsRejected: 0, rejectReasons: {} });
  });

  it('accepts a file without trailing newline, with BOM, with CRLF', async () => {
    for (const content of [RH + '1,2,3.0,4', '\ufeff' + RH + '1,2,3.0,4\n', (RH + '1,2,3.0,4\n5,6,1.5,7\n').replace(/\n/g, '\r\n')]) {
      const { rows, stats } = await readAll(readRatings, content);
      expect(stats.rowsRejected).toBe(0);
      expect(rows[0]).toEqual({ userId: 1, movieId: 2, rating: 3, timestamp: 4 });
    }
  });

  it('reads large CRLF files whose read chunks split \\r\\n', async () => {
    let content = RH.replace('\n', '\r\n');
    for (let i = 1; i <= 30000; i++) content += `${i},${i + 1},${(i % 10) / 2 + 0.5},${i * 3}\r\n`;
    const { rows, stats } = await readAll(readRatings, content);
    expect(stats).toMatchObject({ rowsRead: 30000, rowsAccepted: 30000, rowsRejected: 0 });
    expect(rows[29999]).toEqual({ userId: 30000, movieId: 30001, rating: 0.5, timestamp: 90000 });
  });

  it('rejects bad rows with reason, physical line and raw text', async () => {
    const content =
      RH +
      '1,2,3.0,4\n' + // line 2 ok
      '\n' + // 3 empty
      '1,2,3.0\n' + // 4
      'x,2,3.0,4\n' + // 5
      '1,12abc,3.0,4\n' + // 6
      '1,2,7,4\n' + // 7
      '1,2,3.3,4\n' + // 8
      '1,2,3.0,-4\n' + // 9
      '1,2,"3,5",4\n' + // 10 (quoted comma)
      '1,2,3.0,4\n' + // 11 ok
      '\n'; // 12 empty: the last "\n" ends it, so it is not the tolerated single trailing newline
    const { rows, rejects, stats } = await readAll(readRatings, content);
    expect(rows).toHaveLength(2);
    expect(rejects.map((r) => [r.line, r.reason, r.raw])).toEqual([
      [3, 'empty line', ''],
      [4, 'expected 4 fields, got 3', '1,2,3.0'],
      [5, 'userId "x" is not a positive integer', 'x,2,3.0,4'],
      [6, 'movieId "12abc" is not a positive integer', '1,12abc,3.0,4'],
      [7, 'rating "7" outside 0.5-5.0', '1,2,7,4'],
      [8, 'rating "3.3" is not a multiple of 0.5', '1,2,3.3,4'],
      [9, 'timestamp "-4" is not a non-negative integer', '1,2,3.0,-4'],
      [10, 'rating "3,5" is not a number', '1,2,"3,5",4'],
      [12, 'empty line', ''],
    ]);
    expect(rejects.every((r) => r.file.endsWith('.csv'))).toBe(true);
    expect(stats).toMatchObject({ rowsRead: 11, rowsAccepted: 2, rowsRejected: 9 });
    expect(stats.rejectReasons).toEqual({
      'empty line': 2,
      'expected 4 fields, got 3': 1,
      'userId is not a positive integer': 1,
      'movieId is not a positive integer': 1,
      'rating outside 0.5-5.0': 1,
      'rating is not a multiple of 0.5': 1,
      'timestamp is not a non-negative integer': 1,
      'rating is not a number': 1,
    });
  });

  it('counts lines of a rejected row whose quoted field spans lines', async () => {
    const { rejects, rows } = await readAll(readRatings, RH + '1,"2\r\n3\n4",3.0,4\n5,bad,1.0,1\n');
    expect(rows).toHaveLength(0);
    expect(rejects.map((r) => r.line)).toEqual([2, 5]);
  });

  it.each([
    ['wrong names', 'user,movie,rating,timestamp\n1,2,3.0,4\n'],
    ['wrong case', 'userid,movieId,rating,timestamp\n'],
    ['extra column', 'userId,movieId,rating,timestamp,x\n'],
    ['missing header', '1,2,3.0,4\n'],
  ])('throws on a %s header naming file and expected header', async (_name, content) => {
    const f = file(content);
    const { batches } = readRatings(f);
    await expect(collect(batches)).rejects.toThrow(`${f}: wrong header: expected "userId,movieId,rating,timestamp"`);
  });

  it('throws on an empty file and a missing file', async () => {
    const f = file('');
    await expect(collect(readRatings(f).batches)).rejects.toThrow(`${f}: file is empty: expected header`);
    await expect(collect(readRatings(path.join(dir, 'nope.csv')).batches)).rejects.toThrow(/ENOENT/);
  });

  it('ends the iteration with the error thrown by onReject', async () => {
    const { batches } = readRatings(file(RH + 'bad\n'), {
      onReject: () => {
        throw new Error('stop');
      },
    });
    await expect(collect(batches)).rejects.toThrow('stop');
  });

  it('can be iterated only once', async () => {
    const { batches } = readRatings(file(RH + '1,2,3.0,4\n'));
    await collect(batches);
    expect(() => batches[Symbol.asyncIterator]()).toThrow(/only once/);
  });

  it('stops on abort, and when the consumer breaks early', async () => {
    let content = RH;
    for (let i = 1; i <= 50000; i++) content += `${i},1,3.0,1\n`;
    const f = file(content);
    const ac = new AbortController();
    const { batches } = readRatings(f, { signal: ac.signal, batchSize: 100 });
    let n = 0;
    await expect(
      (async () => {
        for await (const b of batches) {
          n += b.length;
          if (n >= 1000) ac.abort();
        }
      })(),
    ).rejects.toThrow(/abort/i);
    expect(n).toBeLessThan(50000);

    const early = readRatings(f, { batchSize: 100 });
    for await (const b of early.batches) {
      expect(b).toHaveLength(100);
      break;
    }
    expect(early.stats.rowsRead).toBeLessThan(50000);
  });

  it('applies backpressure to a slow consumer without losing rows', async () => {
    let content = RH;
    for (let i = 1; i <= 100000; i++) content += `${i},${i},4.5,${i}\n`;
    const { batches, stats } = readRatings(file(content), { batchSize: 1000 });
    let n = 0;
    let sumIds = 0;
    for await (const b of batches) {
      // Parsing runs ahead of the consumer by a few batches plus one read chunk, not by the file.
      expect(stats.rowsAccepted - n).toBeLessThan(10000);
      n += b.length;
      for (const r of b) sumIds += r.userId;
      await new Promise((r) => setImmediate(r));
    }
    expect(n).toBe(100000);
    expect(sumIds).toBe((100000 * 100001) / 2);
  });
});

describe('readMovies', () => {
  it('keeps quoted titles with commas, quotes, newlines and non-ASCII as-is', async () => {
    const content =
      MH +
      '1,Toy Story (1995),Adventure|Animation|Children\n' + // 2
      '2,"Crouching Tiger, Hidden Dragon (Wò hǔ cáng lóng) (2000)",Action|Drama|Romance\n' + // 3
      '3,"The ""Great"" One, Part 2 (1999)",Comedy\n' + // 4
      '4,"Line one\nline two\r\nline three (2001)",(no genres listed)\n' + // 5-7
      '5,Amélie (Fabuleux destin d\'Amélie Poulain; Le) (2001),Comedy|Romance\n' + // 8
      '0,Bad id,Drama\n' + // 9
      '6,Léon: The Professional (1994),Action|Crime|Drama|Thriller\n'; // 10
    const { rows, rejects, stats } = await readAll(readMovies, '\ufeff' + content.replace(/\n(?=\d|$)/g, '\r\n'));
    expect(rows).toEqual([
      { movieId: 1, title: 'Toy Story (1995)', genres: ['Adventure', 'Animation', 'Children'] },
      { movieId: 2, title: 'Crouching Tiger, Hidden Dragon (Wò hǔ cáng lóng) (2000)', genres: ['Action', 'Drama', 'Romance'] },
      { movieId: 3, title: 'The "Great" One, Part 2 (1999)', genres: ['Comedy'] },
      { movieId: 4, title: 'Line one\nline two\r\nline three (2001)', genres: [] },
      { movieId: 5, title: "Amélie (Fabuleux destin d'Amélie Poulain; Le) (2001)", genres: ['Comedy', 'Romance'] },
      { movieId: 6, title: 'Léon: The Professional (1994)', genres: ['Action', 'Crime', 'Drama', 'Thriller'] },
    ]);
    expect(rejects.map((r) => [r.line, r.reason, r.raw])).toEqual([[9, 'movieId "0" is not a positive integer', '0,Bad id,Drama']]);
    expect(stats).toMatchObject({ rowsRead: 7, rowsAccepted: 6, rowsRejected: 1 });
  });

  it('decodes non-ASCII split across read chunks', async () => {
    let content = MH;
    const n = 20000;
    for (let i = 1; i <= n; i++) content += `${i},"Amélie, Léon & 卧虎藏龙 ${i}",Drama\n`;
    const { rows, stats } = await readAll(readMovies, content);
    expect(stats.rowsRejected).toBe(0);
    expect(rows).toHaveLength(n);
    expect(rows.every((r, i) => r.title === `Amélie, Léon & 卧虎藏龙 ${i + 1}`)).toBe(true);
  });

  it('keeps line numbers exact across read chunks with multi-line titles and empty lines', async () => {
    let content = MH;
    let line = 2;
    const expected: number[] = [];
    for (let i = 1; i <= 20000; i++) {
      if (i % 97 === 0) {
        expected.push(line);
        content += '\n';
        line += 1;
      }
      if (i % 31 === 0) {
        content += `${i},"Multi\r\nline, ""quoted""\ntitle ${i}",Drama\n`;
        line += 3;
      } else if (i % 89 === 0) {
        expected.push(line);
        content += `${i},"Bad\ngenres ${i}",\n`;
        line += 2;
      } else {
        content += `${i},Title ${i},Comedy|Drama\n`;
        line += 1;
      }
    }
    const { rows, rejects } = await readAll(readMovies, content);
    expect(rejects.map((r) => r.line)).toEqual(expected);
    expect(rows.find((r) => r.movieId === 31)?.title).toBe('Multi\r\nline, "quoted"\ntitle 31');
  });

  it('rejects movie rows by rule', async () => {
    const { rejects } = await readAll(readMovies, MH + '1,T\n2,,Drama\n3,T,\n4,T,A||B\nx,T,Drama\n\n');
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [2, 'expected 3 fields, got 2'],
      [3, 'title is empty'],
      [4, 'genres is empty'],
      [5, 'genres "A||B" has an empty genre'],
      [6, 'movieId "x" is not a positive integer'],
      [7, 'empty line'],
    ]);
  });

  it('throws on a wrong header', async () => {
    const f = file('movieId,title\n1,T\n');
    await expect(collect(readMovies(f).batches)).rejects.toThrow(`${f}: wrong header: expected "movieId,title,genres", got "movieId,title"`);
  });
});

async function collect<T>(batches: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of batches) out.push(...b);
  return out;
}
