import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Papa from 'papaparse';
import { ColumnarCopy, CURRENT_FILE, generationDirName, META_FILE, SnapshotMeta, TABLE_FILE, WriteRequest, WriteResult } from './types';

// Runs in the snapshot worker thread (and directly in unit tests). Crash safety comes from the order:
// everything of generation N is written and fsynced inside gen-N.tmp, the directory is renamed to gen-N,
// and only then CURRENT is replaced (write CURRENT.tmp, fsync, rename). A crash at any point leaves
// CURRENT naming a complete generation: table and offsets always agree.

function writeFileDurably(path: string, data: string | Iterable<string>): number {
  const fd = openSync(path, 'w');
  try {
    let bytes = 0;
    for (const part of typeof data === 'string' ? [data] : data) {
      const buf = Buffer.from(part, 'utf8');
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      bytes += buf.length;
    }
    fsyncSync(fd);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function formatNumber(x: number): string {
  // String(x) is the shortest text that parses back to exactly x: full precision, no rounding.
  return Number.isNaN(x) ? '' : String(x);
}

/** Rows per piece of the CSV text: the worker holds one piece at a time, not the whole table's text. */
const ROWS_PER_PIECE = 4096;

/**
 * The table as CSV text, piece by piece (the header, then up to ROWS_PER_PIECE rows each, every piece ending
 * with a newline): RFC 4180 quoting (fields with ; " or newlines are quoted, quotes doubled).
 */
export function* tablePieces(table: ColumnarCopy): Generator<string> {
  const options = { delimiter: ';', newline: '\n', quotes: false };
  yield Papa.unparse([table.names], options) + '\n';
  for (let from = 0; from < table.rowCount; from += ROWS_PER_PIECE) {
    const to = Math.min(table.rowCount, from + ROWS_PER_PIECE);
    const rows: string[][] = new Array(to - from);
    for (let r = from; r < to; r++) {
      const row = new Array<string>(table.names.length);
      for (let c = 0; c < table.names.length; c++) {
        const nums = table.numbers[c];
        row[c] = nums ? formatNumber(nums[r]) : (table.strings[c] as string[])[r];
      }
      rows[r - from] = row;
    }
    yield Papa.unparse(rows, options) + '\n';
  }
}

/** The whole table as CSV text, header row first, ending with a newline. */
export function serializeTable(table: ColumnarCopy): string {
  return [...tablePieces(table)].join('');
}

export function writeGeneration(req: WriteRequest): WriteResult {
  const t0 = performance.now();
  const meta: SnapshotMeta = {
    version: 1,
    generation: req.generation,
    createdAt: new Date().toISOString(),
    rows: req.table.rowCount,
    offsets: req.offsets,
    ...(req.marks ? { marks: req.marks } : {}),
    ...(req.partitions ? { partitions: req.partitions } : {}),
  };

  mkdirSync(req.stateDir, { recursive: true });
  const name = generationDirName(req.generation);
  const dir = join(req.stateDir, name);
  const tmpDir = `${dir}.tmp`;
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir);
  // Written piece by piece as it is made: the whole table's text (and its bytes) is never held at once.
  const bytes = writeFileDurably(join(tmpDir, TABLE_FILE), tablePieces(req.table));
  writeFileDurably(join(tmpDir, META_FILE), JSON.stringify(meta, null, 1) + '\n');
  fsyncDir(tmpDir);
  rmSync(dir, { recursive: true, force: true }); // a gen-N left by a crash before its CURRENT switch
  renameSync(tmpDir, dir);
  fsyncDir(req.stateDir);
  writeFileDurably(join(req.stateDir, `${CURRENT_FILE}.tmp`), name + '\n');
  renameSync(join(req.stateDir, `${CURRENT_FILE}.tmp`), join(req.stateDir, CURRENT_FILE));
  fsyncDir(req.stateDir);

  if (req.outputFile) publishCopy(join(dir, TABLE_FILE), req.outputFile);
  removeOldGenerations(req.stateDir, req.generation, req.keepPrevious);
  return { generation: req.generation, dir, rows: req.table.rowCount, bytes, writeMs: performance.now() - t0 };
}

// The user's copy is a file of its own, not a hard link to the generation's table: a link would make an
// in-place edit of the output (an editor, `sed -i` on some systems, a script appending) edit the saved state.
// Written to a temp file and renamed over the old one, so a reader never sees a half-written table.
export function publishOutput(csv: string | Iterable<string>, target: string): void {
  replaceFile(target, (tmp) => writeFileDurably(tmp, csv));
}

/** `target` replaced by a copy of the file `from` (written to a temp file, fsynced, renamed over it). */
function publishCopy(from: string, target: string): void {
  replaceFile(target, (tmp) => {
    copyFileSync(from, tmp);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

function replaceFile(target: string, write: (tmp: string) => void): void {
  const outDir = dirname(target);
  mkdirSync(outDir, { recursive: true });
  const tmp = join(outDir, `.${basename(target)}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  write(tmp);
  renameSync(tmp, target);
}

function removeOldGenerations(stateDir: string, current: number, keepPrevious: number): void {
  for (const entry of readdirSync(stateDir)) {
    const m = /^gen-(\d+)(\.tmp)?$/.exec(entry);
    if (!m) continue;
    const g = Number(m[1]);
    if (m[2] || g < current - keepPrevious) rmSync(join(stateDir, entry), { recursive: true, force: true });
  }
}
