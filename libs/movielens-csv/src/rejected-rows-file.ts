import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { quoteCsvField } from './csv-quote';
import type { RejectedRow } from './types';

const FLUSH_AT = 64 * 1024;

/**
 * Streams rejected rows to `<dir>/rejected-<name>.csv` (name = source basename without extension,
 * e.g. ratings.csv -> rejected-ratings.csv) as `line;reason;raw`. The file is created only when
 * the first row arrives, so a clean input leaves no file behind.
 */
export class RejectedRowsFile {
  readonly path: string;
  private out: WriteStream | undefined;
  private pending = '';
  private error: Error | undefined;
  private closed = false;
  private n = 0;

  constructor(
    private readonly dir: string,
    sourceFile: string,
  ) {
    this.path = path.join(dir, `rejected-${path.parse(sourceFile).name}.csv`);
  }

  get count(): number {
    return this.n;
  }

  write(row: RejectedRow): void {
    if (this.closed) throw new Error(`${this.path}: write after close`);
    if (!this.out) {
      mkdirSync(this.dir, { recursive: true });
      this.out = createWriteStream(this.path);
      this.out.on('error', (err) => {
        this.error ??= err;
      });
      this.pending = 'line;reason;raw\n';
    }
    this.n++;
    this.pending += `${row.line};${quoteCsvField(row.reason, ';')};${quoteCsvField(row.raw, ';')}\n`;
    // Batch small writes; write() is sync so the stream buffers (rejects are rare, so memory stays small).
    if (this.pending.length >= FLUSH_AT) this.flush();
  }

  /** Flushes and closes the file; rejects with any write error. Safe to call more than once. */
  async close(): Promise<void> {
    this.closed = true;
    const out = this.out;
    if (out && !out.writableEnded) {
      this.flush();
      await new Promise<void>((resolve) => {
        out.end(() => resolve());
        out.once('error', () => resolve());
      });
    }
    if (this.error) throw this.error;
  }

  private flush(): void {
    if (this.pending && this.out) {
      this.out.write(this.pending);
      this.pending = '';
    }
  }
}
