import { createReadStream } from 'node:fs';
import type { Duplex } from 'node:stream';
import Papa from 'papaparse';
import type { MovieRow, RatingRow, ReadOptions, ReadResult, ReadStats, RejectedRow } from './types';
import { MOVIES_HEADER, RATINGS_HEADER, parseMovieFields, parseRatingFields, reasonKey } from './validate';

interface RowSpec<T> {
  header: readonly string[];
  parse(fields: string[]): T | string;
  /** Whether an accepted row can contain a quoted newline (ratings cannot: all fields are numbers). */
  acceptedMaySpanLines: boolean;
}

const RATINGS: RowSpec<RatingRow> = { header: RATINGS_HEADER, parse: parseRatingFields, acceptedMaySpanLines: false };
const MOVIES: RowSpec<MovieRow> = { header: MOVIES_HEADER, parse: parseMovieFields, acceptedMaySpanLines: true };

const DEFAULT_BATCH_SIZE = 2000;
// Batches parsed ahead of the consumer before reading pauses; memory is bounded by this plus one
// read chunk's rows.
const MAX_QUEUED_BATCHES = 4;
// A header line longer than this is wrong anyway; stop looking for its end.
const MAX_HEADER_SCAN = 64 * 1024;
const READ_CHUNK = 64 * 1024;

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

/** Physical line breaks inside a row's fields (CRLF counts once); only non-zero for quoted newlines. */
function countNewlines(fields: string[]): number {
  let n = 0;
  for (const f of fields) {
    if (f.indexOf('\n') === -1 && f.indexOf('\r') === -1) continue;
    for (let i = 0; i < f.length; i++) {
      const c = f.charCodeAt(i);
      if (c === 10) n++;
      else if (c === 13) {
        n++;
        if (f.charCodeAt(i + 1) === 10) i++;
      }
    }
  }
  return n;
}

/** Re-serialises parsed fields as a CSV line (papaparse does not hand out the raw text). */
export function toRawLine(fields: string[]): string {
  return fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
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
    let parser: Duplex | undefined;

    let error: unknown;
    let done = false;
    let closed = false;
    // Resolvers for the consumer waiting on a batch and the feeder waiting for room.
    let wake: (() => void) | undefined;
    let feedWaiter: (() => void) | undefined;
    const wakeUp = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const resumeFeed = (): void => {
      const w = feedWaiter;
      feedWaiter = undefined;
      w?.();
    };
    const fail = (err: unknown): void => {
      if (error === undefined) error = err;
      wakeUp();
      resumeFeed();
    };
    const onAbort = (): void => fail(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      // Pick the newline from the header line: papaparse would guess it per chunk, which misparses
      // CRLF files when a chunk boundary falls between \r and \n.
      const srcIter = src[Symbol.asyncIterator]() as AsyncIterator<string>;
      let head = '';
      while (head.indexOf('\n') === -1 && head.length < MAX_HEADER_SCAN) {
        const r = await srcIter.next();
        if (r.done) break;
        head += r.value;
        if (error !== undefined) throw error;
      }
      if (head.charCodeAt(0) === 0xfeff) head = head.slice(1);
      const nl = head.indexOf('\n');
      const newline = nl > 0 && head.charCodeAt(nl - 1) === 13 ? '\r\n' : '\n';

      parser = Papa.parse(Papa.NODE_STREAM_INPUT, {
        delimiter: ',',
        newline,
        quoteChar: '"',
        header: false,
        dynamicTyping: false,
        skipEmptyLines: false,
      });
      const queue: T[][] = [];
      let batch: T[] = [];
      let headerSeen = false;
      let nextLine = 1;
      const p = parser;

      const reject = (fields: string[], line: number, reason: string): void => {
        stats.rowsRejected++;
        const key = reasonKey(reason);
        stats.rejectReasons[key] = (stats.rejectReasons[key] ?? 0) + 1;
        if (onReject) {
          const row: RejectedRow = { file, line, reason, raw: toRawLine(fields) };
          onReject(row);
        }
      };

      const onRow = (fields: string[]): void => {
        const line = nextLine;
        if (!headerSeen) {
          nextLine += 1 + countNewlines(fields);
          headerSeen = true;
          const want = spec.header;
          if (fields.length !== want.length || fields.some((f, i) => f !== want[i])) {
            throw new Error(
              `${file}: wrong header: expected "${want.join(',')}", got "${toRawLine(fields).slice(0, 200)}"`,
            );
          }
          return;
        }
        stats.rowsRead++;
        if (fields.length === 1 && fields[0] === '') {
          nextLine += 1;
          reject(fields, line, 'empty line');
          return;
        }
        const r = spec.parse(fields);
        if (typeof r === 'string') {
          nextLine += 1 + countNewlines(fields);
          reject(fields, line, r);
          return;
        }
        nextLine += spec.acceptedMaySpanLines ? 1 + countNewlines(fields) : 1;
        stats.rowsAccepted++;
        batch.push(r);
        if (batch.length >= batchSize) {
          queue.push(batch);
          batch = [];
          wakeUp();
        }
      };

      p.on('data', (fields: string[]) => {
        if (error !== undefined) return;
        try {
          onRow(fields);
        } catch (err) {
          fail(err);
        }
      });
      p.on('end', () => {
        if (batch.length > 0) queue.push(batch);
        batch = [];
        if (!headerSeen && error === undefined) {
          fail(new Error(`${file}: file is empty: expected header "${spec.header.join(',')}"`));
        }
        done = true;
        wakeUp();
      });
      p.on('error', fail);
      src.on('error', fail);

      // Backpressure by feeding text only while few batches wait: pausing papaparse's output side
      // instead makes it copy the rest of its chunk per pause and poll with 3 ms timers.
      const writeText = (chunk: string): Promise<void> =>
        new Promise((resolve, reject) => p.write(chunk, (err) => (err ? reject(err) : resolve())));
      const feed = async (): Promise<void> => {
        // Let the 'data' listener switch the stream to flowing first; rows pushed before that are
        // buffered, and each push over the buffer limit triggers papaparse's costly pause.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (head) await writeText(head);
        for (;;) {
          while (queue.length >= MAX_QUEUED_BATCHES && error === undefined && !closed) {
            await new Promise<void>((resolve) => {
              feedWaiter = resolve;
            });
          }
          if (error !== undefined || closed) return;
          const r = await srcIter.next();
          if (r.done) break;
          await writeText(r.value);
        }
        p.end();
      };
      feed().catch(fail);

      for (;;) {
        if (error !== undefined) throw error;
        const b = queue.shift();
        if (b) {
          if (queue.length < MAX_QUEUED_BATCHES) resumeFeed();
          yield b;
          continue;
        }
        if (done) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      // Also reached when the consumer stops early (break): release the feeder and the file.
      closed = true;
      resumeFeed();
      signal?.removeEventListener('abort', onAbort);
      parser?.destroy();
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
