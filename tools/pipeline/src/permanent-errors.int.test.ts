// Errors no retry can cure end the service with their reason, within a bounded time, instead of being retried
// behind a healthy /healthz: a PostgreSQL permission refused to the database-mode sink (its role loses
// INSERT and UPDATE on movie_data while it runs), and a record the broker will never take from the file-mode
// processor (mean-ratings set to max.message.bytes 90: MESSAGE_TOO_LARGE, which Kafka marks not retriable).
// Real services, real broker, real PostgreSQL (a database and a role of the test's own).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { overrideTopicSettings } from '@movie-stream/messaging';
import { connectDatabase } from '@movie-stream/movie-db';
import { buildApps, PipelineRun, REPO_ROOT, type ServiceProcess } from '@movie-stream/pipeline-run';
import {
  cachedDataset,
  ownDatabase,
  quietLogger,
  storedProgress,
  teardownAfterAll,
  TEST_DATABASE_SERVER,
  until,
} from '@movie-stream/test-support';

jest.setTimeout(300_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const SINK = 'movie-data-sink';
const PROCESSOR = 'mean-rating-processor';
/** How long a service may take from the refused write to its exit. */
const BOUND_MS = 60_000;
const teardown = teardownAfterAll();

beforeAll(() => buildApps());

function newRun(name: string, ratingsFile: string, moviesFile: string, opts: Partial<ConstructorParameters<typeof PipelineRun>[0]> = {}) {
  return teardown.run(
    new PipelineRun({
      ratingsFile,
      moviesFile,
      outDir: join(tmpdir(), `permanent-errors-${name}-${Date.now()}`),
      brokers,
      log: () => undefined,
      env: { SESSION_TIMEOUT_MS: '6000' },
      ...opts,
    }),
  );
}

function logOf(run: PipelineRun, app: string): string {
  const f = join(run.logDir, `${app}.log`);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

/** The last lines of a log, for a failure message. */
function tail(log: string, lines = 30): string {
  return log.split('\n').slice(-lines).join('\n');
}

/**
 * Polls the service's /healthz (its port from the log) until it exits; returns what it answered, in order
 * (deduplicated). Only 127.0.0.1.
 */
function watchHealth(run: PipelineRun, app: string, s: ServiceProcess): Promise<{ status: number; state: string }[]> {
  const seen: { status: number; state: string }[] = [];
  const once = (port: number) =>
    new Promise<void>((resolve) => {
      const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1_000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => {
          let state = '?';
          try {
            state = String(JSON.parse(body).state);
          } catch {
            // not JSON: kept as '?'
          }
          const last = seen[seen.length - 1];
          if (!last || last.status !== res.statusCode || last.state !== state) seen.push({ status: res.statusCode ?? 0, state });
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.on('timeout', () => req.destroy());
    });
  return (async () => {
    let port: number | undefined;
    while (s.child.exitCode === null && s.child.signalCode === null) {
      port ??= Number(/metrics and health on http:\/\/[^:]+:(\d+)\//.exec(logOf(run, app))?.[1]) || undefined;
      if (port) await once(port);
      await new Promise((r) => setTimeout(r, 20));
    }
    return seen;
  })();
}

/** The exit of `s` within `ms`, or undefined. */
async function exitWithin(s: ServiceProcess, ms: number): Promise<{ code: number | null; ms: number } | undefined> {
  const from = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([s.exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  clearTimeout(timer);
  return r && { code: r.code, ms: Date.now() - from };
}

it('database-mode sink whose role loses INSERT and UPDATE on movie_data while it runs: exits 1 within 60 s naming the permission error (42501)', async () => {
  const { ratingsFile, moviesFile } = await cachedDataset(join(REPO_ROOT, '.bench', 'test-data'), {
    ratings: 2_000,
    movies: 200,
    seed: 23,
    unnamedRatedMovies: 0,
  });
  // A role of the test's own, owner of a database of the test's own: the service migrates its schema as that role.
  const role = `movie_stream_fault_role_${randomBytes(5).toString('hex')}`;
  const server = await connectDatabase(TEST_DATABASE_SERVER.toString(), quietLogger, undefined, { poolSize: 1 });
  teardown.add(async () => {
    await server.query(`DROP ROLE IF EXISTS ${role}`);
    await server.end();
  });
  await server.query(`CREATE ROLE ${role} LOGIN`);
  const { url, name, db } = await ownDatabase(teardown, 1);
  await db.query(`ALTER DATABASE ${name} OWNER TO ${role}`);
  const asRole = new URL(url);
  asRole.username = role;

  const run = newRun('permission', ratingsFile, moviesFile, { database: { url: asRole.toString(), sink: true } });
  run.cleanOutput();
  await run.createTopics();
  const sink = run.start(SINK);
  const health = watchHealth(run, SINK, sink);
  // The sink stores movies as the role: it works with the permissions it has.
  run.start('movie-producer', ['--movies', moviesFile]);
  await run.producerResult('movie-producer');
  const storedMovies = async () => (await storedProgress(db, run.groups.sink, run.topics.movies)) > 0n;
  expect(await until(storedMovies, 120_000, 50)).toBe(true);
  run.checkConsumers('before the permission was revoked');

  await db.query(`REVOKE INSERT, UPDATE ON movie_data FROM ${role}`);
  const revokedAt = Date.now();
  // The movies once more: the sink's next batch writes movie_data and is refused.
  run.start('movie-producer', ['--movies', moviesFile]);
  const exit = await exitWithin(sink, BOUND_MS);
  const log = logOf(run, SINK);
  const seen = exit ? await health : undefined;
  process.stderr.write(
    `sink after the REVOKE: ${exit ? `exit ${exit.code} after ${((Date.now() - revokedAt) / 1000).toFixed(1)} s` : `still running after ${BOUND_MS / 1000} s`}; /healthz answered ${JSON.stringify(seen ?? 'n/a (still polling)')}\n`,
  );
  expect({ exited: exit !== undefined, log: exit ? '' : tail(log) }).toEqual({ exited: true, log: '' });
  expect(exit!.code).toBe(1);
  // The log names the cause: the refused permission and its SQLSTATE.
  expect(log).toMatch(/failed: [^\n]*permission denied for table movie_data[^\n]*42501/);
  // /healthz, when it answered after the failure and before the exit, said so.
  for (const h of seen ?? []) if (h.state === 'failed') expect(h.status).toBe(503);
});

it('file-mode processor publishing to a mean-ratings topic that refuses every record (max.message.bytes 90, MESSAGE_TOO_LARGE): exits 1 within 60 s naming it', async () => {
  const { ratingsFile, moviesFile } = await cachedDataset(join(REPO_ROOT, '.bench', 'test-data'), {
    ratings: 2_000,
    movies: 200,
    seed: 23,
    unnamedRatedMovies: 0,
  });
  const run = newRun('too-large', ratingsFile, moviesFile);
  run.cleanOutput();
  await run.createTopics();
  const processor = run.start(PROCESSOR);
  const health = watchHealth(run, PROCESSOR, processor);
  expect(await until(() => /consuming /.test(logOf(run, PROCESSOR)), 60_000, 50)).toBe(true);

  // mean-ratings refuses every batch of MeanRatings from now on (the topic's own settings kept: AlterConfigs
  // replaces all). 90 bytes: no batch of MeanRatings fits (a batch's header alone is 61 bytes), the commit and
  // abort markers the transaction coordinator writes (about 78 bytes) do; with less, an abort could never
  // complete and the transactional id would stay blocked (CONCURRENT_TRANSACTIONS) whatever the service does.
  await overrideTopicSettings(run.kafka, run.topics.meanRatings, { 'max.message.bytes': '90' });
  const from = Date.now();
  run.start('rating-producer', ['--ratings', ratingsFile]);
  const exit = await exitWithin(processor, BOUND_MS);
  const log = logOf(run, PROCESSOR);
  const seen = exit ? await health : undefined;
  process.stderr.write(
    `processor after mean-ratings refused records: ${exit ? `exit ${exit.code} after ${((Date.now() - from) / 1000).toFixed(1)} s` : `still running after ${BOUND_MS / 1000} s`}; /healthz answered ${JSON.stringify(seen ?? 'n/a (still polling)')}\n`,
  );
  expect({ exited: exit !== undefined, log: exit ? '' : tail(log) }).toEqual({ exited: true, log: '' });
  expect(exit!.code).toBe(1);
  expect(log).toMatch(/failed: [^\n]*(MESSAGE_TOO_LARGE|larger than the max message size)/);
  for (const h of seen ?? []) if (h.state === 'failed') expect(h.status).toBe(503);
});
