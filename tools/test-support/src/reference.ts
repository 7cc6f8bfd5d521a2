// The independent computation the pipeline is checked against. It deliberately shares no code with
// the pipeline (no @movie-stream/movielens-csv, no papaparse), so a bug there cannot hide here.
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ReferenceMean {
  movieId: number;
  sum: number;
  count: number;
  mean: number;
}

const INT = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** Parses one ratings line; undefined unless it is 4 valid fields (ids > 0, rating 0.5-5 in half steps, timestamp >= 0). */
function parseRatingLine(line: string): { movieId: number; rating: number } | undefined {
  const parts = line.split(',');
  if (parts.length !== 4) return undefined;
  const [u, m, r, t] = parts as [string, string, string, string];
  if (!INT.test(u) || !INT.test(m) || !DECIMAL.test(r) || !INT.test(t)) return undefined;
  const userId = Number(u);
  const movieId = Number(m);
  const rating = Number(r);
  if (userId < 1 || movieId < 1 || !Number.isSafeInteger(movieId) || !Number.isSafeInteger(Number(t))) return undefined;
  if (rating < 0.5 || rating > 5 || !Number.isInteger(rating * 2)) return undefined;
  return { movieId, rating };
}

/**
 * Per-movie sum, count and mean straight from a ratings CSV (line by line, split on ','; ratings are
 * never quoted). The first line is the header; other lines that are not valid ratings are skipped.
 */
export async function computeReferenceMeans(
  ratingsFile: string,
): Promise<{ means: Map<number, ReferenceMean>; ratings: number; skipped: number }> {
  const means = new Map<number, ReferenceMean>();
  let ratings = 0;
  let skipped = 0;
  let first = true;
  // crlfDelay: a \r\n split across reads still counts as one line end.
  const lines = createInterface({ input: createReadStream(ratingsFile, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const raw of lines) {
    if (first) {
      first = false;
      continue;
    }
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const parsed = parseRatingLine(line);
    if (!parsed) {
      skipped++;
      continue;
    }
    ratings++;
    let m = means.get(parsed.movieId);
    if (!m) {
      m = { movieId: parsed.movieId, sum: 0, count: 0, mean: 0 };
      means.set(parsed.movieId, m);
    }
    m.sum += parsed.rating;
    m.count++;
  }
  for (const m of means.values()) m.mean = m.sum / m.count;
  return { means, ratings, skipped };
}

/** Parses ';'-separated text with a header row and RFC 4180 quoting; throws on malformed input. */
export function parseSemicolonCsv(text: string, name = 'input'): Record<string, string>[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: string[][] = [];
  const recordLines: number[] = [];
  let record: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const n = text.length;
  // State per field: at its start we see whether it is quoted.
  while (i < n) {
    if (text[i] === '"') {
      const startLine = line;
      i++;
      for (;;) {
        if (i >= n) throw new Error(`${name}:${startLine}: unterminated quoted field`);
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === '\n') line++;
        field += c;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== ';' && next !== '\n' && !(next === '\r' && text[i + 1] === '\n')) {
        throw new Error(`${name}:${line}: unexpected ${JSON.stringify(next)} after a closing quote`);
      }
    } else {
      while (i < n) {
        const c = text[i]!;
        if (c === ';' || c === '\n' || (c === '\r' && text[i + 1] === '\n')) break;
        if (c === '"') throw new Error(`${name}:${line}: quote inside an unquoted field`);
        field += c;
        i++;
      }
    }
    // Now at a delimiter, a record end, or the end of text.
    record.push(field);
    field = '';
    if (i >= n) break;
    if (text[i] === ';') {
      i++;
      // A trailing ';' at the very end still opens one more (empty) field.
      if (i >= n) record.push('');
      continue;
    }
    i += text[i] === '\r' ? 2 : 1;
    records.push(record);
    recordLines.push(recordLine);
    record = [];
    line++;
    recordLine = line;
  }
  // Text ending without a newline leaves its last record open.
  if (record.length > 0) {
    records.push(record);
    recordLines.push(recordLine);
  }

  const header = records.shift();
  recordLines.shift();
  if (!header) throw new Error(`${name}: empty file, expected a header row`);
  if (new Set(header).size !== header.length) throw new Error(`${name}:1: duplicate column in header ${header.join(';')}`);
  return records.map((fields, k) => {
    if (fields.length !== header.length) {
      throw new Error(`${name}:${recordLines[k]}: expected ${header.length} fields, got ${fields.length}`);
    }
    const rec: Record<string, string> = {};
    header.forEach((h, j) => {
      rec[h] = fields[j]!;
    });
    return rec;
  });
}

/** Reads a pipeline output file (e.g. movie-data.csv, mean-ratings.csv) into one record per row. */
export async function readSemicolonCsv(file: string): Promise<Record<string, string>[]> {
  // Output files are bounded by the movie count, so reading whole is fine.
  return parseSemicolonCsv(readFileSync(file, 'utf8'), file);
}

const MOVIE_DATA_COLUMNS = ['movieId', 'title', 'genres', 'mean_rating', 'rating_count'];

function sameMean(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * Checks movie-data.csv rows against the reference. Expected: exactly one row per id in
 * movies.csv ∪ rated ids; rated movies carry the exact count and the mean (within 1e-9 relative);
 * unrated movies have rating_count 0 and an empty mean_rating; rated movies that movies.csv lacks
 * have empty title and genres. Returns one message per mismatch (empty = exact).
 */
export function compareMovieData(rows: Record<string, string>[], reference: Map<number, ReferenceMean>, movieIds: Set<number>): string[] {
  const problems: string[] = [];
  const MAX = 50;
  const add = (msg: string): void => {
    if (problems.length < MAX) problems.push(msg);
    else if (problems.length === MAX) problems.push('... (more mismatches not listed)');
  };
  if (rows.length > 0) {
    const missingCols = MOVIE_DATA_COLUMNS.filter((c) => !(c in rows[0]!));
    if (missingCols.length) return [`movie-data rows lack column(s) ${missingCols.join(', ')}`];
  }

  const seen = new Set<number>();
  for (const row of rows) {
    const id = Number(row.movieId);
    if (!INT.test(row.movieId ?? '') || id < 1) {
      add(`row with bad movieId ${JSON.stringify(row.movieId)}`);
      continue;
    }
    if (seen.has(id)) {
      add(`movie ${id}: more than one row`);
      continue;
    }
    seen.add(id);
    const ref = reference.get(id);
    const named = movieIds.has(id);
    const countText = row.rating_count ?? '';
    const count = INT.test(countText) ? Number(countText) : NaN;
    const meanText = row.mean_rating ?? '';
    if (!ref) {
      if (!named) add(`movie ${id}: neither in movies.csv nor rated`);
      if (count !== 0) add(`movie ${id}: rating_count ${JSON.stringify(countText)}, expected 0 (no ratings)`);
      if (meanText !== '') add(`movie ${id}: mean_rating ${JSON.stringify(meanText)}, expected empty (no ratings)`);
      continue;
    }
    if (count !== ref.count) add(`movie ${id}: rating_count ${JSON.stringify(countText)}, expected ${ref.count}`);
    const mean = meanText.trim() === '' ? NaN : Number(meanText);
    if (!sameMean(mean, ref.mean)) add(`movie ${id}: mean_rating ${JSON.stringify(meanText)}, expected ${ref.mean}`);
    if (!named && (row.title !== '' || row.genres !== '')) {
      add(`movie ${id}: not in movies.csv but has title ${JSON.stringify(row.title)} / genres ${JSON.stringify(row.genres)}`);
    }
  }
  for (const id of movieIds) if (!seen.has(id)) add(`movie ${id}: in movies.csv but has no row`);
  for (const id of reference.keys()) if (!seen.has(id) && !movieIds.has(id)) add(`movie ${id}: rated but has no row`);
  return problems;
}

/** movie-data.csv against the reference computed from the ratings and movies files the run read (empty = exact). */
export async function movieDataMismatches(movieDataFile: string, ratingsFile: string, moviesFile: string): Promise<string[]> {
  const [rows, ref, ids] = await Promise.all([readSemicolonCsv(movieDataFile), computeReferenceMeans(ratingsFile), movieIdsOf(moviesFile)]);
  return compareMovieData(rows, ref.means, ids);
}

/** The movie ids movies.csv names, read independently of the code under test (ids are never quoted: the first comma ends them). */
export async function movieIdsOf(moviesFile: string): Promise<Set<number>> {
  const ids = new Set<number>();
  let header = true;
  for await (const line of createInterface({ input: createReadStream(moviesFile), crlfDelay: Infinity })) {
    if (header) header = false;
    else if (line) ids.add(Number(line.slice(0, line.indexOf(','))));
  }
  return ids;
}
