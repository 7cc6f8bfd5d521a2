// Guarantees 1, 5 and 7 of docs/RELIABILITY.md: SIGKILLed consumers (often in the middle of a snapshot
// write) lose and double-count nothing, snapshots are never torn, and a deleted snapshot is rebuilt.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildApps, PipelineRun } from '@movie-stream/pipeline';
import { computeReferenceMeans, readSemicolonCsv, splitRatings, until } from '@movie-stream/test-support';
import { dataset, logOf, mismatches, trackRuns } from './harness';

jest.setTimeout(600_000);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const RATINGS = 200_000;
const SLICES = 5;
const track = trackRuns();

beforeAll(() => buildApps());

/** The user-facing snapshot must always parse completely: a kill never leaves a torn file. */
async function expectWholeSnapshot(file: string): Promise<void> {
  if (!existsSync(file)) return;
  const rows = await readSemicolonCsv(file);
  for (const r of rows) expect(Number.isInteger(Number(r.movieId))).toBe(true);
}

const currentOf = (stateDir: string) =>
  existsSync(join(stateDir, 'CURRENT')) ? readFileSync(join(stateDir, 'CURRENT'), 'utf8') : undefined;
/** Generations being written right now (renamed to gen-N once complete). */
const writing = (stateDir: string) => (existsSync(stateDir) ? readdirSync(stateDir).filter((e) => /^gen-\d+\.tmp$/.test(e)) : []);

/**
 * Publishes the ratings in 5 slices; while each is consumed, waits until the victim is writing a snapshot
 * and SIGKILLs it, then restarts it. Returns the run (drained, consumers stopped) and what the kills hit.
 */
async function killRepeatedly(victim: 'mean-rating-processor' | 'movie-data-sink') {
  const { ratingsFile, moviesFile } = await dataset(RATINGS, 2_000);
  const run = new PipelineRun({
    ratingsFile,
    moviesFile,
    outDir: join(require('node:os').tmpdir(), `faults-${victim}-${Date.now()}`),
    brokers,
    log: () => undefined,
    snapshotIntervalMs: 100,
    env: { SESSION_TIMEOUT_MS: '6000' },
  });
  track(run);
  run.cleanOutput();
  await run.createTopics();
  const parts = splitRatings(ratingsFile, SLICES, run.outDir, 'slice');
  const stateDir = join(run.outDir, '.state', victim);
  const stats = { kills: 0, killsWithLag: 0, killsDuringWrite: 0 };
  run.start('mean-rating-processor');
  run.start('movie-data-sink');
  run.start('movie-producer', ['--movies', moviesFile]);
  await run.producerResult('movie-producer');
  let currentAtStart = currentOf(stateDir);
  for (const part of parts) {
    run.start('rating-producer', ['--ratings', part]);
    // First a snapshot completed since the (re)start: it clears any gen-N.tmp that the last kill left, which
    // the restarted service may be about to write again under the same name.
    if (!(await until(() => currentOf(stateDir) !== currentAtStart, 120_000, 20))) {
      throw new Error(`${victim} wrote no snapshot within 120 s of its start; see ${run.logDir}`);
    }
    // Then the moment a snapshot write is under way (snapshots every 100 ms, each a few fsyncs long). Should
    // the slice be consumed before one is seen, the kill still comes, between writes.
    await until(() => writing(stateDir).length > 0, 30_000, 1);
    run.service(victim)?.child.kill('SIGKILL');
    await run.service(victim)?.exited;
    stats.kills++;
    // A generation still named .tmp after the kill was cut off mid-write (a finished one is renamed).
    if (writing(stateDir).length > 0) stats.killsDuringWrite++;
    const lag = await run.lag(
      victim === 'mean-rating-processor' ? run.groups.processor : run.groups.sink,
      victim === 'mean-rating-processor' ? [run.topics.ratings] : [run.topics.movies, run.topics.meanRatings],
    );
    if (lag > 0) stats.killsWithLag++;
    await expectWholeSnapshot(join(run.outDir, victim === 'mean-rating-processor' ? 'mean-ratings.csv' : 'movie-data.csv'));
    currentAtStart = currentOf(stateDir);
    run.start(victim);
    await run.producerResult('rating-producer');
  }
  await run.waitUntilDrained();
  expect(await run.stop('mean-rating-processor')).toBe(0);
  expect(await run.stop('movie-data-sink')).toBe(0);
  // Printed for docs/RELIABILITY.md.
  process.stderr.write(`crash stats (${victim}): ${JSON.stringify(stats)}\n`);
  return { run, ratingsFile, moviesFile, stats };
}

describe('consumers killed with SIGKILL mid-stream', () => {
  it('mean-rating-processor: 5 kills during 200k ratings, during snapshot writes and with work pending; result exact', async () => {
    const r = await killRepeatedly('mean-rating-processor');
    expect(r.stats.kills).toBe(5);
    expect(r.stats.killsWithLag).toBeGreaterThan(0);
    expect(r.stats.killsDuringWrite).toBeGreaterThan(0);
    expect(logOf(r.run, 'mean-rating-processor')).toMatch(/restored mean-ratings snapshot/);
    expect(await mismatches(r.run, r.ratingsFile, r.moviesFile)).toEqual([]);
  });

  it('movie-data-sink: 5 kills, during snapshot writes and with work pending; result exact', async () => {
    const r = await killRepeatedly('movie-data-sink');
    expect(r.stats.kills).toBe(5);
    expect(r.stats.killsWithLag).toBeGreaterThan(0);
    expect(r.stats.killsDuringWrite).toBeGreaterThan(0);
    expect(logOf(r.run, 'movie-data-sink')).toMatch(/restored movie-data snapshot/);
    expect(await mismatches(r.run, r.ratingsFile, r.moviesFile)).toEqual([]);
  });

  it('rebuilds a deleted snapshot from the topic (restart from scratch)', async () => {
    // A run of its own, its topics kept: the rebuild reads them again.
    const { ratingsFile, moviesFile } = await dataset(RATINGS, 2_000);
    const run = track(
      new PipelineRun({
        ratingsFile,
        moviesFile,
        outDir: join(require('node:os').tmpdir(), `faults-rebuild-${Date.now()}`),
        brokers,
        log: () => undefined,
        keepTopics: true,
      }),
    );
    await run.run();
    const meanFile = join(run.outDir, 'mean-ratings.csv');
    const before = readFileSync(meanFile, 'utf8');
    expect(
      before
        .trim()
        .split('\n')
        .slice(1)
        .reduce((n, l) => n + Number(l.split(';')[2]), 0),
    ).toBe(RATINGS);
    rmSync(join(run.outDir, '.state', 'mean-rating-processor'), { recursive: true, force: true });
    rmSync(meanFile);
    run.start('mean-rating-processor');
    // Kafka's committed offsets are at the end: the consumer must seek back to the beginning itself.
    let counted = 0;
    await until(
      async () => {
        if (existsSync(meanFile)) counted = (await readSemicolonCsv(meanFile)).reduce((s, r) => s + Number(r.count), 0);
        return counted >= RATINGS;
      },
      120_000,
      250,
    );
    expect(await run.stop('mean-rating-processor')).toBe(0);
    expect(counted).toBe(RATINGS);
    expect(logOf(run, 'mean-rating-processor')).toMatch(/no mean-ratings snapshot: starting from the beginning/);
    const ref = await computeReferenceMeans(ratingsFile);
    const rows = await readSemicolonCsv(meanFile);
    expect(rows).toHaveLength(ref.means.size);
    for (const r of rows) {
      const m = ref.means.get(Number(r.movieId));
      expect([Number(r.sum), Number(r.count)]).toEqual([m?.sum, m?.count]);
    }
    // Same table as before the deletion (row order may differ).
    const sortLines = (t: string) => t.trim().split('\n').slice(1).sort();
    expect(sortLines(readFileSync(meanFile, 'utf8'))).toEqual(sortLines(before));
  });
});
