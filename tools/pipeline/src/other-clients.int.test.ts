// mean-ratings read by a client outside the project, as the README's "Reading the topics from other clients"
// tells one to: Python's confluent-kafka (librdkafka) with isolation.level=read_committed and classes made by
// `protoc --python_out` from proto/ (tools/clients/read_mean_ratings.py), after a run of the real services on
// data/sample with its topics kept. Every movie's mean and count must equal the independent computation
// from ratings.csv, also with an aborted transaction on the topic (a fenced zombie's write); read
// read_uncommitted, that write shows, and the same comparison names the movie.
// Needs python3 with confluent_kafka and google.protobuf, and protoc (Debian: python3-confluent-kafka,
// python3-protobuf, protobuf-compiler; .ci/run installs them): skipped visibly without them.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeMeanRating } from '@movie-stream/schema';
import { buildApps, PipelineRun, REPO_ROOT } from '@movie-stream/pipeline-run';
import { computeReferenceMeans, type ReferenceMean } from '@movie-stream/test-support';

// A whole run, then the Python reader: far beyond the root jest run's 5 s default.
jest.setTimeout(240_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const READER = join(REPO_ROOT, 'tools', 'clients', 'read_mean_ratings.py');
const RATINGS = join(REPO_ROOT, 'data', 'sample', 'ratings.csv');
const MOVIES = join(REPO_ROOT, 'data', 'sample', 'movies.csv');
const NAME = 'mean-ratings read by Python confluent-kafka (read_committed) and protoc classes';

/**
 * A python3 that imports confluent_kafka and google.protobuf, and protoc; or why there is none. Debian's
 * packages install for /usr/bin/python3, which a python3 earlier on PATH (a pyenv shim) may not see.
 */
function readerTools(): { python: string; missing?: undefined } | { python?: undefined; missing: string } {
  const protoc = spawnSync('protoc', ['--version'], { encoding: 'utf8' });
  if (protoc.status !== 0) return { missing: 'protoc not found (Debian: apt-get install protobuf-compiler)' };
  const tried: string[] = [];
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', 'import confluent_kafka, google.protobuf'], { encoding: 'utf8' });
    if (r.status === 0) return { python };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return {
    missing: `no python3 imports confluent_kafka and google.protobuf (${tried.join('; ')}); Debian: apt-get install python3-confluent-kafka python3-protobuf`,
  };
}

interface ReadMovie {
  movie_id: number;
  mean: number;
  sum: number;
  count: number;
  source_partition: number;
  source_offset: number;
  partition: number;
  offset: number;
}
interface ReaderOutput {
  topic: string;
  isolation_level: string;
  records: number;
  undecodable: { partition: number; offset: number; reason: string }[];
  movies: ReadMovie[];
}

/** Every difference between what the reader kept and the reference (empty = every movie exact). */
function mismatches(movies: ReadMovie[], reference: Map<number, ReferenceMean>): string[] {
  const out: string[] = [];
  const seen = new Set<number>();
  for (const m of movies) {
    seen.add(m.movie_id);
    const ref = reference.get(m.movie_id);
    if (!ref) out.push(`movie ${m.movie_id}: read with count ${m.count}, but it has no ratings`);
    else if (m.count !== ref.count || m.sum !== ref.sum || !(Math.abs(m.mean - ref.mean) <= 1e-9 * ref.mean))
      out.push(`movie ${m.movie_id}: mean ${m.mean}, sum ${m.sum}, count ${m.count}; expected ${ref.mean}, ${ref.sum}, ${ref.count}`);
  }
  for (const id of reference.keys()) if (!seen.has(id)) out.push(`movie ${id}: rated, but not read`);
  return out;
}

const tools = readerTools();
if (tools.missing) process.stderr.write(`skipped "${NAME}": ${tools.missing}\n`);
const describeWithReader = tools.missing ? describe.skip : describe;

describeWithReader(tools.missing ? `${NAME} [skipped: ${tools.missing}]` : NAME, () => {
  const python = tools.python ?? '';
  let tmp = '';
  let generated = '';
  let run: PipelineRun | undefined;
  let reference: Map<number, ReferenceMean>;
  /** The movie the zombie's aborted transaction updated, and the count it wrote. */
  let zombie: { movieId: number; count: number };

  const read = async (isolation: 'read_committed' | 'read_uncommitted'): Promise<ReaderOutput> => {
    const args = [READER, '--topic', run!.topics.meanRatings, '--brokers', brokers.join(','), '--generated', generated];
    const { stdout } = await promisify(execFile)(python, [...args, '--isolation-level', isolation, '--timeout', '60'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(stdout) as ReaderOutput;
  };

  beforeAll(async () => {
    buildApps();
    tmp = mkdtempSync(join(tmpdir(), 'other-clients-'));
    generated = join(tmp, 'generated');
    // The classes a reader generates from the repository's schema (not committed: made here, as the README says).
    mkdirSync(generated);
    const protoc = spawnSync('protoc', ['-I', 'proto', '--python_out', generated, 'movielens/v1/mean_rating.proto'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    if (protoc.status !== 0) throw new Error(`protoc failed: ${protoc.stderr}`);
    run = new PipelineRun({
      ratingsFile: RATINGS,
      moviesFile: MOVIES,
      outDir: join(tmp, 'out'),
      brokers,
      keepTopics: true,
      log: () => undefined,
    });
    await run.run();
    reference = (await computeReferenceMeans(RATINGS)).means;
    // A zombie: an instance that began a transaction on mean-ratings and wrote an update no committed write ever
    // made (1000 ratings more than the movie has), then was fenced by a newer owner of its transactional id,
    // which aborts the zombie's transaction. The record stays in the log, marked aborted.
    const [movieId, ref] = [...reference.entries()][0]!;
    zombie = { movieId, count: ref.count + 1000 };
    const transactionalId = `${run.runId}.zombie`;
    const older = run.kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    const newer = run.kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([older.connect(), newer.connect()]);
    try {
      const tx = await older.transaction();
      await tx.send({
        topic: run.topics.meanRatings,
        messages: [{ key: String(movieId), value: encodeMeanRating({ movieId, sum: ref.sum + 5000, count: zombie.count }) }],
      });
      const fence = await newer.transaction(); // InitProducerId: aborts the older producer's open transaction
      await fence.abort();
    } finally {
      await Promise.all([older.disconnect(), newer.disconnect()]);
    }
  }, 240_000);

  afterAll(async () => {
    if (run) {
      await run.stopAll();
      await run.deleteTopics();
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('read_committed: every movie’s mean and count equal the independent computation; no marker or aborted write is read', async () => {
    const out = await read('read_committed');
    expect(out.undecodable).toEqual([]);
    expect(out.movies.length).toBe(reference.size);
    expect(mismatches(out.movies, reference)).toEqual([]);
    // The topic holds more than the records read: a transaction marker after every transaction, and the
    // aborted write.
    const admin = run!.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(run!.topics.meanRatings).finally(() => admin.disconnect());
    expect(out.records).toBeLessThan(ends.reduce((n, p) => n + Number(p.high), 0));
  });

  it('read_uncommitted: the aborted write is read, and the comparison names its movie', async () => {
    const out = await read('read_uncommitted');
    expect(out.undecodable).toEqual([]); // librdkafka skips the markers either way
    const ref = reference.get(zombie.movieId)!;
    expect(mismatches(out.movies, reference)).toEqual([
      `movie ${zombie.movieId}: mean ${(ref.sum + 5000) / zombie.count}, sum ${ref.sum + 5000}, count ${zombie.count}; expected ${ref.mean}, ${ref.sum}, ${ref.count}`,
    ]);
  });
});
