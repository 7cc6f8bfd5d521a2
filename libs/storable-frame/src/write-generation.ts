import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Papa from 'papaparse';
import { ColumnarCopy, CURRENT_FILE, generationDirName, META_FILE, SnapshotMeta, TABLE_FILE, WriteRequest, WriteResult } from './types';

// Runs in the snapshot worker thread (and directly in unit tests). Crash safety comes from the order:
// everything of generation N is written and fsynced inside gen-N.tmp, the directory is renamed to gen-N,
// and only then CURRENT is replaced (write CURRENT.tmp, fsync, rename). A crash at any point leaves
// CURRENT naming a complete generation: table and offsets always agree.

function writeFileDurably(path: string, data: string): number {
  const fd = openSync(path, 'w');
  try {
    const buf = Buffer.from(data, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    return buf.length;
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

export function serializeTable(table: ColumnarCopy): string {
  const rows: string[][] = new Array(table.rowCount);
  for (let r = 0; r < table.rowCount; r++) {
    const row = new Array<string>(table.names.length);
    for (let c = 0; c < table.names.length; c++) {
      const nums = table.numbers[c];
      row[c] = nums ? formatNumber(nums[r]) : (table.strings[c] as string[])[r];
    }
    rows[r] = row;
  }
  // RFC 4180 quoting (fields with ; " or newlines are quoted, quotes doubled); header row; trailing newline.
  const csv = Papa.unparse({ fields: table.names, data: rows }, { delimiter: ';', newline: '\n', quotes: false });
  return csv.endsWith('\n') ? csv : csv + '\n'; // papaparse ends a header-only table with a newline already
}

export function writeGeneration(req: WriteRequest): WriteResult {
  const t0 = performance.now();
  const csv = serializeTable(req.table);
  const meta: SnapshotMeta = {
    version: 1,
    generation: req.generation,
    createdAt: new Date().toISOString(),
    rows: req.table.rowCount,
    offsets: req.offsets,
    ...(req.marks ? { marks: req.marks } : {}),
    ...(req.partitions ? { partitions: req.partitions } : {}),
  };
  const t1 = performance.now();

  mkdirSync(req.stateDir, { recursive: true });
  const name = generationDirName(req.generation);
  const dir = join(req.stateDir, name);
  const tmpDir = `${dir}.tmp`;
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir);
  const bytes = writeFileDurably(join(tmpDir, TABLE_FILE), csv);
  writeFileDurably(join(tmpDir, META_FILE), JSON.stringify(meta, null, 1) + '\n');
  fsyncDir(tmpDir);
  rmSync(dir, { recursive: true, force: true }); // a gen-N left by a crash before its CURRENT switch
  renameSync(tmpDir, dir);
  fsyncDir(req.stateDir);
  writeFileDurably(join(req.stateDir, `${CURRENT_FILE}.tmp`), name + '\n');
  renameSync(join(req.stateDir, `${CURRENT_FILE}.tmp`), join(req.stateDir, CURRENT_FILE));
  fsyncDir(req.stateDir);

  if (req.outputFile) publishOutput(csv, req.outputFile);
  removeOldGenerations(req.stateDir, req.generation, req.keepPrevious);
  return { generation: req.generation, dir, rows: req.table.rowCount, bytes, serializeMs: t1 - t0, writeMs: performance.now() - t1 };
}

// The user's copy is a file of its own, not a hard link to the generation's table: a link would make an
// in-place edit of the output (an editor, `sed -i` on some systems, a script appending) edit the saved state.
// Written to a temp file and renamed over the old one, so a reader never sees a half-written table.
export function publishOutput(csv: string, target: string): void {
  const outDir = dirname(target);
  mkdirSync(outDir, { recursive: true });
  const tmp = join(outDir, `.${basename(target)}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  writeFileDurably(tmp, csv);
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
