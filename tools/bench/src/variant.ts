// One configuration the bench runs (a column of its table); a module of its own so that the parts that
// expand configurations (api-load.ts) need not import bench.ts.
export interface Variant {
  name: string;
  /** Extra service environment, e.g. { PUBLISH_BATCH_SIZE: '5000' }. */
  env: Record<string, string>;
  /** Instances of this configuration (default: the bench's --processors / --sinks). */
  processors?: number;
  sinks?: number;
  /** Database modes: the sink and/or the processor keep their state in PostgreSQL (a database per run). */
  database?: { sink: boolean; processor: boolean };
  /** Every consumer instance a static member of its group (GROUP_INSTANCE_ID per instance, see PipelineRun). */
  staticMembership?: boolean;
  /** Concurrent API clients driven against the sinks during the run (0 or absent: none). */
  apiClients?: number;
}
