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

export interface WriteRequest {
  stateDir: string;
  generation: number;
  table: ColumnarCopy;
  offsets: OffsetMap;
  /** The user-facing CSV, replaced atomically by a hard link to the generation's table (copy if linking fails). */
  outputFile?: string;
  /** Generations kept besides the new one (for inspection; only CURRENT's is ever read). */
  keepPrevious: number;
}

export interface WriteResult {
  generation: number;
  dir: string;
  rows: number;
  bytes: number;
  serializeMs: number;
  writeMs: number;
}

export interface SnapshotMeta {
  version: 1;
  generation: number;
  createdAt: string;
  rows: number;
  offsets: OffsetMap;
}

export const TABLE_FILE = 'table.csv';
export const META_FILE = 'offsets.json';
export const CURRENT_FILE = 'CURRENT';
export const generationDirName = (g: number) => `gen-${String(g).padStart(9, '0')}`;
