export { StorableFrame, StorableFrameOptions, SnapshotInfo, SnapshotError, FrameLogger } from './storable-frame';
export { OffsetMap, ColumnSpec, SnapshotMeta, RecordMark, MarkMap, CURRENT_FILE, TABLE_FILE, META_FILE } from './types';
export { writeGeneration, serializeTable } from './write-generation';
export { FrameTable, ReadonlyFrameTable } from './frame-table';
export {
  mergeSnapshots,
  readCurrentState,
  instanceStateDirs,
  INSTANCES_DIR,
  MergeSnapshotsOptions,
  MergeResult,
  MergedPartition,
} from './merge-snapshots';
