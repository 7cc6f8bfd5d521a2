/** Next offset to read (last processed + 1), per topic and partition, as Kafka's decimal strings. */
export type OffsetMap = Record<string, Record<string, string>>;

/** One column of the snapshot CSV. `get` returning undefined (or NaN) writes an empty cell. */
export interface ColumnSpec<Row> {
  name: string;
  kind: 'number' | 'string';
  get(row: Row): number | string | undefined;
}

/** The table copied out under the lock, column by column (numbers in transferable typed arrays). */
export interface ColumnarCopy {
  names: string[];
  kinds: ('number' | 'string')[];
  rowCount: number;
  numbers: (Float64Array | null)[];
  strings: (string[] | null)[];
}

/**
 * The last record a partition's offset covers (the one at offset - 1): its offset, timestamp and a hash of
 * key and value. Kept with the offset so a restart can tell the topic the state was built from from a topic
 * deleted and recreated under the same name (whose offsets restart at 0).
 */
export interface RecordMark {
  offset: string;
  timestamp: string;
  hash: string;
}

/** Per topic and partition, the record the partition's offset was recorded after. */
export type MarkMap = Record<string, Record<string, RecordMark>>;

export interface WriteRequest {
  stateDir: string;
  generation: number;
  table: ColumnarCopy;
  offsets: OffsetMap;
  marks?: MarkMap;
  /** Partition count of each consumed topic when the state was built. */
  partitions?: Record<string, number>;
  /** The user-facing CSV, replaced atomically by a copy of the generation's table (never a link: editing it must not edit the state). */
  outputFile?: string;
  /** Generations kept besides the new one (for inspection; only CURRENT's is ever read). */
  keepPrevious: number;
}

export interface WriteResult {
  generation: number;
  dir: string;
  rows: number;
  bytes: number;
  writeMs: number;
}

export interface SnapshotMeta {
  version: 1;
  generation: number;
  createdAt: string;
  rows: number;
  offsets: OffsetMap;
  /** Absent in snapshots written before marks existed; such a state is checked by offset ranges only. */
  marks?: MarkMap;
  partitions?: Record<string, number>;
}

export const TABLE_FILE = 'table.csv';
export const META_FILE = 'offsets.json';
export const CURRENT_FILE = 'CURRENT';
export const generationDirName = (g: number) => `gen-${String(g).padStart(9, '0')}`;
