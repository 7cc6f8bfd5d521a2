import { createReadStream } from 'node:fs';
import Papa from 'papaparse';
import type { MovieRow, RatingRow, ReadOptions, ReadResult, ReadStats, RejectedRow } from './types';
import { MOVIES_HEADER, RATINGS_HEADER, parseMovieFields, parseRatingFields, reasonKey } from './validate';

interface RowSpec<T> {
  header: readonly string[];
  parse(fields: string[]): T | string;
}

const RATINGS: RowSpec<RatingRow> = { header: RATINGS_HEADER, parse: parseRatingFields };
const MOVIES: RowSpec<MovieRow> = { header: MOVIES_HEADER, parse: parseMovieFields };

const DEFAULT_BATCH_SIZE = 2000;
const READ_CHUNK = 64 * 1024;
/**
 * A line longer than this (in UTF-16 code units) is rejected without being held whole: MovieLens lines
 * are under 1 KiB, and a file without line breaks must not grow the reader's memory without bound.
 */
export const MAX_LINE_LENGTH = 1 << 20;
/** How much of an over-long line a RejectedRow keeps in `raw`. */
const LONG_LINE_RAW = 1024;

/**
 * Streams ratings.csv (`userId,movieId,rating,timestamp`). Rows are validated and yielded in arrays;
 * rejected rows are counted and passed to `onReject`. A missing or wrong header throws.
 */
export function readRatings(file: string, opts: ReadOptions = {}): ReadResult<RatingRow> {
  return readCsv(file, RATINGS, opts);
}

/** Streams movies.csv (`movieId,title,genres`); see readRatings. */
export function readMovies(file: string, opts: ReadOptions = {}): ReadResult<MovieRow> {
  return readCsv(file, MOVIES, opts);
}

const PAPA_LINE: Papa.ParseConfig = {
  delimiter: ',',
  // The line has no \n (it was cut there), so papaparse sees exactly one row.
  newline: '\n',
  quoteChar: '"',
  header: false,
  dynamicTyping: false,
  skipEmptyLines: false,
};

/**
 * Splits one physical line into fields, or returns why it cannot be split. Lines without a quote (almost
 * all of them) take the fast path; quoted ones go to papaparse, one line at a time, so a quote left open
 * ends at the line's end instead of running on through the rest of the file.
 */
function splitLine(line: string, header: readonly string[]): string[] | string {
  if (line.indexOf('"') === -1) return line.split(',');
  const res = Papa.parse<string[]>(line, PAPA_LINE);
  if (res.errors.length === 0 && res.data.length === 1) return res.data[0]!;
  // `"T"x` also leaves papaparse looking for a closing quote: say what went wrong first.
  if (res.errors.some((e) => e.code === 'InvalidQuotes')) return 'a quoted field has text after its closing quote';
  if (res.errors.some((e) => e.code === 'MissingQuotes')) {
    // The open field is the last one papaparse started.
    const n = Math.max(1, (res.data[0] ?? []).length);
    const name = n <= header.length ? header[n - 1]! : `field ${n}`;
    return `${name} has a quote that is not closed on its line (a quoted field cannot span lines)`;
  }
  return `unreadable quoting: ${res.errors[0]?.message ?? 'not one row'}`;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

function readCsv<T>(file: string, spec: RowSpec<T>, opts: ReadOptions): ReadResult<T> {
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? DEFAULT_BATCH_SIZE));
  const stats: ReadStats = { file, rowsRead: 0, rowsAccepted: 0, rowsRejected: 0, rejectReasons: {} };
  let started = false;

  async function* iterate(): AsyncGenerator<T[]> {
    const { signal, onReject } = opts;
    if (signal?.aborted) throw abortError(signal);
    const src = createReadStream(file, { encoding: 'utf8', highWaterMark: READ_CHUNK });
    // Ends a pending read at once; the loop below then throws the abort reason.
    const onAbort = (): void => {
      src.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const full: T[][] = [];
    let batch: T[] = [];
    let headerSeen = false;
    let firstChunk = true;
    /** Physical line number of the line being assembled (header = 1). */
    let lineNo = 1;
    /** The start of a line whose end has not been read yet. */
    let carry = '';
    /** Inside an over-long line (already rejected): drop text up to its end. */
    let skipping = false;

    const reject = (line: number, reason: string, raw: string): void => {
      stats.rowsRejected++;
      const key = reasonKey(reason);
      stats.rejectReasons[key] = (stats.rejectReasons[key] ?? 0) + 1;
      if (onReject) {
        const row: RejectedRow = { file, line, reason, raw };
        onReject(row);
      }
    };

    const wrongHeader = (raw: string): Error =>
      new Error(`${file}: wrong header: expected "${spec.header.join(',')}", got "${raw.slice(0, 200)}"`);

    const onLine = (line: string): void => {
      const n = lineNo++;
      if (!headerSeen) {
        headerSeen = true;
        const fields = splitLine(line, spec.header);
        const want = spec.header;
        if (typeof fields === 'string' || fields.length !== want.length || fields.some((f, i) => f !== want[i])) {
          throw wrongHeader(line);
        }
        return;
      }
      stats.rowsRead++;
      if (line.length === 0) {
        reject(n, 'empty line', line);
        return;
      }
      const fields = splitLine(line, spec.header);
      const r = typeof fields === 'string' ? fields : spec.parse(fields);
      if (typeof r === 'string') {
        reject(n, r, line);
        return;
      }
      stats.rowsAccepted++;
      batch.push(r);
      if (batch.length >= batchSize) {
        full.push(batch);
        batch = [];
      }
    };

    const onLongLine = (start: string): void => {
      if (!headerSeen) {
        headerSeen = true;
        throw wrongHeader(start);
      }
      stats.rowsRead++;
      reject(lineNo++, `line longer than ${MAX_LINE_LENGTH} characters`, start.slice(0, LONG_LINE_RAW));
    };

    // Lines end at \n; a \r before it belongs to the break (CRLF), so LF and CRLF lines may be mixed and a
    // read chunk may end between \r and \n.
    const onText = (chunk: string): void => {
      if (firstChunk) {
        firstChunk = false;
        if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      }
      const text = carry.length > 0 ? carry + chunk : chunk;
      let pos = 0;
      if (skipping) {
        const nl = text.indexOf('\n');
        if (nl === -1) {
          carry = '';
          return;
        }
        skipping = false;
        pos = nl + 1;
      }
      for (;;) {
        const nl = text.indexOf('\n', pos);
        if (nl === -1) break;
        const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (end - pos > MAX_LINE_LENGTH) onLongLine(text.slice(pos, pos + LONG_LINE_RAW));
        else onLine(text.slice(pos, end));
        pos = nl + 1;
      }
      carry = pos === 0 ? text : text.slice(pos);
      if (carry.length > MAX_LINE_LENGTH) {
        onLongLine(carry.slice(0, LONG_LINE_RAW));
        carry = '';
        skipping = true;
      }
    };

    try {
      try {
        for await (const chunk of src as AsyncIterable<string>) {
          if (signal?.aborted) break;
          onText(chunk);
          while (full.length > 0) {
            yield full.shift()!;
            if (signal?.aborted) break;
          }
          if (signal?.aborted) break;
        }
      } catch (err) {
        // A destroyed stream (abort) ends with a premature-close error: report the abort instead.
        if (!signal?.aborted) throw err;
      }
      if (signal?.aborted) throw abortError(signal);
      // The last line needs no line break; an empty text after the last break is no line.
      if (!skipping && carry.length > 0) {
        onLine(carry.charCodeAt(carry.length - 1) === 13 ? carry.slice(0, -1) : carry);
        carry = '';
      }
      if (!headerSeen) throw new Error(`${file}: file is empty: expected header "${spec.header.join(',')}"`);
      if (batch.length > 0) full.push(batch);
      batch = [];
      while (full.length > 0) yield full.shift()!;
    } finally {
      // Also reached when the consumer stops early (break): release the file.
      signal?.removeEventListener('abort', onAbort);
      src.destroy();
    }
  }

  const batches: AsyncIterable<T[]> = {
    [Symbol.asyncIterator]() {
      if (started) throw new Error(`${file}: batches can be iterated only once`);
      started = true;
      return iterate();
    },
  };
  return { batches, stats };
}
