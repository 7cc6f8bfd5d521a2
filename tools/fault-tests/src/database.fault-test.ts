// The database modes (--sink postgres, --state postgres) against a real broker and a real PostgreSQL, each
// test on a database of its own (created and dropped here). The database going away is modelled by a TCP
// relay between the services and the server that the test cuts and restores (see tcp-relay.ts): the
// machine's PostgreSQL is shared with other tests and is never stopped. The hard stop itself
// (`pg_ctl stop -m immediate`, then crash recovery) runs on a throw-away server of the test's own
// (own-postgres.ts). Every test ends by comparing the movie_data table (exported as movie-data.csv) with the
// independent computation.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerLag, withAdmin } from '@movie-stream/messaging';
import { connectDatabase, ensureDatabase, loadOffsets, type Pool } from '@movie-stream/movie-db';
import { buildApps, PipelineRun } from '@movie-stream/pipeline';
import {
  freePort,
  ownDatabase,
  quietLogger,
  splitRatings,
  storedProgress,
  teardownAfterAll,
  TEST_DATABASE_SERVER,
  until,
} from '@movie-stream/test-support';
import { dataset, logOf, mismatches } from './harness';
import { OwnPostgres, ownPostgresMissing } from './own-postgres';
import { TcpRelay } from './tcp-relay';

jest.setTimeout(900_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const SINK = 'movie-data-sink';
const PROCESSOR = 'mean-rating-processor';
const teardown = teardownAfterAll();

beforeAll(() => buildApps());

/** A new database of this test's own: its URL on the server directly, and through `port` (a relay). */
async function ownRelayedDatabase(port?: number): Promise<{ url: string; relayed: string; db: Pool }> {
  const { url, db } = await ownDatabase(teardown);
  const r = new URL(url);
  if (port !== undefined) r.port = String(port);
  return { url, relayed: r.toString(), db };
}

async function ownRelay(): Promise<TcpRelay> {
  const relay = new TcpRelay(await freePort(), { host: TEST_DATABASE_SERVER.hostname, port: Number(TEST_DATABASE_SERVER.port || 5432) });
  teardown.add(() => relay.cut());
  return relay;
}

function newRun(name: string, ratingsFile: string, moviesFile: string, opts: Partial<ConstructorParameters<typeof PipelineRun>[0]>) {
  return teardown.run(
    new PipelineRun({
      ratingsFile,
      moviesFile,
      outDir: join(tmpdir(), `faults-db-${name}-${Date.now()}`),
      brokers,
      log: () => undefined,
      env: { SESSION_TIMEOUT_MS: '6000' },
      ...opts,
    }),
  );
}

/** Drain, stop cleanly, write movie-data.csv from movie_data, compare with the independent computation. */
async function finishExact(run: PipelineRun, ratingsFile: string, moviesFile: string): Promise<void> {
  await run.waitUntilDrained();
  await run.stopConsumers();
  await run.exportMovieData();
  expect(await mismatches(run, ratingsFile, moviesFile)).toEqual([]);
}

describe('database modes under faults', () => {
  it('database down when the services start: they wait with a log line naming it, then run; exact', async () => {
    const { ratingsFile, moviesFile } = await dataset(20_000, 500);
    const relay = await ownRelay();
    const { relayed } = await ownRelayedDatabase(relay.port);
    const run = newRun('down-at-start', ratingsFile, moviesFile, { database: { url: relayed, sink: true, processor: true } });
    run.cleanOutput();
    await run.createTopics();
    run.startConsumers();
    const waiting = new RegExp(`waiting for PostgreSQL at 127\\.0\\.0\\.1:${relay.port}/movie_stream_fault_`);
    const bothWait = () => waiting.test(logOf(run, SINK)) && waiting.test(logOf(run, PROCESSOR));
    expect(await until(bothWait, 60_000)).toBe(true);
    run.checkConsumers('while the database was down');
    await relay.open();
    run.startProducers();
    await Promise.all([run.producerResult('movie-producer'), run.producerResult('rating-producer')]);
    await finishExact(run, ratingsFile, moviesFile);
    for (const app of [SINK, PROCESSOR])
      expect(logOf(run, app)).toMatch(/PostgreSQL at 127\.0\.0\.1:\d+\/\w+ answers \(after \d+ attempts\)/);
  });

  it('database gone mid-run (every connection reset, new ones refused) and back: Kafka commits stay within what is stored; exact', async () => {
    const { ratingsFile, moviesFile } = await dataset(200_000, 2_000);
    const relay = await ownRelay();
    const { relayed, db } = await ownRelayedDatabase(relay.port);
    const run = newRun('cut', ratingsFile, moviesFile, { database: { url: relayed, sink: true, processor: true } });
    await relay.open();
    run.cleanOutput();
    await run.createTopics();
    run.startConsumers();
    await run.waitForConsumerGroups();
    run.startProducers();
    const ratings = [run.topics.ratings];
    // Cut once the processor has stored batches (the producer is still publishing: work stays pending).
    expect(await until(async () => (await storedProgress(db, run.groups.processor, ratings)) > 0n, 120_000, 20)).toBe(true);
    await relay.cut();
    const retries = () => (logOf(run, PROCESSOR).match(/not stored: /g) ?? []).length;
    // Three retries are 1.75 s of backoff: past the 1 s interval of the Kafka offset commits.
    expect(await until(() => retries() >= 3, 120_000)).toBe(true);
    run.checkConsumers('while the database was away');
    // What Kafka has committed for each group is within what the database holds (read on the server directly).
    for (const [group, topics] of [
      [run.groups.processor, ratings],
      [run.groups.sink, [run.topics.movies, run.topics.meanRatings]],
    ] as const) {
      const stored = await loadOffsets(db, group, topics);
      const committed = await withAdmin(run.kafka, (admin) => consumerLag(admin, group, [...topics]));
      for (const c of committed) {
        const s = Number(stored[c.topic]?.[String(c.partition)] ?? 0);
        expect([group, c.topic, c.partition, c.committed <= s]).toEqual([group, c.topic, c.partition, true]);
      }
    }
    await relay.open();
    await Promise.all([run.producerResult('movie-producer'), run.producerResult('rating-producer')]);
    await finishExact(run, ratingsFile, moviesFile);
    expect(logOf(run, PROCESSOR)).toMatch(/PostgreSQL at .* is back/);
  });

  it('sink SIGKILLed 5 times mid-run in database mode, each time with work pending: exact', async () => {
    const { ratingsFile, moviesFile } = await dataset(200_000, 2_000);
    const { url, db } = await ownRelayedDatabase();
    const run = newRun('sink-kill', ratingsFile, moviesFile, { database: { url, sink: true }, snapshotIntervalMs: 100 });
    run.cleanOutput();
    await run.createTopics();
    const parts = splitRatings(ratingsFile, 5, run.outDir, 'slice');
    const sinkTopics = [run.topics.movies, run.topics.meanRatings];
    run.startConsumers();
    run.start('movie-producer', ['--movies', moviesFile]);
    await run.producerResult('movie-producer');
    let killsWithLag = 0;
    for (const part of parts) {
      const before = await storedProgress(db, run.groups.sink, sinkTopics);
      run.start('rating-producer', ['--ratings', part]);
      // The restarted sink is storing batches again: kill it in the middle of that.
      expect(await until(async () => (await storedProgress(db, run.groups.sink, sinkTopics)) > before, 120_000, 10)).toBe(true);
      await run.kill(SINK, 0, 'SIGKILL');
      if ((await run.lag(run.groups.sink, sinkTopics)) > 0) killsWithLag++;
      run.startInstance(SINK, 0);
      await run.producerResult('rating-producer');
    }
    expect(killsWithLag).toBeGreaterThan(0);
    await finishExact(run, ratingsFile, moviesFile);
  });

  it('two sinks and two processors in database mode on 1,000,000 ratings: exact', async () => {
    const { ratingsFile, moviesFile } = await dataset(1_000_000, 5_000);
    const { url } = await ownRelayedDatabase();
    const run = newRun('scaled', ratingsFile, moviesFile, { database: { url, sink: true, processor: true }, processors: 2, sinks: 2 });
    await run.run();
    expect(await mismatches(run, ratingsFile, moviesFile)).toEqual([]);
    // Both instances of each did work: every one stored batches of its own.
    for (const app of [SINK, PROCESSOR] as const) {
      for (const i of [0, 1]) {
        const line = run.service(app, i)?.stdout.find((l) => l.startsWith('{"result"'));
        expect([app, i, JSON.parse(line ?? '{"result":{}}').result.transactions > 0]).toEqual([app, i, true]);
      }
    }
  });
});

/** Each consumer group of a run with the topics it consumes. */
function groupTopics(run: PipelineRun): (readonly [string, string[]])[] {
  return [
    [run.groups.processor, [run.topics.ratings]],
    [run.groups.sink, [run.topics.movies, run.topics.meanRatings]],
  ];
}

const noOwnServer = ownPostgresMissing();
const describeOwnServer = noOwnServer ? describe.skip : describe;
const ownServerBlock = 'database modes on a PostgreSQL server of their own';
if (noOwnServer) process.stderr.write(`skipped "${ownServerBlock}": ${noOwnServer}\n`);

describeOwnServer(noOwnServer ? `${ownServerBlock} [skipped: ${noOwnServer}]` : ownServerBlock, () => {
  it('server stopped hard (pg_ctl stop -m immediate) mid-run and started again: nothing lost, nothing twice, Kafka commits within what is stored', async () => {
    const total = 300_000;
    const { ratingsFile, moviesFile } = await dataset(total, 3_000);
    const server = await OwnPostgres.create(await freePort());
    teardown.add(() => server.remove());
    await server.start();
    const dbName = `movie_stream_fault_${randomBytes(5).toString('hex')}`;
    await ensureDatabase(server.url(dbName));
    const run = newRun('hard-stop', ratingsFile, moviesFile, { database: { url: server.url(dbName), sink: true, processor: true } });
    run.cleanOutput();
    await run.createTopics();
    run.startConsumers();
    await run.waitForConsumerGroups();
    run.startProducers();
    const ratings = [run.topics.ratings];

    // Stop once the processor has stored a tenth of the ratings and the sink some of its means, and Kafka holds
    // commits of the processor's (so the check below compares real offsets): well into the run, with most of
    // the work still to do.
    let seen = 0n;
    const db = await connectDatabase(server.url(dbName), quietLogger, undefined, { poolSize: 1 });
    const kafkaCommitted = async (group: string, topics: string[]) =>
      (await withAdmin(run.kafka, (admin) => consumerLag(admin, group, topics))).reduce((sum, c) => sum + c.committed, 0);
    try {
      const midRun = async () => {
        seen = await storedProgress(db, run.groups.processor, ratings);
        return (
          seen >= BigInt(total / 10) &&
          (await storedProgress(db, run.groups.sink, [run.topics.meanRatings])) > 0n &&
          (await kafkaCommitted(run.groups.processor, ratings)) > 0
        );
      };
      expect(await until(midRun, 120_000, 20)).toBe(true);
    } finally {
      await db.end();
    }
    await server.stopImmediate();

    // Down: the processor retries its batch (three retries are 1.75 s of backoff, past the 1 s interval of
    // the Kafka offset commits), and so does the sink, once it has a batch to store.
    const retries = (app: string) => (logOf(run, app).match(/waiting for PostgreSQL at [^\n]* not stored: /g) ?? []).length;
    expect(await until(() => retries(PROCESSOR) >= 3, 120_000)).toBe(true);
    run.checkConsumers('while the database was down');
    const committedWhileDown = await Promise.all(
      groupTopics(run).map(([group, topics]) => withAdmin(run.kafka, (admin) => consumerLag(admin, group, [...topics]))),
    );

    // Started again on its Unix socket only: crash recovery done, the services still locked out. What it holds
    // now is what it held at the stop.
    await server.start({ tcp: false });
    const stored = new Map<string, Awaited<ReturnType<typeof loadOffsets>>>();
    const direct = await connectDatabase(server.socketUrl(dbName), quietLogger, undefined, { poolSize: 1 });
    let recovered: bigint;
    try {
      for (const [group, topics] of groupTopics(run)) stored.set(group, await loadOffsets(direct, group, topics));
      recovered = await storedProgress(direct, run.groups.processor, ratings);
    } finally {
      await direct.end();
    }
    // Every batch the processor had committed before the stop survived it (fsync on), and work was left to do.
    expect(recovered >= seen).toBe(true);
    expect(recovered < BigInt(total)).toBe(true);
    // Kafka's committed offsets, read while the server was down and now, are within the stored ones.
    const check = (when: string, group: string, c: { topic: string; partition: number; committed: number }) => {
      const s = Number(stored.get(group)?.[c.topic]?.[String(c.partition)] ?? 0);
      expect([when, group, c.topic, c.partition, c.committed, c.committed <= s]).toEqual([
        when,
        group,
        c.topic,
        c.partition,
        c.committed,
        true,
      ]);
    };
    groupTopics(run).forEach(([group], i) => committedWhileDown[i]!.forEach((c) => check('while down', group, c)));
    for (const [group, topics] of groupTopics(run)) {
      for (const c of await withAdmin(run.kafka, (admin) => consumerLag(admin, group, [...topics]))) check('after recovery', group, c);
    }
    run.checkConsumers('while the database was recovering');

    await server.stop();
    await server.start();
    await Promise.all([run.producerResult('movie-producer'), run.producerResult('rating-producer')]);
    await finishExact(run, ratingsFile, moviesFile);
    expect(logOf(run, PROCESSOR)).toMatch(/PostgreSQL at .* is back/);
  });
});
