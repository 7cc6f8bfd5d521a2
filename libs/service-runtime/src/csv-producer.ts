import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { ReadResult, ReadStats, RejectedRow } from '@movie-stream/movielens-csv';
import { RejectedRowsFile } from '@movie-stream/movielens-csv';
import {
  Compression,
  KafkaAdmin,
  kafkaConnection,
  KafkaSettings,
  keyPartitioner,
  OutgoingMessage,
  Publisher,
  readPartitionTails,
} from '@movie-stream/messaging';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAndEnsureTopics } from './kafka-setup';
import { Pacer } from './pacer';
import { defaultSourceName, planResume, ResumePlan, sameRecord, SourcePosition, sourceIdOf } from './resume';
import type { ServiceContext } from './run-service';

/** The options a CSV producer reads (besides the common ones and its input file). */
export const CSV_PRODUCER_OPTIONS = [
  'outDir',
  'batchSize',
  'maxRate',
  'maxInFlight',
  'acks',
  'compression',
  'idempotent',
  'kafkaClient',
] as const;

export interface CsvProducerSpec<Row> {
  ctx: ServiceContext<(typeof CSV_PRODUCER_OPTIONS)[number]>;
  file: string;
  topic: string;
  read(file: string, opts: { batchSize: number; onReject(r: RejectedRow): void; signal: AbortSignal }): ReadResult<Row>;
  /** `position`: the row's source and 1-based place among the file's accepted rows. */
  toMessage(row: Row, position: SourcePosition): OutgoingMessage;
  /**
   * Set when toMessage writes `position` into the message and `positionOf` reads it back: a re-run after a
   * crash skips the rows the topic already holds (docs/RELIABILITY.md, "Re-running a producer").
   */
  resume?: {
    /** Names the source (--source-id); default: file name, size and a hash of its first 64 KiB. */
    sourceName?: string;
    positionOf(value: Buffer): SourcePosition | undefined;
  };
}

export interface CsvProducerSummary extends ReadStats {
  topic: string;
  published: number;
  /** Rows a re-run left out because the topic already held them (published by an interrupted run). */
  alreadyPublished: number;
  /** The source name and id every message carries (when the producer resumes). */
  source?: { name: string; id: number };
  seconds: number;
  rowsPerSecond: number;
  rejectedFile?: string;
  /** False when stopped by a signal before the end of the file. */
  complete: boolean;
}

/**
 * Streams a CSV file into a topic: read a batch, encode it, hand it to the publisher and read the next
 * while it travels. Bad rows are logged (file, line, reason), counted and written to
 * <out>/rejected-<file>.csv; rows read = rows published + rows rejected.
 */
export async function publishCsv<Row>(spec: CsvProducerSpec<Row>): Promise<CsvProducerSummary> {
  const { ctx } = spec;
  const { config, logger, kafka, signal } = ctx;
  const brokers = config.brokers as string[];
  const idempotent = (config.idempotent as boolean) && config.acks === -1;
  const source = spec.resume ? sourceOf(spec.file, spec.resume.sourceName) : undefined;
  const admin = kafka.admin();
  let plan: ResumePlan | undefined;
  try {
    await connectAndEnsureTopics(admin, ctx);
    if (spec.resume && source) {
      plan = await resumePlan(spec, source, admin, idempotent);
    }
  } finally {
    await admin.disconnect();
  }
  const publisher = new Publisher(kafka, {
    brokers,
    logger,
    signal,
    acks: config.acks as number,
    compression: config.compression as Compression,
    maxInFlight: config.maxInFlight as number,
    idempotent,
    client: config.kafkaClient as string,
    // The same client id, TLS and SASL as the service's KafkaJS client (the platformatic client needs them).
    connection: kafkaConnection(config as unknown as KafkaSettings, `${ctx.service}-${config.instanceId as string}`),
  });
  await publisher.connect();
  const meta = ctx.createMetaReporter(publisher.rawSink());
  publisher.meta = meta;
  meta.start();

  const rejected = new RejectedRowsFile(config.outDir as string, spec.file);
  let loggedRejects = 0;
  const onReject = (r: RejectedRow) => {
    rejected.write(r);
    // Every reject is in the file; the log names the first hundred.
    if (++loggedRejects <= 100) logger.warn(`rejected row`, { file: r.file, line: r.line, reason: r.reason });
  };
  const started = performance.now();
  const maxRate = config.maxRate as number;
  const pacer = maxRate > 0 ? new Pacer(maxRate, started) : undefined;
  ctx.health.state = 'running';
  const { batches, stats } = spec.read(spec.file, { batchSize: config.batchSize as number, onReject, signal });
  const sourceId = source?.id ?? 0;
  // Only rows up to the last one found on the topic can be skipped; past it every row is published.
  const skipThrough = plan?.skipThrough ?? [];
  const lastSkippable = Math.max(0, ...skipThrough);
  const partitionOf = lastSkippable > 0 ? keyPartitioner(spec.topic, plan!.partitions) : undefined;
  let row = 0;
  let published = 0;
  let alreadyPublished = 0;
  let lastLog = started;
  let complete = true;
  const expected = estimateRows(spec.file);
  // A progress bar for a person at a terminal; a log line every 5 s for everyone else.
  const bar = process.stderr.isTTY
    ? new SingleBar(
        {
          stream: process.stderr,
          format: `${basename(spec.file)} {bar} {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}`,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(expected, 0, { rate: 0 });
  try {
    for await (const rows of batches) {
      if (signal.aborted) {
        complete = false;
        break;
      }
      const messages: OutgoingMessage[] = [];
      for (const r of rows) {
        const m = spec.toMessage(r, { sourceId, sourceRow: ++row });
        if (row <= lastSkippable && row <= skipThrough[partitionOf!(m.key as string | Buffer)]) alreadyPublished++;
        else messages.push(m);
      }
      if (!pacer) {
        if (messages.length > 0) await publisher.enqueue(spec.topic, messages);
        published += messages.length;
      }
      for (let i = 0; pacer && i < messages.length && !signal.aborted; i += pacer.slice) {
        const wait = pacer.waitMs(published, performance.now());
        if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) break;
        const slice = messages.slice(i, i + pacer.slice);
        await publisher.enqueue(spec.topic, slice);
        published += slice.length;
      }
      const now = performance.now();
      const rate = Math.round(published / ((now - started) / 1000));
      if (bar) bar.update(Math.min(row, expected), { rate });
      else if (now - lastLog > 5000) {
        lastLog = now;
        const skipped = alreadyPublished > 0 ? `, ${alreadyPublished} already on the topic` : '';
        logger.info(
          `${basename(spec.file)}: ${published} rows published${skipped} (${rate}/s, ~${Math.min(100, Math.round((100 * row) / expected))} %)`,
        );
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
    complete = false;
  } finally {
    bar?.update(row);
    bar?.stop();
  }
  ctx.step('waiting for the publishes in flight to be acknowledged');
  await publisher.flush();
  await rejected.close();
  ctx.step('sending the last meta reports');
  await meta.close();
  ctx.step('disconnecting from Kafka');
  await publisher.disconnect();
  const seconds = (performance.now() - started) / 1000;
  return {
    ...stats,
    topic: spec.topic,
    published,
    alreadyPublished,
    source,
    seconds,
    rowsPerSecond: Math.round(published / seconds),
    complete,
    rejectedFile: rejected.count > 0 ? rejected.path : undefined,
  };
}

function sourceOf(file: string, name: string | undefined): { name: string; id: number } {
  const n = name ?? defaultSourceName(file);
  return { name: n, id: sourceIdOf(n) };
}

/**
 * Reads the last record of every partition and works out what an interrupted run of this source already
 * published; checks that the file still has those rows where the topic says (else throws, before publishing).
 */
async function resumePlan<Row>(
  spec: CsvProducerSpec<Row>,
  source: { name: string; id: number },
  admin: KafkaAdmin,
  idempotent: boolean,
): Promise<ResumePlan> {
  const { ctx, topic } = spec;
  const { logger, signal, kafka } = ctx;
  const tails = await readPartitionTails({
    kafka,
    admin,
    brokers: ctx.config.brokers as string[],
    topic,
    logger,
    signal,
    groupIdPrefix: `${ctx.service}.resume`,
  });
  const plan = planResume(tails, source.id, spec.resume!.positionOf);
  const sourceHex = source.id.toString(16).padStart(8, '0');
  if (!idempotent) {
    logger.warn(
      `publishing without the idempotent producer (KAFKA_IDEMPOTENT=false or KAFKA_ACKS != -1): a re-run after a crash cannot tell exactly what is on ${topic}`,
    );
  }
  if (plan.foreign.length > 0) {
    // The topic says nothing about our rows on these partitions; publishing them counts twice whatever an
    // interrupted run of ours put there before another producer wrote after it.
    logger.warn(
      `${topic}: ${plan.foreign.length} partition(s) end with another source's record; all rows of source "${source.name}" for them are published`,
      {
        partitions: plan.foreign,
      },
    );
  }
  if (plan.points.length === 0) {
    logger.info(`source "${source.name}" (${sourceHex}): nothing of it on ${topic}; publishing every row`);
    return plan;
  }
  await verifyResumePoints(spec, plan, source);
  logger.info(`source "${source.name}" (${sourceHex}) is partly on ${topic} (an interrupted run): resuming`, {
    lastRowPerPartition: Object.fromEntries(plan.points.map((p) => [p.partition, p.sourceRow])),
  });
  return plan;
}

/**
 * Reads the file up to the furthest resume point and checks that each point's row maps to that partition and
 * encodes to exactly the record there. A file changed since the interrupted run (same name, size and head)
 * would otherwise make the skip wrong without anybody noticing.
 */
async function verifyResumePoints<Row>(spec: CsvProducerSpec<Row>, plan: ResumePlan, source: { name: string; id: number }): Promise<void> {
  const byRow = new Map(plan.points.map((p) => [p.sourceRow, [] as typeof plan.points]));
  for (const p of plan.points) byRow.get(p.sourceRow)!.push(p);
  const last = Math.max(...byRow.keys());
  const partitionOf = keyPartitioner(spec.topic, plan.partitions);
  const problems: string[] = [];
  let row = 0;
  const { batches } = spec.read(spec.file, {
    batchSize: spec.ctx.config.batchSize as number,
    onReject: () => undefined,
    signal: spec.ctx.signal,
  });
  scan: for await (const rows of batches) {
    for (const r of rows) {
      const points = byRow.get(++row);
      if (points) {
        const m = spec.toMessage(r, { sourceId: source.id, sourceRow: row });
        for (const p of points) {
          const where = partitionOf(m.key as string | Buffer);
          if (where !== p.partition)
            problems.push(
              `row ${row} (key ${String(m.key)}) goes to partition ${where}, but partition ${p.partition} ends with a row ${row}`,
            );
          else if (!sameRecord(m, p.record))
            problems.push(`row ${row} differs from partition ${p.partition}'s last record (offset ${p.record.offset})`);
        }
      }
      if (row >= last) break scan;
    }
  }
  if (row < last) problems.push(`the file has ${row} accepted rows, but the topic holds row ${last}`);
  if (problems.length > 0) {
    throw new Error(
      `${spec.file}: cannot resume source "${source.name}" on ${spec.topic}: ${problems.slice(0, 5).join('; ')}. ` +
        'The file (or the validation rules) changed since the interrupted run, so what is already published cannot be told apart. ' +
        'Nothing was published. To publish this file as a new source anyway, give it another --source-id (SOURCE_ID); ' +
        'the ratings already on the topic stay counted.',
    );
  }
}

/** Rows in a CSV file, estimated from the size and the first 64 KiB (for the progress bar's total). */
function estimateRows(file: string): number {
  const size = statSync(file).size;
  const head = Buffer.alloc(Math.min(size, 65_536));
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const lines = Math.max(1, head.toString('utf8').split('\n').length - 1);
  return Math.max(1, Math.round(size / (head.length / lines)) - 1);
}
