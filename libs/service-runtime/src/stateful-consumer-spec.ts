// What a table-keeping consumer (runStatefulConsumer, stateful-consumer-service.ts) is given and returns. A
// module of its own so that the file backend (file-state-backend.ts) and consumer-service.ts use these
// types without importing stateful-consumer-service.ts, which imports both of them.
import type { CoalesceOptions, PartitionBatch, Publisher } from '@movie-stream/messaging';
import type { ColumnSpec, StorableFrame } from '@movie-stream/storable-frame';
import type { Changelog, PartitionedState } from './partition-owner';
import type { ServiceContext } from './run-service';

/** The options a table-keeping consumer reads (besides the common ones). */
export const STATEFUL_CONSUMER_OPTIONS = [
  'outDir',
  'sharedOutDir',
  'stateDir',
  'resetState',
  'snapshotIntervalMs',
  'snapshotWorkerHeapMb',
  'groupId',
  'sessionTimeoutMs',
  'heartbeatIntervalMs',
  'groupInstanceId',
  'retryTimeoutMs',
  'fetchMaxBytesPerPartition',
  'fetchMaxBytes',
  'fetchMinBytes',
  'fetchMaxWaitMs',
  'acks',
  'compression',
  'idempotent',
] as const;

export interface StatefulConsumerSpec<K, Row> {
  ctx: ServiceContext<(typeof STATEFUL_CONSUMER_OPTIONS)[number]>;
  /** Table name: the snapshot is <out>/<name>.csv. */
  name: string;
  columns: ColumnSpec<Row>[];
  fromRecord(rec: Record<string, string>): [K, Row];
  /** Co-partitioned topics: partition p of each belongs to one instance. */
  topics: string[];
  /** Topics that must have the same partition count as `topics` (e.g. the output written partition by partition). */
  coPartitionedWith?: string[];
  /** The output topic that is also the state's changelog: restores read it, and batches are written through a fenced writer. */
  changelog?: Changelog<K, Row>;
  /**
   * Applies one partition's batch. Must do all its changes inside `frame.update` and record
   * `batch.nextOffset` there (so state and offsets move together). With a changelog, `state.writer(p)` is
   * the partition's fenced writer.
   */
  handle(batch: PartitionBatch, frame: StorableFrame<K, Row>, publisher: Publisher, state: PartitionedState<K, Row>): Promise<void>;
  /**
   * Once the saved state is loaded, before consuming (e.g. mount the API over the frame's table). `serving`
   * says which partitions the consumer serves (none until it started and claimed some).
   */
  ready?(frame: StorableFrame<K, Row>, serving: Serving): void;
  /** This instance's API base URL, advertised to the group (see ConsumerServiceSpec.endpoint). */
  endpoint?: () => string | undefined;
  /** Hand `handle` consecutive batches of a partition merged (see CheckpointedConsumerOptions.coalesce); off when absent. */
  coalesce?: CoalesceOptions;
}

/** Which partition indices the consumer serves now (claimed, restored and consumed here), each with when it was claimed (ms). */
export interface Serving {
  running(): ReadonlyMap<number, number>;
}

export interface StatefulConsumerResult {
  rows: number;
  snapshots: number;
  maxCopyMs: number;
  skippedReplays: number;
}
