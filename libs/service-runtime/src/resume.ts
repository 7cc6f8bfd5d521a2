import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { PartitionTail, TopicRecord } from '@movie-stream/messaging';

/** Where a message comes from: its source (a hash, never 0) and its 1-based row among the source's accepted rows. */
export interface SourcePosition {
  sourceId: number;
  sourceRow: number;
}

const HEAD_BYTES = 64 * 1024;

/**
 * The name a file is known by when no source id is given: base name, size and a hash of the first 64 KiB. The
 * same command on the same file gives the same name; a different file (almost always) another one.
 */
export function defaultSourceName(file: string): string {
  const size = statSync(file).size;
  const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return `${basename(file)}:${size}:${createHash('sha256').update(head).digest('hex').slice(0, 16)}`;
}

/** A source name as the 32-bit id every message carries (0 is reserved for "no source"). */
export function sourceIdOf(name: string): number {
  const id = createHash('sha256').update(name, 'utf8').digest().readUInt32BE(0);
  return id === 0 ? 1 : id;
}

export interface ResumePoint {
  partition: number;
  /** The last row of ours the partition holds: every row of ours that maps to it up to here is there. */
  sourceRow: number;
  record: TopicRecord;
}

export interface ResumePlan {
  partitions: number;
  /** Per partition: rows of ours that map to it with sourceRow <= this are already published (0: none). */
  skipThrough: number[];
  points: ResumePoint[];
  /** Non-empty partitions whose last record is not ours: everything of ours is published to them again. */
  foreign: { partition: number; offset?: string; sourceId?: number }[];
}

/**
 * What a re-run can skip, from the last record of each partition. The publisher keeps each partition in row
 * order without gaps (idempotent, one batch in flight), so a partition ending with our row R holds all our
 * rows for that partition up to R, and none after.
 */
export function planResume(
  tails: PartitionTail[],
  sourceId: number,
  positionOf: (value: Buffer) => SourcePosition | undefined,
): ResumePlan {
  const plan: ResumePlan = { partitions: tails.length, skipThrough: new Array<number>(tails.length).fill(0), points: [], foreign: [] };
  for (const t of tails) {
    if (BigInt(t.high) <= BigInt(t.low)) continue; // empty (or emptied by retention): nothing of ours
    const pos = t.last?.value ? positionOf(t.last.value) : undefined;
    if (t.last && pos && pos.sourceId === sourceId && pos.sourceRow > 0) {
      plan.skipThrough[t.partition] = pos.sourceRow;
      plan.points.push({ partition: t.partition, sourceRow: pos.sourceRow, record: t.last });
    } else {
      plan.foreign.push({ partition: t.partition, offset: t.last?.offset, sourceId: pos?.sourceId });
    }
  }
  return plan;
}

/** Whether a message we would publish is byte for byte the record already on the topic. */
export function sameRecord(message: { key?: Buffer | string | null; value: Buffer | string | null }, record: TopicRecord): boolean {
  const key = message.key == null ? null : Buffer.from(message.key);
  const value = message.value == null ? null : Buffer.from(message.value);
  const eq = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : a.equals(b));
  return eq(key, record.key) && eq(value, record.value);
}
