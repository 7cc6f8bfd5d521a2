import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MAX_LINE_LENGTH } from './reader';
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
    const { rows, stats, batchSizes } = await readAll(
      readRatings,
      RH + '1,31,2.5,1260759144\n1,1029,3.0,1260759179\n2,10,4.0,835355493\n',
      {
        batchSize: 2,
      },
    );
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

  it('rejects each line of a quoted field that spans lines on its own (no field spans lines)', async () => {
    const { rejects, rows } = await readAll(readRatings, RH + '1,"2\r\n3\n4",3.0,4\n5,bad,1.0,1\n6,7,2.0,8\n');
    expect(rows).toEqual([{ userId: 6, movieId: 7, rating: 2, timestamp: 8 }]);
    expect(rejects.map((r) => [r.line, r.reason, r.raw])).toEqual([
      [2, 'movieId has a quote that is not closed on its line (a quoted field cannot span lines)', '1,"2'],
      [3, 'expected 4 fields, got 1', '3'],
      [4, 'expected 4 fields, got 3', '4",3.0,4'],
      [5, 'movieId "bad" is not a positive integer', '5,bad,1.0,1'],
    ]);
  });

  it('an unclosed quote rejects only its own line: the rest of the file is read', async () => {
    let content = RH;
    let sum = 0;
    for (let i = 1; i <= 5000; i++) {
      if (i === 99)
        content += '1,"31,2.5,1260759144\n'; // line 100
      else {
        content += `${i},${1 + (i % 300)},${(i % 10) / 2 + 0.5},${1260759144 + i}\n`;
        sum += (i % 10) / 2 + 0.5;
      }
    }
    const { rows, rejects, stats } = await readAll(readRatings, content);
    expect(stats).toMatchObject({ rowsRead: 5000, rowsAccepted: 4999, rowsRejected: 1 });
    expect(rejects.map((r) => [r.line, r.raw])).toEqual([[100, '1,"31,2.5,1260759144']]);
    expect(rows.reduce((a, r) => a + r.rating, 0)).toBe(sum);
    expect(rows[rows.length - 1]).toEqual({ userId: 5000, movieId: 1 + (5000 % 300), rating: 0.5, timestamp: 1260759144 + 5000 });
  });

  it('reads LF and CRLF lines mixed in one file, and a last line without a break', async () => {
    const { rows, rejects } = await readAll(readRatings, 'userId,movieId,rating,timestamp\r\n1,2,3.0,4\n5,6,1.5,7\r\n\r\n8,9,2.0,10\r');
    expect(rows.map((r) => r.userId)).toEqual([1, 5, 8]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[4, 'empty line']]);
  });

  it('rejects ids the int32 messages cannot carry and counts every other row', async () => {
    const content =
      RH +
      '1,2,3.0,4\n' + // 2
      '2147483647,2147483647,4.0,5\n' + // 3: the largest id
      '2147483648,2,3.0,4\n' + // 4
      '1,2147483648,3.0,4\n' + // 5
      '1,999999999999999,3.0,4\n' + // 6: 15 digits, used to pass validation
      '6,7,5.0,8\n'; // 7
    const { rows, rejects, stats } = await readAll(readRatings, content);
    expect(rows.map((r) => [r.userId, r.movieId])).toEqual([
      [1, 2],
      [2147483647, 2147483647],
      [6, 7],
    ]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [4, 'userId "2147483648" is above 2147483647, the largest id the messages carry (int32)'],
      [5, 'movieId "2147483648" is above 2147483647, the largest id the messages carry (int32)'],
      [6, 'movieId "999999999999999" is above 2147483647, the largest id the messages carry (int32)'],
    ]);
    expect(stats).toMatchObject({ rowsRead: 6, rowsAccepted: 3, rowsRejected: 3 });
  });

  it('rejects a line longer than MAX_LINE_LENGTH without holding it, and reads on', async () => {
    const long = '1,' + '9'.repeat(MAX_LINE_LENGTH + 200000) + ',3.0,4';
    const { rows, rejects, stats } = await readAll(readRatings, RH + '1,2,3.0,4\n' + long + '\r\n5,6,1.0,7\n' + long);
    expect(rows.map((r) => r.userId)).toEqual([1, 5]);
    expect(rejects.map((r) => [r.line, r.reason, r.raw.length])).toEqual([
      [3, `line longer than ${MAX_LINE_LENGTH} characters`, 1024],
      [5, `line longer than ${MAX_LINE_LENGTH} characters`, 1024],
    ]);
    expect(rejects[0]!.raw).toBe(long.slice(0, 1024));
    expect(stats).toMatchObject({ rowsRead: 4, rowsAccepted: 2, rowsRejected: 2 });
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
  it('keeps quoted titles with commas, quotes and non-ASCII as-is; rejects the lines of a title with newlines', async () => {
    const content =
      MH +
      '1,Toy Story (1995),Adventure|Animation|Children\n' + // 2
      '2,"Crouching Tiger, Hidden Dragon (Wò hǔ cáng lóng) (2000)",Action|Drama|Romance\n' + // 3
      '3,"The ""Great"" One, Part 2 (1999)",Comedy\n' + // 4
      '4,"Line one\nline two\r\nline three (2001)",(no genres listed)\n' + // 5-7: a title does not span lines
      "5,Amélie (Fabuleux destin d'Amélie Poulain; Le) (2001),Comedy|Romance\n" + // 8
      '0,Bad id,Drama\n' + // 9
      '6,Léon: The Professional (1994),Action|Crime|Drama|Thriller\n' + // 10
      '7,"Quoted ""(no genres)"" (2002)",(no genres listed)\n'; // 11
    const { rows, rejects, stats } = await readAll(readMovies, '\ufeff' + content.replace(/\n(?=\d|$)/g, '\r\n'));
    expect(rows).toEqual([
      { movieId: 1, title: 'Toy Story (1995)', genres: ['Adventure', 'Animation', 'Children'] },
      { movieId: 2, title: 'Crouching Tiger, Hidden Dragon (Wò hǔ cáng lóng) (2000)', genres: ['Action', 'Drama', 'Romance'] },
      { movieId: 3, title: 'The "Great" One, Part 2 (1999)', genres: ['Comedy'] },
      { movieId: 5, title: "Amélie (Fabuleux destin d'Amélie Poulain; Le) (2001)", genres: ['Comedy', 'Romance'] },
      { movieId: 6, title: 'Léon: The Professional (1994)', genres: ['Action', 'Crime', 'Drama', 'Thriller'] },
      { movieId: 7, title: 'Quoted "(no genres)" (2002)', genres: [] },
    ]);
    expect(rejects.map((r) => [r.line, r.reason, r.raw])).toEqual([
      [5, 'title has a quote that is not closed on its line (a quoted field cannot span lines)', '4,"Line one'],
      [6, 'expected 3 fields, got 1', 'line two'],
      [7, 'expected 3 fields, got 2', 'line three (2001)",(no genres listed)'],
      [9, 'movieId "0" is not a positive integer', '0,Bad id,Drama'],
    ]);
    expect(stats).toMatchObject({ rowsRead: 10, rowsAccepted: 6, rowsRejected: 4 });
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
    let accepted = 0;
    for (let i = 1; i <= 20000; i++) {
      if (i % 97 === 0) {
        expected.push(line);
        content += '\n';
        line += 1;
      }
      if (i % 31 === 0) {
        // Each of the three lines is rejected on its own.
        expected.push(line, line + 1, line + 2);
        content += `${i},"Multi\r\nline, ""quoted""\ntitle ${i}",Drama\n`;
        line += 3;
      } else if (i % 89 === 0) {
        expected.push(line, line + 1);
        content += `${i},"Bad\ngenres ${i}",\n`;
        line += 2;
      } else {
        content += `${i},"Title, ${i}",Comedy|Drama\n`;
        line += 1;
        accepted++;
      }
    }
    const { rows, rejects, stats } = await readAll(readMovies, content);
    expect(rejects.map((r) => r.line)).toEqual(expected);
    expect(rows).toHaveLength(accepted);
    expect(rows.find((r) => r.movieId === 32)?.title).toBe('Title, 32');
    expect(stats.rowsRead).toBe(line - 2);
  });

  it('rejects movie rows by rule', async () => {
    const { rows, rejects } = await readAll(
      readMovies,
      MH + '1,T\n2,,Drama\n3,T,\n4,T,A||B\nx,T,Drama\n\n' + '8,"T"x",Drama\n9,"T" x,Drama\n10,"T,Drama\n11,T"x,Drama\n',
    );
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [2, 'expected 3 fields, got 2'],
      [3, 'title is empty'],
      [4, 'genres is empty'],
      [5, 'genres "A||B" has an empty genre'],
      [6, 'movieId "x" is not a positive integer'],
      [7, 'empty line'],
      [8, 'a quoted field has text after its closing quote'],
      [9, 'a quoted field has text after its closing quote'],
      [10, 'title has a quote that is not closed on its line (a quoted field cannot span lines)'],
    ]);
    // A quote inside an unquoted field is text, as papaparse and RFC 4180 readers take it.
    expect(rows).toEqual([{ movieId: 11, title: 'T"x', genres: ['Drama'] }]);
  });

  it('throws on a wrong header', async () => {
    const f = file('movieId,title\n1,T\n');
    await expect(collect(readMovies(f).batches)).rejects.toThrow(
      `${f}: wrong header: expected "movieId,title,genres", got "movieId,title"`,
    );
  });
});

async function collect<T>(batches: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of batches) out.push(...b);
  return out;
}
