import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Mutex } from 'async-mutex';
import Papa from 'papaparse';
import { FrameTable, ReadonlyFrameTable } from './frame-table';
import {
  ColumnarCopy,
  ColumnSpec,
  CURRENT_FILE,
  generationDirName,
  MarkMap,
  META_FILE,
  OffsetMap,
  RecordMark,
  SnapshotMeta,
  TABLE_FILE,
  WriteRequest,
  WriteResult,
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
  /** The snapshot worker's script (tests inject one that misbehaves); default: snapshot-worker. */
  worker?: { file: string; execArgv?: string[]; workerData?: unknown };
  /**
   * The snapshot worker's V8 heap bound in MB (old generation; default SNAPSHOT_WORKER_HEAP_MB). A worker
   * gets a heap of its own that V8 otherwise lets grow towards the machine's memory before collecting (the
   * sink's held ~100 MB at 60,000 rows). A write that needs more ends the worker: the bound doubles for the
   * next one, so a large table costs one failed snapshot, never a loop of them.
   */
  workerHeapMb?: number;
}

/** Default of StorableFrameOptions.workerHeapMb. */
export const SNAPSHOT_WORKER_HEAP_MB = 64;
/** The worker's young generation: its garbage is short-lived (one write's rows and text). */
const WORKER_YOUNG_MB = 8;

export interface SnapshotInfo extends WriteResult {
  offsets: OffsetMap;
  /** Time the table was locked for the copy (the only part that blocks updates). */
  copyMs: number;
}

/** A failed snapshot write: the errno and path say why; offsets were not committed. */
export class SnapshotError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

const silent: FrameLogger = { info() {}, warn() {}, error() {} };

function workerEntry(): { file: string; execArgv?: string[]; workerData?: unknown } {
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
  private readonly markMap: MarkMap = {};
  private readonly partitionCounts: Record<string, number> = {};
  /** Marks noted for a batch, moved into markMap when an update records the batch's offset. */
  private readonly notedMarks = new Map<string, { next: string; mark: RecordMark }>();
  private readonly mutex = new Mutex();
  /** One write at a time, in copy order: two at once would take the same generation and share one reply slot. */
  private readonly writeMutex = new Mutex();
  private readonly logger: FrameLogger;
  private worker?: Worker;
  /** The next worker's heap bound (StorableFrameOptions.workerHeapMb, doubled after each out-of-memory end). */
  private workerHeapMb: number;
  private pending?: { resolve(r: WriteResult): void; reject(e: Error): void };
  private generation = 0;
  private changedSinceSnapshot = false;
  private timer?: NodeJS.Timeout;
  private periodicRun?: Promise<void>;
  /** Longest and latest time updates were blocked by a snapshot copy, in ms. */
  readonly stats = { snapshots: 0, failures: 0, maxCopyMs: 0, lastCopyMs: 0, maxTransferMs: 0 };

  constructor(private readonly opts: StorableFrameOptions<K, Row>) {
    this.logger = opts.logger ?? silent;
    this.workerHeapMb = opts.workerHeapMb ?? SNAPSHOT_WORKER_HEAP_MB;
    this.rows = new FrameTable(opts.columns);
  }

  get size(): number {
    return this.rows.size;
  }

  /**
   * Loads the current snapshot generation, if there is one. Returns whether it did. When CURRENT's
   * generation is unreadable (a disk error, a hand edit), falls back to the newest older generation that
   * reads completely, and says so; throws only when none does.
   */
  async load(): Promise<boolean> {
    return this.mutex.runExclusive(() => {
      const stateDir = this.opts.stateDir;
      const currentPath = join(stateDir, CURRENT_FILE);
      if (!existsSync(currentPath)) return false;
      const currentName = readFileSync(currentPath, 'utf8').trim();
      const currentGen = /^gen-(\d+)$/.exec(currentName) ? Number(currentName.slice(4)) : Infinity;
      // CURRENT's generation first, then older complete ones (never a newer one: its offsets were never committed).
      const older = readdirSync(stateDir)
        .map((e) => /^gen-(\d+)$/.exec(e))
        .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) < currentGen)
        .map((m) => Number(m[1]))
        .sort((a, b) => b - a)
        .map(generationDirName);
      const failures: string[] = [];
      for (const genName of [currentName, ...older]) {
        const dir = join(stateDir, genName);
        let loaded: { meta: SnapshotMeta; records: Record<string, string>[] };
        try {
          loaded = readGeneration(dir);
        } catch (e) {
          failures.push((e as Error).message);
          this.logger.error(`${this.opts.name} snapshot ${dir} is unreadable${genName === currentName ? ' (CURRENT names it)' : ''}`, {
            error: (e as Error).message,
          });
          continue;
        }
        this.apply(loaded.meta, loaded.records);
        if (genName !== currentName) {
          this.logger.warn(
            `restored ${this.opts.name} from the older generation ${dir}: CURRENT's ${currentName} is unreadable; its later messages are read again from Kafka`,
          );
        }
        this.logger.info(`restored ${this.opts.name} snapshot`, { dir, rows: loaded.meta.rows, offsets: loaded.meta.offsets });
        return true;
      }
      throw new Error(`no readable ${this.opts.name} snapshot in ${stateDir}: ${failures.join('; ')}`);
    });
  }

  private apply(meta: SnapshotMeta, records: Record<string, string>[]): void {
    this.rows.clear();
    for (const rec of records) {
      const [k, row] = this.opts.fromRecord(rec);
      this.rows.set(k, row);
    }
    for (const map of [this.offsetMap, this.markMap, this.partitionCounts]) for (const key of Object.keys(map)) delete map[key];
    for (const [topic, parts] of Object.entries(meta.offsets)) this.offsetMap[topic] = { ...parts };
    for (const [topic, parts] of Object.entries(meta.marks ?? {})) this.markMap[topic] = { ...parts };
    Object.assign(this.partitionCounts, meta.partitions ?? {});
    this.generation = meta.generation;
  }

  /** The next offset to read per topic and partition, as of the last update (a copy). */
  offsets(): OffsetMap {
    return JSON.parse(JSON.stringify(this.offsetMap));
  }

  /** Next offset to read for one partition, or undefined when the frame has seen none of it. */
  nextOffset(topic: string, partition: number): string | undefined {
    return this.offsetMap[topic]?.[String(partition)];
  }

  /** The record the partition's offset was recorded after (see RecordMark), if it was noted. */
  lastRecord(topic: string, partition: number): RecordMark | undefined {
    return this.markMap[topic]?.[String(partition)];
  }

  /** Partition count of a topic when the state was built (undefined in snapshots from before it was kept). */
  partitionCount(topic: string): number | undefined {
    return this.partitionCounts[topic];
  }

  /** Records a topic's partition count; saved with the next snapshot. */
  setPartitionCount(topic: string, count: number): void {
    this.partitionCounts[topic] = count;
  }

  /**
   * Notes that the record before offset `next` of a partition is `mark`; an update that records `next` for
   * that partition keeps the mark with the offset. Lets the consumer attach marks without every handler
   * passing them along.
   */
  noteLastRecord(topic: string, partition: number, next: string, mark: RecordMark): void {
    this.notedMarks.set(`${topic}:${partition}`, { next, mark });
  }

  /**
   * Runs `fn` under the lock. `fn` may change rows (by `set`ting new ones: rows are frozen) and must record, with `recordOffset`, the next offset
   * of every partition whose messages it applied. It may await (e.g. a publish): the snapshot waits.
   */
  async update<T>(
    fn: (
      rows: FrameTable<K, Row>,
      recordOffset: (topic: string, partition: number, next: string, mark?: RecordMark) => void,
    ) => T | Promise<T>,
  ): Promise<T> {
    return this.mutex.runExclusive(() => {
      this.changedSinceSnapshot = true;
      return fn(this.rows, (topic, partition, next, mark) => {
        (this.offsetMap[topic] ??= {})[String(partition)] = next;
        const noted = this.notedMarks.get(`${topic}:${partition}`);
        const m = mark ?? (noted?.next === next ? noted.mark : undefined);
        // A mark of an older offset would not describe this one: drop it (the range checks still apply).
        if (m) (this.markMap[topic] ??= {})[String(partition)] = m;
        else delete this.markMap[topic]?.[String(partition)];
      });
    });
  }

  /**
   * Drops whatever the frame holds of these partitions (their rows, as `rowPartition` places them, and
   * their offsets and marks in every topic): the instance no longer owns them. Returns the rows dropped.
   */
  async dropPartitions(partitions: number[], rowPartition: (key: K, row: Row) => number): Promise<number> {
    if (partitions.length === 0) return 0;
    const drop = new Set(partitions);
    return this.mutex.runExclusive(() => {
      const keys = [...this.rows.entries()].filter(([k, row]) => drop.has(rowPartition(k, row))).map(([k]) => k);
      for (const k of keys) this.rows.delete(k);
      for (const map of [this.offsetMap, this.markMap] as Record<string, Record<string, unknown>>[])
        for (const parts of Object.values(map)) for (const p of partitions) delete parts[String(p)];
      this.changedSinceSnapshot = true;
      return keys.length;
    });
  }

  /**
   * Moves a partition's offset forward past records that hold nothing for the state (transaction markers);
   * never backwards. The mark goes: the record before the new offset is no data record.
   */
  async advance(topic: string, partition: number, next: string): Promise<void> {
    await this.mutex.runExclusive(() => {
      const cur = this.offsetMap[topic]?.[String(partition)];
      if (cur !== undefined && BigInt(cur) >= BigInt(next)) return;
      (this.offsetMap[topic] ??= {})[String(partition)] = next;
      delete this.markMap[topic]?.[String(partition)];
      this.changedSinceSnapshot = true;
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
    // The copy is queued on the table's lock at once (updates queued after this call are not in it); the
    // write waits for earlier snapshots' writes, so generations follow the order of the copies.
    const copied = await this.mutex.runExclusive(() => {
      if (!this.changedSinceSnapshot && !opts.force) return null;
      const t0 = performance.now();
      const table = this.rows.copyColumns();
      const offsets = this.offsets();
      const marks = JSON.parse(JSON.stringify(this.markMap)) as MarkMap;
      const partitions = { ...this.partitionCounts };
      this.changedSinceSnapshot = false;
      return { table, offsets, marks, partitions, copyMs: performance.now() - t0 };
    });
    if (!copied) return null;
    this.stats.lastCopyMs = copied.copyMs;
    this.stats.maxCopyMs = Math.max(this.stats.maxCopyMs, copied.copyMs);
    return this.writeMutex.runExclusive(() => this.writeCopy(copied));
  }

  private async writeCopy(copied: {
    table: ColumnarCopy;
    offsets: OffsetMap;
    marks: MarkMap;
    partitions: Record<string, number>;
    copyMs: number;
  }): Promise<SnapshotInfo> {
    const generation = this.generation + 1;
    const req: WriteRequest = {
      stateDir: this.opts.stateDir,
      generation,
      table: copied.table,
      offsets: copied.offsets,
      marks: copied.marks,
      partitions: copied.partitions,
      outputFile: this.opts.outputFile,
      keepPrevious: this.opts.keepPrevious ?? 1,
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
          error: err.message,
          code: err.code,
          path: err.path,
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
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
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
    const entry = this.opts.worker ?? workerEntry();
    const heapMb = this.workerHeapMb;
    const worker = new Worker(entry.file, {
      execArgv: entry.execArgv,
      workerData: entry.workerData,
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
    });
    worker.on('message', (msg: { ok: boolean; result?: WriteResult; error?: { message: string; code?: string; path?: string } }) => {
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (msg.ok) p.resolve(msg.result as WriteResult);
      else p.reject(new SnapshotError(msg.error?.message ?? 'snapshot write failed', msg.error?.code, msg.error?.path));
    });
    // The pending write belongs to the current worker: a replaced worker's late events must not settle it.
    const fail = (e: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if ((e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.workerHeapMb = heapMb * 2;
        this.logger.warn(
          `snapshot worker of ${this.opts.name} ran out of its ${heapMb} MB heap; the next one gets ${this.workerHeapMb} MB`,
        );
      }
      this.pending?.reject(e);
      this.pending = undefined;
    };
    worker.on('error', fail);
    // A worker can also end without an 'error' (process.exit in it, an OOM kill of the thread): without this
    // the snapshot would wait forever, and with it every later snapshot and commit.
    worker.on('exit', (code) => fail(new SnapshotError(`snapshot worker exited (code ${code}) before finishing the write`, 'EWORKEREXIT')));
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

/** Reads one generation directory, checking that table and offsets are complete and agree. */
export function readGeneration(dir: string): { meta: SnapshotMeta; records: Record<string, string>[]; fields: string[] } {
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8')) as SnapshotMeta;
  } catch (e) {
    throw new Error(`${join(dir, META_FILE)}: ${(e as Error).message}`);
  }
  if (typeof meta?.generation !== 'number' || typeof meta.rows !== 'number' || typeof meta.offsets !== 'object' || meta.offsets === null) {
    throw new Error(`${join(dir, META_FILE)}: not a snapshot description (generation, rows and offsets are required)`);
  }
  let text: string;
  try {
    text = readFileSync(join(dir, TABLE_FILE), 'utf8');
  } catch (e) {
    throw new Error(`${join(dir, TABLE_FILE)}: ${(e as Error).message}`);
  }
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, delimiter: ';', skipEmptyLines: true });
  if (parsed.errors.length) {
    throw new Error(`snapshot ${join(dir, TABLE_FILE)} is unreadable: row ${parsed.errors[0].row}: ${parsed.errors[0].message}`);
  }
  if (parsed.data.length !== meta.rows) {
    throw new Error(`snapshot ${dir} has ${parsed.data.length} rows, its ${META_FILE} says ${meta.rows}`);
  }
  return { meta, records: parsed.data, fields: parsed.meta.fields ?? [] };
}
