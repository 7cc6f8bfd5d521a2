// Publishing at a steady rate (PUBLISH_MAX_RATE): a replay of a file as a live stream, e.g. to see what the
// consumers do with small batches instead of a backlog.

/** When each row is due at `ratePerSecond`, from `start`; rows are released in slices of at most `sliceMs` worth. */
export class Pacer {
  /** Rows per slice: at least 1, at most `sliceMs` of the rate. */
  readonly slice: number;

  constructor(
    readonly ratePerSecond: number,
    private readonly start: number,
    sliceMs = 50,
  ) {
    if (!(ratePerSecond > 0)) throw new Error(`a rate must be above 0 rows/s (got ${ratePerSecond})`);
    this.slice = Math.max(1, Math.floor((ratePerSecond * sliceMs) / 1000));
  }

  /** How long to wait at `now` before the rows after the first `sent` may go (0 when they are due). */
  waitMs(sent: number, now: number): number {
    return Math.max(0, this.start + (sent * 1000) / this.ratePerSecond - now);
  }
}
