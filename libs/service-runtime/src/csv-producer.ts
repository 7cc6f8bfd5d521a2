import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Message } from 'kafkajs';
import type { ReadResult, ReadStats, RejectedRow } from '@movie-stream/movielens-csv';
import { RejectedRowsFile } from '@movie-stream/movielens-csv';
import { Publisher, rawSink } from '@movie-stream/messaging';
import { connectAndEnsureTopics } from './kafka-setup';
import type { ServiceContext } from './run-service';

/** The options a CSV producer reads (besides the common ones and its input file). */
export const CSV_PRODUCER_OPTIONS = ['outDir', 'batchSize', 'maxInFlight', 'acks', 'compression', 'idempotent'] as const;

export interface CsvProducerSpec<Row> {
  ctx: ServiceContext<(typeof CSV_PRODUCER_OPTIONS)[number]>;
  file: string;
  topic: string;
  read(file: string, opts: { batchSize: number; onReject(r: RejectedRow): void; signal: AbortSignal }): ReadResult<Row>;
  toMessage(row: Row): Message;
}

export interface CsvProducerSummary extends ReadStats {
  topic: string;
  published: number;
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
  const admin = kafka.admin();
  await connectAndEnsureTopics(admin, {
    brokers, topics: ctx.topics, ratingsPartitions: config.ratingsPartitions as number,
    replicationFactor: config.replicationFactor as number, logger, signal,
  });
  await admin.disconnect();
  const publisher = new Publisher(kafka, {
    brokers, logger, signal, acks: config.acks as number, compression: config.compression as 'none',
    maxInFlight: config.maxInFlight as number,

    idempotent: (config.idempotent as boolean) && config.acks === -1,
  });
  await publisher.connect();
  const meta = ctx.createMetaReporter(rawSink(publisher.producer));
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
  ctx.health.state = 'running';
  const { batches, stats } = spec.read(spec.file, { batchSize: config.batchSize as number, onReject, signal });
  let published = 0;
  let lastLog = started;
  let complete = true;
  const expected = estimateRows(spec.file);
  // A progress bar for a person at a terminal; a log line every 5 s for everyone else.
  const bar = process.stderr.isTTY
    ? new SingleBar({ stream: process.stderr, format: `${basename(spec.file)} {bar} {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}` }, Presets.shades_classic)
    : undefined;
  bar?.start(expected, 0, { rate: 0 });
  try {
    for await (const rows of batches) {
      if (signal.aborted) {
        complete = false;
        break;
      }
      await publisher.enqueue(spec.topic, rows.map(spec.toMessage));
      published += rows.length;
      const now = performance.now();
      const rate = Math.round(published / ((now - started) / 1000));
      if (bar) bar.update(Math.min(published, expected), { rate });
      else if (now - lastLog > 5000) {
        lastLog = now;
        logger.info(`${basename(spec.file)}: ${published} rows published (${rate}/s, ~${Math.min(100, Math.round((100 * published) / expected))} %)`);
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
    complete = false;
  } finally {
    bar?.update(published);
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
    ...stats, topic: spec.topic, published, seconds, rowsPerSecond: Math.round(published / seconds), complete,
    rejectedFile: rejected.count > 0 ? rejected.path : undefined,
  };
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
