// One table from the states of several instances that share a topic's partitions. Each instance's state
// holds the partitions it owns; an instance that lost a partition may still hold an older copy of it, so
// every partition is taken from the instance that got furthest in it (highest offsets), and only that
// partition's rows of that instance.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGeneration } from './storable-frame';
import { ColumnarCopy, CURRENT_FILE, OffsetMap, SnapshotMeta } from './types';
import { publishOutput, tablePieces } from './write-generation';

export interface MergeSnapshotsOptions {
  /** One state directory (CURRENT, gen-N/) per instance. */
  stateDirs: string[];
  /** The merged CSV, replaced atomically. */
  outputFile: string;
  /** The topics whose partitions the instances divide (co-partitioned: the same count each), e.g. ['ratings']. */
  topics: string[];
  /** The partition a table row belongs to, given the topics' partition count. */
  partitionOf(record: Record<string, string>, partitionCount: number): number;
}

export interface MergedPartition {
  partition: number;
  /** The state directory its rows came from. */
  from: string;
  /** That state's next offset of this partition, per topic (absent: the state has none for that topic). */
  offsets: Record<string, string>;
}

export interface MergeResult {
  rows: number;
  partitions: MergedPartition[];
  /** Choices that were not clear-cut (no instance ahead on every topic), and instances without a snapshot. */
  warnings: string[];
}

interface InstanceState {
  dir: string;
  meta: SnapshotMeta;
  fields: string[];
  records: Record<string, string>[];
}

/** Retries when a newer generation replaced CURRENT's between reading CURRENT and reading its files. */
const READ_ATTEMPTS = 10;

/**
 * CURRENT's generation of a state directory, table and offsets of the same generation; undefined when the
 * directory holds no snapshot. A running instance may write a newer generation (and remove older ones)
 * while this reads: then CURRENT is read again.
 */
export function readCurrentState(
  stateDir: string,
  /** Tests: runs between reading CURRENT and reading its generation (where a writer may replace it). */
  afterCurrent?: (name: string) => void,
): { meta: SnapshotMeta; fields: string[]; records: Record<string, string>[] } | undefined {
  const currentPath = join(stateDir, CURRENT_FILE);
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    if (!existsSync(currentPath)) return undefined;
    const name = readFileSync(currentPath, 'utf8').trim();
    afterCurrent?.(name);
    try {
      return readGeneration(join(stateDir, name));
    } catch (e) {
      lastError = e as Error;
      // Only a generation that vanished because CURRENT moved on is worth another try; anything else is a broken state.
      const moved = existsSync(currentPath) && readFileSync(currentPath, 'utf8').trim() !== name;
      if (!moved) break;
    }
  }
  throw new Error(`cannot read the state in ${stateDir}: ${lastError?.message}`);
}

/** Next offsets as BigInt; -1 for a partition the state has none of (below every real offset). */
function offsetOf(meta: SnapshotMeta, topic: string, partition: number): bigint {
  const v = meta.offsets[topic]?.[String(partition)];
  return v === undefined ? -1n : BigInt(v);
}

function partitionOffsets(offsets: OffsetMap, topics: string[], partition: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of topics) {
    const v = offsets[t]?.[String(partition)];
    if (v !== undefined) out[t] = v;
  }
  return out;
}

function byMovieId(fields: string[]): (a: Record<string, string>, b: Record<string, string>) => number {
  const key = fields[0];
  return (a, b) => {
    const x = Number(a[key]);
    const y = Number(b[key]);
    if (x !== y && !Number.isNaN(x) && !Number.isNaN(y)) return x - y;
    return a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0;
  };
}

/**
 * Merges the instances' current snapshots into `outputFile`: for each partition the rows of the instance
 * with the highest offsets for it. Refuses (throws) when the instances disagree on partition counts or
 * headers, or when a partition is in no instance's state. Rows are written in ascending first-column
 * (movieId) order, serialized exactly as a snapshot's table.csv.
 */
export function mergeSnapshots(opts: MergeSnapshotsOptions): MergeResult {
  if (opts.topics.length === 0) throw new Error('mergeSnapshots: no ownership topics given');
  const warnings: string[] = [];
  const states: InstanceState[] = [];
  for (const dir of opts.stateDirs) {
    const s = readCurrentState(dir);
    if (s) states.push({ dir, ...s });
    else warnings.push(`${dir} holds no snapshot (the instance saved none); its partitions must come from the others`);
  }
  if (states.length === 0) throw new Error(`no snapshot in any of ${opts.stateDirs.join(', ')}: nothing to merge`);

  // One partition count for all topics and instances: partition p means the same movies everywhere.
  let count: number | undefined;
  let countFrom = '';
  for (const s of states) {
    for (const t of opts.topics) {
      const n = s.meta.partitions?.[t];
      if (n === undefined) {
        // A state that holds none of the topics' partitions (an instance that owned none) needs no count.
        if (opts.topics.every((x) => Object.keys(s.meta.offsets[x] ?? {}).length === 0)) continue;
        throw new Error(`${s.dir}: the state has no partition count of ${t} (written before counts were kept?)`);
      }
      if (count === undefined) {
        count = n;
        countFrom = `${t} in ${s.dir}`;
      } else if (n !== count) {
        throw new Error(
          `partition counts differ: ${t} has ${n} partitions in ${s.dir}, ${countFrom} has ${count}; the states cannot be merged`,
        );
      }
    }
  }
  if (count === undefined) throw new Error(`no state in ${opts.stateDirs.join(', ')} holds a partition of ${opts.topics.join('/')}`);
  const partitionCount = count;
  const fields = states[0].fields;
  for (const s of states) {
    if (s.fields.join(';') !== fields.join(';')) {
      throw new Error(`the tables' columns differ: ${s.dir} has ${s.fields.join(';')}, ${states[0].dir} has ${fields.join(';')}`);
    }
  }

  const partitions: MergedPartition[] = [];
  const chosen: InstanceState[] = [];
  for (let p = 0; p < partitionCount; p++) {
    const holders = states.filter((s) => opts.topics.some((t) => s.meta.offsets[t]?.[String(p)] !== undefined));
    if (holders.length === 0) {
      throw new Error(`partition ${p} of ${opts.topics.join('/')} is in no instance's state: its movies would be missing`);
    }
    // The first instance at least as far as every other on every topic; else the highest sum of offsets.
    let pick = holders.find((a) => holders.every((b) => opts.topics.every((t) => offsetOf(a.meta, t, p) >= offsetOf(b.meta, t, p))));
    if (!pick) {
      const sum = (s: InstanceState) =>
        opts.topics.reduce((acc, t) => acc + (offsetOf(s.meta, t, p) < 0n ? 0n : offsetOf(s.meta, t, p)), 0n);
      pick = holders.reduce((best, s) => (sum(s) > sum(best) ? s : best));
      const all = holders.map((s) => `${s.dir} ${JSON.stringify(partitionOffsets(s.meta.offsets, opts.topics, p))}`).join(', ');
      warnings.push(`partition ${p}: no instance is ahead on every topic (${all}); took ${pick.dir}, the highest sum of offsets`);
    }
    chosen.push(pick);
    partitions.push({ partition: p, from: pick.dir, offsets: partitionOffsets(pick.meta.offsets, opts.topics, p) });
  }

  const rows: Record<string, string>[] = [];
  for (const s of new Set(chosen)) {
    for (const [i, rec] of s.records.entries()) {
      const p = opts.partitionOf(rec, partitionCount);
      if (!Number.isInteger(p) || p < 0 || p >= partitionCount) {
        throw new Error(
          `${s.dir}: row ${i + 1} (${fields[0]} ${rec[fields[0]]}) maps to partition ${p}, not one of 0..${partitionCount - 1}`,
        );
      }
      if (chosen[p] === s) rows.push(rec);
    }
  }
  rows.sort(byMovieId(fields));

  // All columns as the text the snapshots hold: tablePieces writes them back exactly as table.csv has them.
  const table: ColumnarCopy = {
    names: fields,
    kinds: fields.map(() => 'string'),
    rowCount: rows.length,
    numbers: fields.map(() => null),
    strings: fields.map((f) => rows.map((r) => r[f])),
  };
  publishOutput(tablePieces(table), opts.outputFile);
  return { rows: rows.length, partitions, warnings };
}

/** Where instances of a service keep their output, under a directory they share: `<dir>/instances/<service>-<n>`. */
export const INSTANCES_DIR = 'instances';

/** The state directory of each instance of `service` under `<dir>/instances` (`<service>-<n>/.state/<service>`), in instance order. */
export function instanceStateDirs(dir: string, service: string): string[] {
  const root = join(dir, INSTANCES_DIR);
  if (!existsSync(root)) return [];
  const pattern = new RegExp(`^${service.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`);
  return readdirSync(root)
    .map((e) => pattern.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => join(root, m[0], '.state', service));
}
