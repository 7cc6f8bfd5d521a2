import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CheckpointedConsumer,
  CoalesceOptions,
  Compression,
  ConsumedMessage,
  deadLetter,
  deadLetterTopic,
  PartitionBatch,
  Publisher,
  keyPartitioner,
  StateMismatchError,
  TopicLayoutError,
  truncateTopic,
} from '@movie-stream/messaging';
import { ColumnSpec, instanceStateDirs, mergeSnapshots, StorableFrame } from '@movie-stream/storable-frame';
import { connectAndEnsureTopics } from './kafka-setup';
import { Changelog, PartitionedState } from './partition-owner';
import type { ServiceContext } from './run-service';

/** The options a table-keeping consumer reads (besides the common ones). */
export const STATEFUL_CONSUMER_OPTIONS = [
  'outDir',
  'sharedOutDir',
  'stateDir',
  'resetState',
  'snapshotIntervalMs',
  'groupId',
  'sessionTimeoutMs',
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
  /** Once the saved state is loaded, before consuming (e.g. mount the API over the frame's table). */
  ready?(frame: StorableFrame<K, Row>): void;
  /** Hand `handle` consecutive batches of a partition merged (see CheckpointedConsumerOptions.coalesce); off when absent. */
  coalesce?: CoalesceOptions;
}

export interface StatefulConsumerResult {
  rows: number;
  snapshots: number;
  maxCopyMs: number;
  skippedReplays: number;
}

/**
 * The life of a consumer that keeps a table: restore the snapshot, consume from the snapshot's offsets,
 * snapshot every interval and commit exactly the offsets of each durable snapshot, and on SIGTERM stop
 * fetching, write a final snapshot, commit and disconnect.
 */
export async function runStatefulConsumer<K, Row>(spec: StatefulConsumerSpec<K, Row>): Promise<StatefulConsumerResult> {
  const { ctx } = spec;
  const { config, logger, kafka, signal } = ctx;
  const brokers = config.brokers as string[];
  const outDir = config.outDir as string;
  const stateDir = (config.stateDir as string | undefined) ?? join(outDir, '.state', ctx.service);
  const outputFile = join(outDir, `${spec.name}.csv`);
  if (config.resetState) {
    // On purpose only (e.g. after a topic was recreated): the state is rebuilt from the topics as they are.
    logger.warn(
      `reset-state: deleting the saved state ${stateDir} and ${outputFile}; rebuilding from the start of ${spec.topics.join(', ')}`,
    );
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(outputFile, { force: true });
  }
  const groupId = (config.groupId as string | undefined) ?? `movie-stream.${ctx.service}`;
  const frame = new StorableFrame<K, Row>({
    name: spec.name,
    stateDir,
    outputFile,
    columns: spec.columns,
    fromRecord: spec.fromRecord,
    logger,
  });
  if (!(await frame.load())) logger.info(`no ${spec.name} snapshot: starting from the beginning of ${spec.topics.join(', ')}`);
  spec.ready?.(frame);

  const admin = kafka.admin();
  await connectAndEnsureTopics(admin, ctx);
  if (config.resetState && spec.changelog) {
    // The changelog describes the state being thrown away: a restore must not bring it back.
    logger.warn(`reset-state: deleting the records of the changelog ${spec.changelog.topic}`);
    await truncateTopic(admin, spec.changelog.topic);
  }
  const publisher = new Publisher(kafka, {
    brokers,
    logger,
    acks: config.acks as number,
    compression: config.compression as Compression,
    maxInFlight: 1,

    idempotent: (config.idempotent as boolean) && config.acks === -1,
  });
  await publisher.connect();
  const meta = ctx.createMetaReporter(publisher.rawSink());
  meta.start();

  const restores: { partition: number; source: string; ms: number }[] = [];
  ctx.health.restores = restores;
  const state = new PartitionedState<K, Row>({
    kafka,
    admin,
    brokers,
    groupId,
    topics: spec.topics,
    frame,
    logger,
    signal,
    changelog: spec.changelog,
    compression: config.compression as Compression,
    // The monitor shows restores in progress and finished from these reports on the meta topic.
    onRestoreStart: (partitions) => {
      for (const partition of partitions) meta.restoreStarted({ groupId, topic: spec.topics[0], partition });
    },
    onRestore: (info) => {
      restores.push(info);
      if (restores.length > 100) restores.shift();
      ctx.metrics.restores.inc({ source: info.source });
      ctx.metrics.restoreSeconds.observe({ source: info.source }, info.ms / 1000);
      meta.restoreFinished({ groupId, topic: spec.topics[0], ...info });
    },
  });
  const consumer = new CheckpointedConsumer({
    kafka,
    admin,
    brokers,
    logger,
    meta,
    signal,
    groupId,
    topics: spec.topics,
    owner: state,
    coPartitioned: [...spec.topics, ...(spec.coPartitionedWith ?? [])],
    checkpoint: frame,
    sessionTimeoutMs: config.sessionTimeoutMs as number,
    fetchMaxBytesPerPartition: config.fetchMaxBytesPerPartition as number,
    fetchMaxBytes: config.fetchMaxBytes as number,
    fetchMinBytes: config.fetchMinBytes as number,
    fetchMaxWaitMs: config.fetchMaxWaitMs as number,
    coalesce: spec.coalesce,
    handle: (batch) => {
      // The batch's last record goes into the state with its offset when the handler records its offset.
      frame.noteLastRecord(batch.topic, batch.partition, batch.nextOffset, batch.last);
      return spec.handle(batch, frame, publisher, state);
    },
  });
  // A state that does not belong to the topics (recreated, repartitioned) stops the service: say what to do.
  const refuse = async (e: Error): Promise<never> => {
    ctx.health.state = 'failed';
    // Exit 1 even if everything below closes cleanly: runService's failure exit is on an unref'd timer, and
    // with nothing left open the process would end first, with 0.
    process.exitCode = 1;
    await frame.stopPeriodic();
    await meta.close().catch(() => undefined);
    await consumer.stop().catch(() => undefined);
    await state.close();
    await publisher.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await frame.close();
    if (e instanceof TopicLayoutError) throw new Error(`${e.message}. Refusing to start.`);
    throw new Error(
      `${e.message}. Refusing to start on the state in ${stateDir}. To rebuild it from the topics as they are now, ` +
        'start once with --reset-state=true (or RESET_STATE=true), which deletes that state and ' +
        `${outputFile}${spec.changelog ? ` and the records of ${spec.changelog.topic}` : ''}; or point the service at the topics the state was built from.`,
    );
  };
  const mergeShared = sharedOutputMerger(spec, ctx);
  frame.startPeriodic(config.snapshotIntervalMs as number, async (info) => {
    logger.debug(`snapshot ${info.generation} written`, { rows: info.rows, copyMs: info.copyMs, writeMs: info.writeMs });
    ctx.metrics.lastSnapshotCopyMs.set(info.copyMs);
    ctx.health.lastSnapshot = { generation: info.generation, rows: info.rows, at: new Date().toISOString() };
    await consumer.commit(info.offsets);
    mergeShared();
  });
  try {
    await consumer.start();
  } catch (e) {
    if (e instanceof StateMismatchError || e instanceof TopicLayoutError) await refuse(e);
    throw e;
  }
  logger.info(`consuming ${spec.topics.join(', ')}`);
  ctx.health.state = 'running';

  // A signal during start-up has fired already: an abort listener added now would never be called.
  const mismatch = signal.aborted
    ? undefined
    : await Promise.race([
        new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true })),
        consumer.failed,
      ]);
  if (mismatch) {
    if (mismatch instanceof StateMismatchError || mismatch instanceof TopicLayoutError) await refuse(mismatch);
    await refuse(mismatch).catch(() => undefined);
    throw mismatch;
  }
  ctx.health.state = 'stopping';
  // The order matters: offsets are committed only after the snapshot that holds their effects is on
  // disk, so a stop cut short at any step (the deadline, a kill) has committed nothing beyond the state.
  ctx.step('waiting for the batch in progress and applying the held (coalesced) ones (their publishes to the output topic)');
  await consumer.pause();
  ctx.step('waiting for the periodic snapshot in progress and its commit');
  await frame.stopPeriodic();
  ctx.step('writing the final snapshot');
  const last = await frame.snapshot();
  if (last) {
    logger.info(`final snapshot ${last.generation}: ${last.rows} rows`, { file: join(outDir, `${spec.name}.csv`) });
    ctx.step(`committing the offsets of the final snapshot ${last.generation}`);
    await consumer.commit(last.offsets);
  } else {
    // Nothing changed since the last periodic snapshot: that one is final; commit its offsets (again).
    logger.info(`final snapshot is the last periodic one: ${frame.size} rows, unchanged since`, { file: join(outDir, `${spec.name}.csv`) });
    ctx.step('committing the offsets of the last periodic snapshot');
    await consumer.commit(frame.offsets());
  }
  mergeShared();
  ctx.step('sending the last meta reports');
  await meta.close();
  ctx.step('leaving the consumer group');
  await consumer.stop();
  ctx.step('disconnecting from Kafka');
  await state.close();
  await publisher.disconnect();
  await admin.disconnect();
  ctx.step('closing the snapshot writer');
  await frame.close();
  const result = {
    rows: frame.size,
    snapshots: frame.stats.snapshots,
    maxCopyMs: frame.stats.maxCopyMs,
    skippedReplays: consumer.skippedReplays,
  };
  // The service's result on stdout, for the pipeline runner and benchmarks (logs go to stderr).
  process.stdout.write(JSON.stringify({ result }) + '\n');
  return result;
}

export interface BadMessage {
  message: Pick<ConsumedMessage, 'key' | 'value' | 'offset'>;
  reason: string;
}

/**
 * Sends messages that cannot be used to `<topic>.dlq` (original bytes, headers with source topic,
 * partition, offset and error) and logs each with where it is and why. Call inside `frame.update` before
 * recording the batch's offset, so a crash cannot lose them.
 */
export async function sendToDeadLetterQueue(
  ctx: { service: string; logger: ServiceContext<never>['logger'] },
  publisher: Publisher,
  batch: { topic: string; partition: number },
  bad: BadMessage[],
): Promise<void> {
  if (bad.length === 0) return;
  for (const b of bad.slice(0, 20)) {
    ctx.logger.warn('unusable message sent to the dead-letter topic', {
      topic: batch.topic,
      partition: batch.partition,
      offset: b.message.offset,
      reason: b.reason,
    });
  }
  if (bad.length > 20) ctx.logger.warn(`... and ${bad.length - 20} more unusable messages in this batch`);
  await publisher.send(
    deadLetterTopic(batch.topic),
    bad.map((b) => deadLetter({ topic: batch.topic, partition: batch.partition, service: ctx.service }, b.message, b.reason)),
  );
}

/**
 * With SHARED_OUT_DIR: writes `<shared>/<name>.csv` merged from every instance's state under
 * `<shared>/instances/<service>-<n>` (each partition from the instance furthest in it). A merge that cannot
 * be done yet (an instance still starting, a partition not claimed yet) is skipped and said once a minute;
 * it never stops the service.
 */
function sharedOutputMerger<K, Row>(spec: StatefulConsumerSpec<K, Row>, ctx: StatefulConsumerSpec<K, Row>['ctx']): () => void {
  const shared = ctx.config.sharedOutDir as string | undefined;
  if (!shared) return () => undefined;
  const key = spec.columns[0].name;
  let lastWarn = 0;
  const partitioners = new Map<number, (k: string) => number>();
  const partitionOf = (record: Record<string, string>, count: number) => {
    let p = partitioners.get(count);
    if (!p) partitioners.set(count, (p = keyPartitioner(spec.topics[0], count)));
    return p(String(record[key]));
  };
  return () => {
    try {
      mergeSnapshots({
        stateDirs: instanceStateDirs(shared, ctx.service),
        outputFile: join(shared, `${spec.name}.csv`),
        topics: spec.topics,
        partitionOf,
      });
    } catch (e) {
      if (Date.now() - lastWarn > 60_000) {
        lastWarn = Date.now();
        ctx.logger.warn(`could not merge the instances' ${spec.name} into ${shared} yet: ${(e as Error).message}`);
      }
    }
  };
}
