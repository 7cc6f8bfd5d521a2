export interface RatingRow {
  userId: number;
  movieId: number;
  rating: number;
  timestamp: number;
}

export interface MovieRow {
  movieId: number;
  title: string;
  genres: string[];
}

export interface RejectedRow {
  file: string;
  /**
   * 1-based physical line of the row's first line (header is line 1); exact, quoted newlines included.
   * A stray quote (e.g. `1,"2,3.0,4`) makes papaparse run the field on to the next closing quote, so
   * the following lines become part of that one rejected row (still counted in `line` numbers).
   */
  line: number;
  reason: string;
  /** The row re-serialised from its parsed fields (original quoting is not preserved). */
  raw: string;
}

export interface ReadStats {
  file: string;
  /** Data rows seen (header excluded); always rowsAccepted + rowsRejected. */
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  /** Rejections per reason with the offending value left out, e.g. "rating outside 0.5-5.0". */
  rejectReasons: Record<string, number>;
}

export interface ReadOptions {
  /** Rows per yielded array; default 2000. */
  batchSize?: number;
  /** Called synchronously for each rejected row; a throw ends the iteration with that error. */
  onReject?: (row: RejectedRow) => void;
  signal?: AbortSignal;
}

export interface ReadResult<T> {
  batches: AsyncIterable<T[]>;
  /** Live counters; complete once iteration has ended. */
  stats: ReadStats;
}
