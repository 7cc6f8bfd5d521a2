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
   * 1-based physical line (header is line 1). A row is one physical line: a quoted field never spans
   * lines, so a quote left open (e.g. `1,"2,3.0,4`) rejects that line only and the next line is read
   * as the next row.
   */
  line: number;
  reason: string;
  /**
   * The line as in the file, without its line break (\n or \r\n); a line longer than MAX_LINE_LENGTH
   * is cut to its first 1024 characters.
   */
  raw: string;
}

export interface ReadStats {
  file: string;
  /**
   * Data lines read: physical lines after the header. A line ends at \n (\r\n is one break); a last
   * line without a break counts when it is not empty. Every line is either accepted or rejected, so
   * rowsRead = rowsAccepted + rowsRejected always, and after a complete read rowsRead is the file's
   * line count minus the header.
   */
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
