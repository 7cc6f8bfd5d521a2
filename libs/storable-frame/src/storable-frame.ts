import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Mutex } from 'async-mutex';
import Papa from 'papaparse';
import { FrameTable, ReadonlyFrameTable } from './frame-table';
import {
  ColumnSpec, CURRENT_FILE, META_FILE, OffsetMap, SnapshotMeta, TABLE_FILE, WriteRequest, WriteResult,
} from './types';

export interface FrameLogger {
  info(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
}

export interface StorableFrameOptions<K, Row> {
  /** Used in log lines, e.g. "mean-ratings". */
  name: string;
  /** Directory of the snapshot generations (CURRENT, gen-N/). */
  stateDir: string;
  /** The user-facing CSV (e.g. data/out/mean-ratings.csv), replaced atomically after each snapshot. */
  outputFile?: string;
  columns: ColumnSpec<Row>[];
  /** Rebuilds a row from a snapshot CSV record (all values as strings). */
  fromRecord(record: Record<string, string>): [K, Row];
  /** Generations kept besides CURRENT's; default 1. */
  keepPrevious?: number;
  logger?: FrameLogger;
}

export interface SnapshotInfo extends WriteResult {
  offsets: OffsetMap;
  /** Time the table was locked for the copy (the only part that blocks updates). */
  copyMs: number;
}

/** A failed snapshot write: the errno and path say why; offsets were not committed. */
export class SnapshotError extends Error {
  constructor(message: string, readonly code?: string, readonly path?: string) {
    super(message);
  }
}

const silent: FrameLogger = { info() {}, warn() {}, error() {} };

function workerEntry(): { file: string; execArgv?: string[] } {
  // From source (jest, tsx) the worker is TypeScript and needs tsx's loader; in an esbuild bundle it is a
  // sibling file built from the same source (see tools/build).
  if (__filename.endsWith('.ts')) return { file: join(__dirname, 'snapshot-worker.ts'), execArgv: ['--require', 'tsx/cjs'] };
  return { file: join(__dirname, 'snapshot-worker.js') };
}

/**
 * The seed's StorableDataFrame: an in-memory table whose snapshots are written by a worker thread,
 * atomically together with the Kafka offsets whose effects they contain.
 *
 * Contract: mutate rows and advance offsets only inside `update` (under the lock), in the same call, so a
 * snapshot never holds a row change without its offset or the other way round.
 */
export class StorableFrame<K, Row> {
  private readonly rows: FrameTable<K, Row>;
  private readonly offsetMap: OffsetMap = {};
  private readonly mutex = new Mutex();
  private readonly logger: FrameLogger;
  private worker?: Worker;
  private pending?: { resolve(r: WriteResult): void; reject(e: Error): void };
  private generation = 0;
  private changedSinceSnapshot = false;
  private timer?: NodeJS.Timeout;
  private periodicRun?: Promise<void>;
  /** Longest and latest time updates were blocked by a snapshot copy, in ms. */
  readonly stats = { snapshots: 0, failures: 0, maxCopyMs: 0, lastCopyMs: 0, maxTransferMs: 0 };

  constructor(private readonly opts: StorableFrameOptions<K, Row>) {
    this.logger = opts.logger ?? silent;
    this.rows = new FrameTable(opts.columns);
  }

  get size(): number {
    return this.rows.size;
  }

  /** Loads the current snapshot generation, if there is one. Returns whether it did. */
  async load(): Promise<boolean> {
    return this.mutex.runExclusive(() => {
      const currentPath = join(this.opts.stateDir, CURRENT_FILE);
      if (!existsSync(currentPath)) return false;
      const genName = readFileSync(currentPath, 'utf8').trim();
      const dir = join(this.opts.stateDir, genName);
      const meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8')) as SnapshotMeta;
      const parsed = Papa.parse<Record<string, string>>(readFileSync(join(dir, TABLE_FILE), 'utf8'), {
        header: true, delimiter: ';', skipEmptyLines: true,
      });
      if (parsed.errors.length) {
        throw new Error(`snapshot ${join(dir, TABLE_FILE)} is unreadable: row ${parsed.errors[0].row}: ${parsed.errors[0].message}`);
      }
      if (parsed.data.length !== meta.rows) {
        throw new Error(`snapshot ${dir} has ${parsed.data.length} rows, its ${META_FILE} says ${meta.rows}`);
      }
      this.rows.clear();
      for (const rec of parsed.data) {
        const [k, row] = this.opts.fromRecord(rec);
        this.rows.set(k, row);
      }
      for (const key of Object.keys(this.offsetMap)) delete this.offsetMap[key];
      for (const [topic, parts] of Object.entries(meta.offsets)) this.offsetMap[topic] = { ...parts };
      this.generation = meta.generation;
      this.logger.info(`restored ${this.opts.name} snapshot`, { dir, rows: meta.rows, offsets: meta.offsets });
      return true;
    });
  }

  /** The next offset to read per topic and partition, as of the last update (a copy). */
  offsets(): OffsetMap {
    return JSON.parse(JSON.stringify(this.offsetMap));
  }

  /** Next offset to read for one partition, or undefined when the frame has seen none of it. */
  nextOffset(topic: string, partition: number): string | undefined {
    return this.offsetMap[topic]?.[String(partition)];
  }

  /**
   * Runs `fn` under the lock. `fn` may change rows (by `set`ting new ones: rows are frozen) and must record, with `commitOffset`, the next offset
   * of every partition whose messages it applied. It may await (e.g. a publish): the snapshot waits.
   */
  async update<T>(fn: (rows: FrameTable<K, Row>, commitOffset: (topic: string, partition: number, next: string) => void) => T | Promise<T>): Promise<T> {
    return this.mutex.runExclusive(() => {
      this.changedSinceSnapshot = true;
      return fn(this.rows, (topic, partition, next) => {
        (this.offsetMap[topic] ??= {})[String(partition)] = next;
      });
    });
  }

  /** Read-only access under the lock. */
  async read<T>(fn: (rows: ReadonlyFrameTable<K, Row>) => T): Promise<T> {
    return this.mutex.runExclusive(() => fn(this.rows));
  }

  /**
   * Copies the table and offsets under the lock, then has the worker write them as a new generation.
   * Resolves once the generation is durable; returns null when nothing changed since the last snapshot.
   */
  async snapshot(opts: { force?: boolean } = {}): Promise<SnapshotInfo | null> {
    const copied = await this.mutex.runExclusive(() => {
      if (!this.changedSinceSnapshot && !opts.force) return null;
      const t0 = performance.now();
      const table = this.rows.copyColumns();
      const offsets = this.offsets();
      this.changedSinceSnapshot = false;
      return { table, offsets, copyMs: performance.now() - t0 };
    });
    if (!copied) return null;
    this.stats.lastCopyMs = copied.copyMs;
    this.stats.maxCopyMs = Math.max(this.stats.maxCopyMs, copied.copyMs);
    const generation = this.generation + 1;
    const req: WriteRequest = {
      stateDir: this.opts.stateDir, generation, table: copied.table, offsets: copied.offsets,
      outputFile: this.opts.outputFile, keepPrevious: this.opts.keepPrevious ?? 1,
    };
    try {
      const result = await this.write(req);
      this.generation = generation;
      this.stats.snapshots++;
      return { ...result, offsets: copied.offsets, copyMs: copied.copyMs };
    } catch (e) {
      this.changedSinceSnapshot = true; // the next attempt must write again
      this.stats.failures++;
      throw e;
    }
  }

  /**
   * Snapshots every `intervalMs`; after each durable snapshot calls `onSaved` (which commits the offsets to
   * Kafka). A failed write is logged with path and errno and retried on the next tick; nothing is committed.
   */
  startPeriodic(intervalMs: number, onSaved: (info: SnapshotInfo) => Promise<void>): void {
    const tick = async () => {
      try {
        const info = await this.snapshot();
        if (info) await onSaved(info);
      } catch (e) {
        const err = e as SnapshotError;
        this.logger.error(`snapshot of ${this.opts.name} failed; offsets not committed, will retry`, {
          error: err.message, code: err.code, path: err.path,
        });
      }
    };
    const schedule = () => {
      this.timer = setTimeout(() => {
        this.periodicRun = tick().finally(() => {
          if (this.timer) schedule();
        });
      }, intervalMs);
    };
    schedule();
  }

  /** Stops periodic snapshots, waiting for one in progress. */
  async stopPeriodic(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    if (t) clearTimeout(t);
    await this.periodicRun;
  }

  async close(): Promise<void> {
    await this.stopPeriodic();
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private write(req: WriteRequest): Promise<WriteResult> {
    const worker = this.ensureWorker();
    return new Promise<WriteResult>((resolve, reject) => {
      this.pending = { resolve, reject };
      const t0 = performance.now();
      const transfer = req.table.numbers.filter((a): a is Float64Array => a !== null).map((a) => a.buffer as ArrayBuffer);
      worker.postMessage(req, transfer);
      this.stats.maxTransferMs = Math.max(this.stats.maxTransferMs, performance.now() - t0);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const entry = workerEntry();
    const worker = new Worker(entry.file, { execArgv: entry.execArgv });
    worker.on('message', (msg: { ok: boolean; result?: WriteResult; error?: { message: string; code?: string; path?: string } }) => {
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (msg.ok) p.resolve(msg.result as WriteResult);
      else p.reject(new SnapshotError(msg.error?.message ?? 'snapshot write failed', msg.error?.code, msg.error?.path));
    });
    worker.on('error', (e) => {
      this.pending?.reject(e);
      this.pending = undefined;
      this.worker = undefined;
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
