// Property: a malformed line never takes valid lines with it. Valid files are generated, random lines are
// corrupted in ways that must be rejected, and the reader must accept exactly the intact lines and reject
// exactly the corrupted ones, each with its own line number.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  quoteCsvField,
  readMovies,
  readRatings,
  type MovieRow,
  type RatingRow,
  type ReadOptions,
  type ReadResult,
  type RejectedRow,
} from './index';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'movielens-prop-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One physical line of a generated file: intact (with the row it must give) or corrupted. */
type Line<T> = { ok: true; text: Buffer; row: T } | { ok: false; text: Buffer; printable: boolean };

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

// Bytes that are never part of a valid field: control characters and bytes that are invalid UTF-8 alone.
// \n and \r are left out (they are line breaks, generated separately).
const BAD_BYTES = [...Array(256).keys()].filter((b) => (b < 0x20 && b !== 0x0a && b !== 0x0d) || b >= 0x7f);
const badBytes = fc.array(fc.constantFrom(...BAD_BYTES), { minLength: 1, maxLength: 4 }).map((b) => Buffer.from(b));

function insert(text: string, pos: number, what: Buffer): Buffer {
  const p = Math.min(pos, text.length);
  return Buffer.concat([utf8(text.slice(0, p)), what, utf8(text.slice(p))]);
}

// ---- ratings.csv

const ratingRow = fc.record({
  userId: fc.oneof(fc.integer({ min: 1, max: 700 }), fc.integer({ min: 1, max: 2 ** 31 - 1 })),
  movieId: fc.oneof(fc.integer({ min: 1, max: 200000 }), fc.integer({ min: 1, max: 2 ** 31 - 1 })),
  rating: fc.integer({ min: 1, max: 10 }).map((h) => h / 2),
  timestamp: fc.integer({ min: 0, max: 2 ** 31 }),
});
const ratingText = (r: RatingRow, wholeAsInt: boolean): string =>
  `${r.userId},${r.movieId},${wholeAsInt ? String(r.rating) : r.rating.toFixed(1)},${r.timestamp}`;

/** Corruptions of a ratings line, each of which must be rejected. */
function corruptRating(text: string): fc.Arbitrary<Line<RatingRow>> {
  const bad = (t: Buffer | string, printable = true): Line<RatingRow> => ({
    ok: false,
    text: typeof t === 'string' ? utf8(t) : t,
    printable,
  });
  const lastComma = text.lastIndexOf(',');
  return fc.oneof(
    { arbitrary: strayQuote(text), weight: 4 },
    { arbitrary: cut(text, lastComma), weight: 4 },
    { arbitrary: binary(text), weight: 4 },
    // Rare: huge lines make big files.
    { arbitrary: huge(text), weight: 1 },
  );
  function strayQuote(text: string): fc.Arbitrary<Line<RatingRow>> {
    // One stray quote anywhere: an unclosed quoted field or a quote inside a number.
    return fc.nat({ max: text.length }).map((p) => bad(text.slice(0, p) + '"' + text.slice(p)));
  }
  function cut(text: string, lastComma: number): fc.Arbitrary<Line<RatingRow>> {
    // Cut before its last comma (a line whose end was lost): too few fields, or empty.
    return fc.nat({ max: lastComma }).map((p) => bad(text.slice(0, p)));
  }
  function binary(text: string): fc.Arbitrary<Line<RatingRow>> {
    // Binary bytes inside the line.
    return fc.tuple(fc.nat({ max: text.length }), badBytes).map(([p, b]) => bad(insert(text, p, b), false));
  }
  function huge(text: string): fc.Arbitrary<Line<RatingRow>> {
    // One field replaced by a huge value (digits, text, or a closed quoted field).
    return fc.tuple(fc.nat({ max: 3 }), fc.integer({ min: 16, max: 100000 }), fc.constantFrom('9', 'x', 'q')).map(([i, n, c]) => {
      const fields = text.split(',');
      fields[i] = c === 'q' ? `"${'a'.repeat(n)}"` : c.repeat(n);
      return bad(fields.join(','));
    });
  }
}

const ratingLine: fc.Arbitrary<Line<RatingRow>> = fc
  .tuple(ratingRow, fc.boolean(), fc.nat({ max: 99 }))
  .chain(([row, wholeAsInt, dice]) => {
    const text = ratingText(row, wholeAsInt);
    if (dice < 80) return fc.constant<Line<RatingRow>>({ ok: true, text: utf8(text), row });
    if (dice < 83) return fc.constant<Line<RatingRow>>({ ok: false, text: Buffer.alloc(0), printable: true });
    return corruptRating(text);
  });

// ---- movies.csv

const WORDS = ['Toy', 'Story', 'Amélie', 'Léon', 'Crouching', 'Tiger', 'Hidden', 'Dragon', '卧虎藏龙', 'The', 'Great', 'Zoë'];
const GENRES = ['Action', 'Comedy', 'Drama', 'Romance', 'Sci-Fi', 'Film-Noir', 'IMAX'];

// Titles without digits before the year and without quotes, so that a title cut by a line break can never
// leave a continuation line that looks like a valid row (that would be a different, valid row).
const plainTitle = fc
  .tuple(
    fc.array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(' ', ', ')), { minLength: 1, maxLength: 6 }),
    fc.integer({ min: 1900, max: 2020 }),
  )
  .map(([ws, year]) => `${ws.map(([w, sep]) => w + sep).join('')}(${year})`);
// Any title a valid file may hold: with quotes, semicolons, leading and trailing spaces.
const anyTitle = fc.oneof(
  plainTitle,
  fc.tuple(plainTitle, fc.constantFrom('"', '""', '; ', ' ')).map(([t, x]) => `${x}${t}${x}`),
);
const genres: fc.Arbitrary<string[]> = fc.oneof(
  fc.constant<string[]>(['(no genres listed)']),
  fc.uniqueArray(fc.constantFrom(...GENRES), { minLength: 1, maxLength: 4 }),
);

const movieLines: fc.Arbitrary<Line<MovieRow>[]> = fc
  .tuple(fc.integer({ min: 1, max: 2 ** 31 - 1 }), anyTitle, plainTitle, genres, fc.nat({ max: 99 }), fc.nat(), fc.nat(), badBytes)
  .map(([movieId, title, plain, g, dice, a, b, bytes]): Line<MovieRow>[] => {
    const gs = g.join('|');
    const row: MovieRow = { movieId, title, genres: g[0] === '(no genres listed)' ? [] : g };
    const text = `${movieId},${quoteCsvField(title, ',')},${gs}`;
    const bad = (t: string | Buffer, printable = true): Line<MovieRow> => ({
      ok: false,
      text: typeof t === 'string' ? utf8(t) : t,
      printable,
    });
    if (dice < 75) return [{ ok: true, text: utf8(text), row }];
    if (dice < 78) return [bad('')];
    if (dice < 84) {
      // A title whose closing quote is missing.
      return [bad(`${movieId},"${title.replace(/"/g, '""')},${gs}`)];
    }
    if (dice < 90) {
      // A quoted title with a line break inside: two lines, both rejected.
      const k = a % (plain.length + 1);
      return [bad(`${movieId},"${plain.slice(0, k)}`), bad(`${plain.slice(k)}",${gs}`)];
    }
    if (dice < 95) return [bad(text.slice(0, a % (text.lastIndexOf(',') + 1)))];
    // Binary bytes in the id.
    const id = String(movieId);
    return [bad(insert(text, b % (id.length + 1), bytes), false)];
  });

// ---- the check

let fileNo = 0;

async function check<T>(
  read: (f: string, o?: ReadOptions) => ReadResult<T>,
  header: string,
  lines: Line<T>[],
  ends: boolean[],
  bom: boolean,
  lastHasBreak: boolean,
  batchSize: number,
): Promise<void> {
  const parts: Buffer[] = [utf8((bom ? '\ufeff' : '') + header + (ends[0] ? '\r\n' : '\n'))];
  lines.forEach((l, i) => {
    parts.push(l.text);
    // An empty last line without a break is no line at all, so it always gets one.
    if (i < lines.length - 1 || lastHasBreak || l.text.length === 0) parts.push(utf8(ends[(i + 1) % ends.length] ? '\r\n' : '\n'));
  });
  const f = path.join(dir, `p${fileNo++}.csv`);
  writeFileSync(f, Buffer.concat(parts));

  const rejects: RejectedRow[] = [];
  const { batches, stats } = read(f, { batchSize, onReject: (r) => rejects.push(r) });
  const rows: T[] = [];
  for await (const batch of batches) rows.push(...batch);

  const wantRows = lines.flatMap((l) => (l.ok ? [l.row] : []));
  const wantRejects = lines.flatMap((l, i) => (l.ok ? [] : [i + 2]));
  expect(rows).toEqual(wantRows);
  expect(rejects.map((r) => r.line)).toEqual(wantRejects);
  // Printable corrupted lines come back as they were written (binary ones are decoded with U+FFFD).
  const printable = lines.flatMap((l, i) => (!l.ok && l.printable && l.text.length <= 1 << 20 ? [[i + 2, l.text.toString('utf8')]] : []));
  const byLine = new Map(rejects.map((r) => [r.line, r.raw]));
  expect(printable.map(([line]) => [line, byLine.get(line as number)])).toEqual(printable);
  expect(stats).toMatchObject({ rowsRead: lines.length, rowsAccepted: wantRows.length, rowsRejected: wantRejects.length });
}

const layout = {
  ends: fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
  bom: fc.boolean(),
  lastHasBreak: fc.boolean(),
  batchSize: fc.integer({ min: 1, max: 3000 }),
};

describe('readers keep every intact line whatever the corrupted lines hold', () => {
  it('ratings.csv', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Up to ~80 KB of lines plus the odd huge field: many files span several 64 KiB read chunks.
        fc.array(ratingLine, { maxLength: 2500, size: 'max' }),
        fc.record(layout),
        async (lines, o) => check(readRatings, 'userId,movieId,rating,timestamp', lines, o.ends, o.bom, o.lastHasBreak, o.batchSize),
      ),
      { numRuns: 30 },
    );
  }, 300_000);

  it('movies.csv', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(movieLines, { maxLength: 1500, size: 'max' }).map((ls) => ls.flat()),
        fc.record(layout),
        async (lines, o) => check(readMovies, 'movieId,title,genres', lines, o.ends, o.bom, o.lastHasBreak, o.batchSize),
      ),
      { numRuns: 30 },
    );
  }, 300_000);
});
