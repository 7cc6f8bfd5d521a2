// The file mode's state: a StorableFrame restored from its snapshot, snapshotted every interval, and the
// offsets of exactly each durable snapshot committed. Partitions are owned through PartitionedState
// (restores, and with a changelog fenced writers).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Compression, keyPartitioner, StateMismatchError, truncateTopic } from '@movie-stream/messaging';
import { instanceStateDirs, mergeSnapshots, StorableFrame } from '@movie-stream/storable-frame';
import { consumerGroupId, StateBackend } from './consumer-service';
import { PartitionedState } from './partition-owner';
import type { Serving, StatefulConsumerResult, StatefulConsumerSpec } from './stateful-consumer-spec';

export function fileStateBackend<K, Row>(
  spec: StatefulConsumerSpec<K, Row>,
  serving: Serving = { running: () => new Map() },
): StateBackend<StatefulConsumerResult> {
  const { ctx } = spec;
  const { config, logger, kafka, signal } = ctx;
  const outDir = config.outDir as string;
  const stateDir = (config.stateDir as string | undefined) ?? join(outDir, '.state', ctx.service);
  const outputFile = join(outDir, `${spec.name}.csv`);
  const groupId = consumerGroupId(ctx);
  const frame = new StorableFrame<K, Row>({
    name: spec.name,
    stateDir,
    outputFile,
    columns: spec.columns,
    fromRecord: spec.fromRecord,
    logger,
    workerHeapMb: config.snapshotWorkerHeapMb as number,
  });
  let state: PartitionedState<K, Row> | undefined;
  const mergeShared = sharedOutputMerger(spec);

  return {
    steps: {
      beginStop: 'waiting for the batch in progress and applying the held (coalesced) ones (their publishes to the output topic)',
      stopPeriodic: 'waiting for the periodic snapshot in progress and its commit',
      close: 'closing the snapshot writer',
    },

    async open() {
      if (config.resetState) {
        // On purpose only (e.g. after a topic was recreated): the state is rebuilt from the topics as they are.
        logger.warn(
          `reset-state: deleting the saved state ${stateDir} and ${outputFile}; rebuilding from the start of ${spec.topics.join(', ')}`,
        );
        rmSync(stateDir, { recursive: true, force: true });
        rmSync(outputFile, { force: true });
      }
      if (!(await frame.load())) logger.info(`no ${spec.name} snapshot: starting from the beginning of ${spec.topics.join(', ')}`);
      spec.ready?.(frame, serving);
    },

    async consumerParts({ admin, publisher, meta }) {
      if (config.resetState && spec.changelog) {
        // The changelog describes the state being thrown away: a restore must not bring it back.
        logger.warn(`reset-state: deleting the records of the changelog ${spec.changelog.topic}`);
        await truncateTopic(admin, spec.changelog.topic);
      }
      const s = new PartitionedState<K, Row>({
        kafka,
        admin,
        brokers: config.brokers as string[],
        groupId,
        topics: spec.topics,
        frame,
        logger,
        signal,
        changelog: spec.changelog,
        compression: config.compression as Compression,
        meta,
        // The monitor shows restores in progress and finished from these reports on the meta topic.
        onRestoreStart: (partitions) => {
          for (const partition of partitions) meta.restoreStarted({ groupId, topic: spec.topics[0], partition });
        },
        onRestore: (info) => {
          ctx.metrics.restores.inc({ source: info.source });
          ctx.metrics.restoreSeconds.observe({ source: info.source }, info.ms / 1000);
          meta.restoreFinished({ groupId, topic: spec.topics[0], ...info });
        },
      });
      state = s;
      // /healthz lists the latest restores (PartitionedState keeps a bounded list of them).
      ctx.health.restores = s.restores;
      return {
        checkpoint: frame,
        owner: s,
        handle: (batch) => {
          // The batch's last record goes into the state with its offset when the handler records its offset.
          frame.noteLastRecord(batch.topic, batch.partition, batch.nextOffset, batch.last);
          return spec.handle(batch, frame, publisher, s);
        },
      };
    },

    startPeriodic(consumer) {
      frame.startPeriodic(config.snapshotIntervalMs as number, async (info) => {
        logger.debug(`snapshot ${info.generation} written`, { rows: info.rows, copyMs: info.copyMs, writeMs: info.writeMs });
        ctx.metrics.lastSnapshotCopyMs.set(info.copyMs);
        ctx.health.lastSnapshot = { generation: info.generation, rows: info.rows, at: new Date().toISOString() };
        await consumer.commit(info.offsets);
        mergeShared();
      });
    },

    stopPeriodic: () => frame.stopPeriodic(),

    async finish(consumer) {
      ctx.step('writing the final snapshot');
      const last = await frame.snapshot();
      if (last) {
        logger.info(`final snapshot ${last.generation}: ${last.rows} rows`, { file: outputFile });
        ctx.step(`committing the offsets of the final snapshot ${last.generation}`);
        await consumer.commit(last.offsets);
      } else {
        // Nothing changed since the last periodic snapshot: that one is final; commit its offsets (again).
        logger.info(`final snapshot is the last periodic one: ${frame.size} rows, unchanged since`, { file: outputFile });
        ctx.step('committing the offsets of the last periodic snapshot');
        await consumer.commit(frame.offsets());
      }
      mergeShared();
    },

    closeKafka: async () => state?.close(),
    close: () => frame.close(),

    mismatch: (e: StateMismatchError) =>
      new Error(
        `${e.message}. Refusing to start on the state in ${stateDir}. To rebuild it from the topics as they are now, ` +
          'start once with --reset-state=true (or RESET_STATE=true), which deletes that state and ' +
          `${outputFile}${spec.changelog ? ` and the records of ${spec.changelog.topic}` : ''}; or point the service at the topics the state was built from.`,
      ),

    result: (consumer) => ({
      rows: frame.size,
      snapshots: frame.stats.snapshots,
      maxCopyMs: frame.stats.maxCopyMs,
      skippedReplays: consumer.skippedReplays,
    }),
  };
}

/**
 * With SHARED_OUT_DIR: writes `<shared>/<name>.csv` merged from every instance's state under
 * `<shared>/instances/<service>-<n>` (each partition from the instance furthest in it). A merge that cannot
 * be done yet (an instance still starting, a partition not claimed yet) is skipped and said once a minute;
 * it never stops the service.
 */
function sharedOutputMerger<K, Row>(spec: StatefulConsumerSpec<K, Row>): () => void {
  const { ctx } = spec;
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
