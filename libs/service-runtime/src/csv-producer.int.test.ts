// The rating producer's resume on the real broker: a re-run after a partial publish publishes exactly the
// missing ratings. The topic's contents are read back and counted per partition.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@movie-stream/config';
import { createLogger } from '@movie-stream/logging';
import {
  createKafka,
  ensureTopics,
  keyPartitioner,
  MetaReporter,
  pipelineTopics,
  Publisher,
  readPartitions,
  topicNames,
} from '@movie-stream/messaging';
import { readRatings, RatingRow } from '@movie-stream/movielens-csv';
import { decodeRatingRecord, encodeRating, fromBinary, MetaReportSchema } from '@movie-stream/schema';
import { ServiceMetrics } from '@movie-stream/observability';
import { COMMON_OPTIONS } from './run-service';
import { CSV_PRODUCER_OPTIONS, CsvProducerSpec, publishCsv } from './csv-producer';
import { defaultSourceName, sourceIdOf } from './resume';

jest.setTimeout(180_000);

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const logger = createLogger({ service: 'test', level: 'error', format: 'json' });
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'csv-producer-int-test' }, logger);
const admin = kafka.admin();
const prefix = `resume-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
const dir = mkdtempSync(join(tmpdir(), 'resume-test-'));
const PARTITIONS = 6;
const VALID = 20_000;

/** ratings.csv with VALID good rows and a few bad ones in between (rejected rows get no row number). */
function writeRatings(file: string): void {
  let seed = 5;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const lines = ['userId,movieId,rating,timestamp'];
  for (let i = 0; i < VALID; i++) {
    if (i === 10 || i === 7_777 || i === 15_001) lines.push(`${i},abc,3.0,1000`); // rejected: movieId not a number
    lines.push(`${1 + rnd(900)},${1 + rnd(400)},${(1 + rnd(10)) / 2},${1_000_000 + i}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

let run = 0;
function context(env: Record<string, string>, signal = new AbortController().signal) {
  const topics = `${prefix}-${env.TOPIC_SUFFIX}`;
  const config = loadConfig([...COMMON_OPTIONS, 'ratingsFile', 'sourceId', ...CSV_PRODUCER_OPTIONS], [], {
    KAFKA_BROKERS: brokers,
    TOPIC_RATINGS: `${topics}.ratings`,
    TOPIC_MOVIES: `${topics}.movies`,
    TOPIC_MEAN_RATINGS: `${topics}.mean-ratings`,
    TOPIC_META_PREFIX: `${topics}.meta`,
    RATINGS_PARTITIONS: String(PARTITIONS),
    OUT_DIR: join(dir, 'out'),
    PUBLISH_BATCH_SIZE: '1000',
    ...env,
  });
  const names = topicNames(config as never);
  const log = createLogger({ service: 'rating-producer', level: 'error', format: 'json' });
  const warnings: string[] = [];
  const warn = log.warn.bind(log);
  log.warn = ((message: string, ...rest: unknown[]) => {
    warnings.push(message);
    return warn(message, ...(rest as []));
  }) as typeof log.warn;
  return {
    warnings,
    ctx: {
      service: 'rating-producer',
      config,
      logger: log,
      kafka,
      topics: names,
      signal,
      metrics: new ServiceMetrics('rating-producer', `test-${++run}`),
      health: { state: 'starting' as const },
      step: () => undefined,
      mountRoutes: () => undefined,
      createMetaReporter: (sink: never) =>
        new MetaReporter({ service: 'rating-producer', instanceId: `test-${run}`, topics: names, windowMs: 1000, sink, logger: log }),
    },
  };
}

/** The rating producer's spec (as apps/rating-producer builds it). */
function ratingSpec(
  c: ReturnType<typeof context>,
  file: string,
  read: CsvProducerSpec<RatingRow>['read'] = readRatings,
): CsvProducerSpec<RatingRow> {
  return {
    ctx: c.ctx as never,
    file,
    topic: c.ctx.topics.ratings,
    read,
    toMessage: (r, position) => ({ key: String(r.movieId), value: encodeRating(r, position) }),
    resume: { sourceName: c.ctx.config.sourceId as string | undefined, positionOf: decodeRatingRecord },
  };
}

/** The file's accepted rows, numbered 1.. as the producer numbers them. */
async function fileRows(file: string): Promise<RatingRow[]> {
  const rows: RatingRow[] = [];
  for await (const b of readRatings(file).batches) rows.push(...b);
  return rows;
}

/** Every rating on the topic, per partition, in offset order. */
async function topicContents(topic: string) {
  const parts = await readPartitions({ kafka, admin, brokers: brokers.split(','), topic, logger }, ({ low }) => low);
  return parts.map((p) => p.records.map((r) => ({ key: String(r.key), ...decodeRatingRecord(r.value!)! })));
}

/**
 * Every accepted row of the file is on the topic exactly once, on its key's partition, with its row number,
 * and each partition holds its rows in file order (what lets the next re-run trust a partition's last record).
 */
function expectExactlyOnce(contents: Awaited<ReturnType<typeof topicContents>>, rows: RatingRow[], sourceId: number): void {
  const partitionOf = keyPartitioner('any', PARTITIONS);
  const expectedPerPartition = new Array<number>(PARTITIONS).fill(0);
  for (const r of rows) expectedPerPartition[partitionOf(String(r.movieId))]++;
  expect(contents.map((p) => p.length)).toEqual(expectedPerPartition);
  const seen = new Array<number>(rows.length + 1).fill(0);
  contents.forEach((records, partition) => {
    let previous = 0;
    for (const rec of records) {
      expect(rec.sourceId).toBe(sourceId);
      expect(rec.sourceRow).toBeGreaterThan(previous);
      previous = rec.sourceRow;
      const row = rows[rec.sourceRow - 1];
      expect([rec.userId, rec.movieId, rec.rating, rec.timestamp]).toEqual([row.userId, row.movieId, row.rating, row.timestamp]);
      expect(rec.key).toBe(String(row.movieId));
      expect(partitionOf(rec.key)).toBe(partition);
      seen[rec.sourceRow]++;
    }
  });
  expect(seen.slice(1).filter((n) => n !== 1)).toEqual([]);
}

const file = join(dir, 'ratings.csv');
let rows: RatingRow[];

beforeAll(async () => {
  writeRatings(file);
  rows = await fileRows(file);
  await admin.connect();
});

afterAll(async () => {
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (mine.length) await admin.deleteTopics({ topics: mine });
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** Reads the ratings as the service does, and stops the producer (as SIGTERM does) once it has taken `n` batches. */
function stoppingAfter(n: number, stop: AbortController): CsvProducerSpec<RatingRow>['read'] {
  return (f, o) => {
    const r = readRatings(f, o);
    return {
      stats: r.stats,
      batches: (async function* () {
        let taken = 0;
        for await (const b of r.batches) {
          yield b;
          if (++taken === n) stop.abort(new Error('SIGTERM received'));
        }
      })(),
    };
  };
}

describe('rating producer re-run after a partial publish', () => {
  it('numbers only accepted rows', () => {
    expect(rows).toHaveLength(VALID);
  });

  it('publishes exactly the missing ratings when each partition holds a different prefix (as a SIGKILL leaves it)', async () => {
    const c = context({ TOPIC_SUFFIX: 'partial' });
    const sourceId = sourceIdOf(defaultSourceName(file));
    // What a killed run leaves: per partition, its rows up to some row (sends to partitions run in parallel).
    // Partition 0: nothing yet; 5: everything.
    const cut = [0, 3_000, 9_999, 10_000, 17_500, VALID];
    const partitionOf = keyPartitioner(c.ctx.topics.ratings, PARTITIONS);
    await ensureTopics(admin, pipelineTopics(c.ctx.topics, PARTITIONS), 0, logger);
    const publisher = new Publisher(kafka, { brokers: brokers.split(','), logger, idempotent: true });
    await publisher.connect();
    const before = rows
      .map((r, i) => ({ key: String(r.movieId), value: encodeRating(r, { sourceId, sourceRow: i + 1 }) }))
      .filter((m, i) => i + 1 <= cut[partitionOf(m.key)]);
    for (let i = 0; i < before.length; i += 1000) await publisher.send(c.ctx.topics.ratings, before.slice(i, i + 1000));
    await publisher.disconnect();

    const summary = await publishCsv(ratingSpec(c, file));
    expect(summary.alreadyPublished).toBe(before.length);
    expect(summary.published).toBe(VALID - before.length);
    expect(summary.rowsRejected).toBe(3);
    expect(summary.complete).toBe(true);
    expect(summary.source?.id).toBe(sourceId);
    expectExactlyOnce(await topicContents(c.ctx.topics.ratings), rows, sourceId);

    // Once complete, the same command publishes nothing.
    const again = await publishCsv(ratingSpec(c, file));
    expect([again.published, again.alreadyPublished]).toEqual([0, VALID]);
    expectExactlyOnce(await topicContents(c.ctx.topics.ratings), rows, sourceId);
  });

  it('a run stopped after some batches, then re-run: every rating once', async () => {
    const stop = new AbortController();
    const c = context({ TOPIC_SUFFIX: 'stopped' }, stop.signal);
    const first = await publishCsv(ratingSpec(c, file, stoppingAfter(4, stop)));
    expect(first.complete).toBe(false);
    expect(first.published).toBe(4_000);
    const c2 = context({ TOPIC_SUFFIX: 'stopped' });
    const second = await publishCsv(ratingSpec(c2, file));
    expect([second.alreadyPublished, second.published, second.complete]).toEqual([4_000, VALID - 4_000, true]);
    expectExactlyOnce(await topicContents(c.ctx.topics.ratings), rows, sourceIdOf(defaultSourceName(file)));
  });

  it('PUBLISH_MAX_RATE paces the publishing: every rating once, never ahead of the rate', async () => {
    const c = context({ TOPIC_SUFFIX: 'paced', PUBLISH_MAX_RATE: '10000' });
    const started = performance.now();
    const summary = await publishCsv(ratingSpec(c, file));
    const seconds = (performance.now() - started) / 1000;
    expect([summary.published, summary.complete]).toEqual([VALID, true]);
    // 20,000 rows at 10,000/s: the last slice (50 ms of the rate) goes out 1.95 s after the start at the earliest.
    expect(seconds).toBeGreaterThanOrEqual(1.95);
    expect(summary.rowsPerSecond).toBeLessThanOrEqual(10_000 * 1.03);
    expectExactlyOnce(await topicContents(c.ctx.topics.ratings), rows, sourceIdOf(defaultSourceName(file)));
  });

  it('another source after ours on a partition: ours are published to it again, with a warning', async () => {
    const c = context({ TOPIC_SUFFIX: 'foreign' });
    const first = await publishCsv(ratingSpec(c, file));
    expect(first.published).toBe(VALID);
    const other = join(dir, 'other.csv');
    writeFileSync(other, 'userId,movieId,rating,timestamp\n1,1,4.0,5\n');
    const otherRun = await publishCsv(ratingSpec(context({ TOPIC_SUFFIX: 'foreign' }), other));
    expect(otherRun.published).toBe(1);
    const partition = keyPartitioner(c.ctx.topics.ratings, PARTITIONS)('1');
    const again = context({ TOPIC_SUFFIX: 'foreign' });
    const summary = await publishCsv(ratingSpec(again, file));
    const onThatPartition = rows.filter((r) => keyPartitioner('any', PARTITIONS)(String(r.movieId)) === partition).length;
    expect([summary.published, summary.alreadyPublished]).toEqual([onThatPartition, VALID - onThatPartition]);
    expect(again.warnings.some((w) => /1 partition\(s\) end with another source's record/.test(w))).toBe(true);
  });

  it('KAFKA_CLIENT=platformatic: every rating once, on the same partitions, and a re-run (after a stop too) resumes', async () => {
    const stop = new AbortController();
    const c = context({ TOPIC_SUFFIX: 'platformatic', KAFKA_CLIENT: 'platformatic' }, stop.signal);
    expect(c.ctx.config.kafkaClient).toBe('platformatic');
    const first = await publishCsv(ratingSpec(c, file, stoppingAfter(3, stop)));
    expect([first.published, first.complete]).toEqual([3_000, false]);
    const second = await publishCsv(ratingSpec(context({ TOPIC_SUFFIX: 'platformatic', KAFKA_CLIENT: 'platformatic' }), file));
    expect([second.alreadyPublished, second.published, second.rowsRejected, second.complete]).toEqual([3_000, VALID - 3_000, 3, true]);
    const sourceId = sourceIdOf(defaultSourceName(file));
    expectExactlyOnce(await topicContents(c.ctx.topics.ratings), rows, sourceId);
    // Offsets: the partitions hold exactly the file's ratings, nothing sent twice by a retry.
    const offsets = await admin.fetchTopicOffsets(c.ctx.topics.ratings);
    expect(offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0)).toBe(VALID);
    // The meta reports (sent by the same client) count every rating published.
    const reports = await readPartitions(
      { kafka, admin, brokers: brokers.split(','), topic: c.ctx.topics.metaPublished, logger },
      ({ low }) => low,
    );
    const counted = reports
      .flatMap((p) => p.records)
      .map((r) => fromBinary(MetaReportSchema, r.value!))
      .filter((m) => m.topic === c.ctx.topics.ratings)
      .reduce((sum, m) => sum + Number(m.count), 0);
    expect(counted).toBe(VALID);
  });

  it('refuses to resume, publishing nothing, when the file changed under the same source id', async () => {
    const c = context({ TOPIC_SUFFIX: 'changed', SOURCE_ID: 'the same name' });
    const stop = new AbortController();
    const stopped = context({ TOPIC_SUFFIX: 'changed', SOURCE_ID: 'the same name' }, stop.signal);
    const stopAfter2: CsvProducerSpec<RatingRow>['read'] = (f, o) => {
      const r = readRatings(f, o);
      return {
        stats: r.stats,
        batches: (async function* () {
          let n = 0;
          for await (const b of r.batches) {
            yield b;
            if (++n === 2) stop.abort(new Error('SIGTERM received'));
          }
        })(),
      };
    };
    expect((await publishCsv(ratingSpec(stopped, file, stopAfter2))).published).toBe(2_000);
    // A row removed among the published ones: the rows after it move up one number.
    const changed = join(dir, 'changed.csv');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.splice(100, 1);
    writeFileSync(changed, lines.join('\n'));
    const offsets = async () => (await admin.fetchTopicOffsets(c.ctx.topics.ratings)).map((o) => o.high);
    const before = await offsets();
    await expect(publishCsv(ratingSpec(c, changed))).rejects.toThrow(/cannot resume source "the same name".*Nothing was published/);
    expect(await offsets()).toEqual(before);
    // A new name publishes the file as a new source.
    const renamed = await publishCsv(ratingSpec(context({ TOPIC_SUFFIX: 'changed', SOURCE_ID: 'another name' }), changed));
    expect([renamed.published, renamed.alreadyPublished]).toEqual([VALID - 1, 0]);
  });
});
